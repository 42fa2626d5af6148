"""``/api/conversations``: the AI partner per user and dataset - send a message, approve,
change or reject a proposed step; the partner's events stream back as server-sent
events while it works (and are kept, for the page to show the conversation again)."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, StreamingResponse
from pydantic import BaseModel, Field

from healthforge.service.deps import ServiceDep, UserDep, current_user
from healthforge.service.errors import ServiceError, not_found
from healthforge.service.routes.files import file_ticket, reader_id
from healthforge.service.routes.models import PROBLEMS, Ticket

router = APIRouter(prefix="/api/conversations", tags=["partner"], responses=PROBLEMS)
STREAM = {200: {"content": {"text/event-stream": {}}}}
DONE = object()
MEDIA = {".csv": "text/csv", ".html": "text/html", ".json": "application/json"}
REPORT_POLICY = "sandbox allow-scripts; default-src 'none'; script-src 'unsafe-inline'; " + (
    "style-src 'unsafe-inline'; img-src data: blob:; font-src data:"
)


class ConversationCreate(BaseModel):
    dataset_id: str


class Message(BaseModel):
    text: str = Field(min_length=1, max_length=2000)


class Approval(BaseModel):
    changes: dict[str, Any] | None = Field(
        default=None, description="changed arguments of the proposed step (checked again)"
    )


class Rejection(BaseModel):
    reason: str = Field(default="", max_length=500)


class Conversation(BaseModel):
    id: str
    dataset_id: str
    created: float
    events: list[dict[str, Any]]
    pending: list[dict[str, Any]]


def _conversations(service: ServiceDep) -> Any:
    if service.conversations is None:
        raise ServiceError("the AI partner is not installed with this service", None, 404)
    return service.conversations


def owned(service: ServiceDep, user_id: str, conversation_id: str) -> dict[str, Any]:
    row = service.db.owned("conversations", conversation_id, user_id)
    if row is None:
        raise not_found("conversation")
    return row


def public(service: ServiceDep, row: dict[str, Any]) -> Conversation:
    manager = _conversations(service)
    return Conversation(
        id=row["id"],
        dataset_id=row["dataset_id"],
        created=row["created"],
        events=manager.events(row["id"]),
        pending=manager.pending(row["id"]),
    )


@router.post("")
def open_conversation(service: ServiceDep, user: UserDep, body: ConversationCreate) -> Conversation:
    """The conversation about one of your datasets (made on first use)."""
    dataset = service.db.owned("datasets", body.dataset_id, user["id"])
    if dataset is None:
        raise not_found("dataset")
    return public(service, _conversations(service).open(user["id"], dataset))


@router.get("")
def list_conversations(service: ServiceDep, user: UserDep) -> list[Conversation]:
    return [public(service, r) for r in service.db.owned_list("conversations", user["id"])]


@router.get("/{conversation_id}")
def get_conversation(service: ServiceDep, user: UserDep, conversation_id: str) -> Conversation:
    """The conversation so far and the steps awaiting your decision."""
    return public(service, owned(service, user["id"], conversation_id))


@router.delete("/{conversation_id}", status_code=204)
def delete_conversation(service: ServiceDep, user: UserDep, conversation_id: str) -> None:
    """Delete the conversation, its events and the files the partner wrote."""
    row = owned(service, user["id"], conversation_id)
    _conversations(service).delete(row["id"])


async def _stream(request: Request, conversation_id: str, said: str, call: str, *args: Any) -> Any:
    service = request.app.state.service
    user = await asyncio.to_thread(current_user, request)
    row = owned(service, user["id"], conversation_id)
    manager = _conversations(service)
    if row["id"] in manager.busy:
        raise ServiceError("the partner is still working on your last request", None, 409)
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[Any] = asyncio.Queue()

    def emit(event: dict[str, Any]) -> None:
        loop.call_soon_threadsafe(queue.put_nowait, event)

    def work() -> None:
        try:
            manager.run(row, call, emit, *args, said=said)
        except Exception as exc:  # shown to the user as the stream's last event
            message = getattr(exc, "message", None) or f"internal error: {type(exc).__name__}"
            emit({"kind": "error", "text": message, "action": None, "data": {}, "files": []})
        finally:
            loop.call_soon_threadsafe(queue.put_nowait, DONE)

    threading.Thread(target=work, name=f"partner-{row['id'][:8]}", daemon=True).start()

    async def events() -> AsyncIterator[str]:
        while True:
            event = await queue.get()
            if event is DONE:
                pending = manager.pending(row["id"])
                yield f"event: end\ndata: {json.dumps({'pending': pending})}\n\n"
                return
            yield f"event: partner\ndata: {json.dumps(event, default=str)}\n\n"

    headers = {"cache-control": "no-store", "x-accel-buffering": "no"}
    return StreamingResponse(events(), media_type="text/event-stream", headers=headers)


@router.post("/{conversation_id}/messages", response_class=StreamingResponse, responses=STREAM)
async def send(request: Request, conversation_id: str, body: Message) -> Any:
    """Say something to the partner; its events stream back (``partner``, then ``end``)."""
    return await _stream(request, conversation_id, body.text, "send", body.text)


# duplicates: approve and reject are two routes declared alike; each only words its answer
# and hands it to _stream, where the shared logic is
@router.post(
    "/{conversation_id}/actions/{action_id}/approve",
    response_class=StreamingResponse,
    responses=STREAM,
)
async def approve(request: Request, conversation_id: str, action_id: str, body: Approval) -> Any:
    """Run a proposed step, with ``changes`` to its arguments if given."""
    said = f"Approve {action_id}" + (f" with {json.dumps(body.changes)}" if body.changes else "")
    return await _stream(request, conversation_id, said, "approve", action_id, body.changes)


@router.post(
    "/{conversation_id}/actions/{action_id}/reject",
    response_class=StreamingResponse,
    responses=STREAM,
)
async def reject(request: Request, conversation_id: str, action_id: str, body: Rejection) -> Any:
    """Do not run a proposed step; the partner offers alternatives."""
    said = f"Not {action_id}" + (f": {body.reason}" if body.reason else "")
    return await _stream(request, conversation_id, said, "reject", action_id, body.reason)


def _file(service: ServiceDep, row: dict[str, Any], path: str) -> FileResponse:
    if path not in _conversations(service).files(row["id"]):
        raise ServiceError(f"no file '{path[:80]}' in this conversation", None, 404)
    root = service.config.folder("conversations", row["id"]).resolve()
    full = (root / path).resolve()
    if root not in full.parents or not full.is_file():
        raise ServiceError(f"no file '{path[:80]}' in this conversation", None, 404)
    media = MEDIA.get(full.suffix.lower(), "application/octet-stream")
    headers = {"content-security-policy": REPORT_POLICY} if full.suffix == ".html" else {}
    inline = full.suffix.lower() in (".html", ".json")
    return FileResponse(
        full,
        media_type=media,
        headers=headers,
        filename=full.name,
        content_disposition_type="inline" if inline else "attachment",
    )


@router.get("/{conversation_id}/files/{path:path}", response_class=FileResponse)
def download(
    request: Request,
    service: ServiceDep,
    conversation_id: str,
    path: str,
    ticket: str | None = None,
) -> FileResponse:
    """A file the partner wrote in this conversation (as its events list it)."""
    user_id = reader_id(request, service, ticket, conversation_id, path)
    return _file(service, owned(service, user_id, conversation_id), path)


@router.post("/{conversation_id}/tickets/{path:path}")
def ticket(service: ServiceDep, user: UserDep, conversation_id: str, path: str) -> Ticket:
    """A link to one file of the conversation, valid for a minute without the token."""
    row = owned(service, user["id"], conversation_id)
    _file(service, row, path)
    url = f"/api/conversations/{conversation_id}/files/{path}"
    return file_ticket(service, user["id"], conversation_id, path, url)
