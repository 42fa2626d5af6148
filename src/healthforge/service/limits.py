"""Request size limits and security headers, as plain ASGI middleware.

A body larger than its limit is refused with 413 before it is read when it declares its
length, and as soon as it passes the limit when it does not (chunked). Uploads get
``max_upload_bytes``; every other request ``max_json_bytes``.
"""

from __future__ import annotations

import json
from typing import Any

from healthforge.service.config import ServiceConfig

UPLOAD_PATHS = ("/api/datasets",)
MULTIPART_OVERHEAD = 64 * 1024
PAGE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; frame-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'self'"
)
HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
]


class TooLarge(Exception):
    pass


class LimitsMiddleware:
    def __init__(self, app: Any, config: ServiceConfig) -> None:
        self.app, self.config = app, config

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit(scope)
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await _too_large(send, limit)
            return
        seen = 0
        started = False

        async def counted_receive() -> dict[str, Any]:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise TooLarge
            return message

        async def send_with_headers(message: dict[str, Any]) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = list(message.get("headers") or [])
                names = {k.lower() for k, _ in headers}
                headers += [(k, v) for k, v in HEADERS if k not in names]
                if b"content-security-policy" not in names:
                    headers.append((b"content-security-policy", PAGE_POLICY.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, counted_receive, send_with_headers)
        except TooLarge:
            if not started:
                await _too_large(send, limit)

    def limit(self, scope: dict[str, Any]) -> int:
        if scope.get("method") == "POST" and scope.get("path") in UPLOAD_PATHS:
            return self.config.max_upload_bytes + MULTIPART_OVERHEAD
        return self.config.max_json_bytes


async def _too_large(send: Any, limit: int) -> None:
    body = json.dumps(
        {
            "detail": f"the request is larger than this service accepts ({limit:,} bytes)",
            "hint": "upload a smaller file (an administrator can raise --max-upload-mb)",
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
