"""A fake OpenAI-compatible chat server on 127.0.0.1 that records every request.

``FakeLLM(answer)`` serves ``/v1/chat/completions`` and ``/v1/models`` in a thread;
``answer(body)`` returns the reply: a :func:`tool_call` or :func:`content` reply, a
``(status, payload)`` pair, raw ``bytes``, or a number of seconds to stall (timeouts).
``requests`` holds every request body as received (the raw text and parsed JSON).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Answer = Callable[[dict[str, Any]], Any]


def tool_call(name: str, args: dict[str, Any] | str, text: str = "") -> dict[str, Any]:
    arguments = args if isinstance(args, str) else json.dumps(args)
    message = {
        "role": "assistant",
        "content": text or None,
        "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": name, "arguments": arguments}}
        ],
    }
    return _completion(message, "tool_calls")


def content(text: str) -> dict[str, Any]:
    return _completion({"role": "assistant", "content": text}, "stop")


def _completion(message: dict[str, Any], finish: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": 0,
        "model": "fake-model",
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


class FakeLLM:
    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.requests: list[str] = []  # raw bodies, exactly as sent
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def do_GET(self) -> None:
                fake.requests.append(f"GET {self.path}")
                self._send(
                    200, {"object": "list", "data": [{"id": "fake-model", "object": "model"}]}
                )

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                fake.requests.append(raw)
                reply = fake.answer(json.loads(raw))
                if isinstance(reply, int | float) and not isinstance(reply, bool):
                    time.sleep(reply)
                    reply = content("too late")
                if isinstance(reply, bytes):
                    self._send(200, reply)
                elif isinstance(reply, tuple):
                    self._send(reply[0], reply[1])
                else:
                    self._send(200, reply)

            def _send(self, status: int, payload: Any) -> None:
                body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def chat_bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r) for r in self.requests if r.startswith("{")]

    def __enter__(self) -> FakeLLM:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
