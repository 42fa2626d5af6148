"""``/api/jobs``: start a run from a specification, follow it (polling or server-sent
events), cancel it, delete it, download its files; the leaderboard of a dataset."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, StreamingResponse

from healthforge.service.db import FINAL_STATES
from healthforge.service.deps import ServiceDep, UserDep, current_user
from healthforge.service.errors import ServiceError, not_found
from healthforge.service.kinds import job_request
from healthforge.service.routes.files import file_ticket, reader_id
from healthforge.service.routes.models import PROBLEMS, Job, JobCreate, Ticket
from healthforge.service.specs import FILES

router = APIRouter(prefix="/api/jobs", tags=["jobs"], responses=PROBLEMS)
POLL_SECONDS = 0.3
KEEPALIVE_SECONDS = 15.0
MEDIA = {
    "synthetic": "text/csv",
    "model": "application/octet-stream",
    "report": "text/html",
    "report_json": "application/json",
    "spec": "application/json",
}
# the report is the library's offline page (inline plotly): it runs sandboxed, in an
# origin of its own, so its scripts cannot reach the service or the user's token
REPORT_POLICY = "sandbox allow-scripts; default-src 'none'; script-src 'unsafe-inline'; " + (
    "style-src 'unsafe-inline'; img-src data: blob:; font-src data:"
)


def public(row: dict[str, Any]) -> Job:
    keys = Job.model_fields
    return Job(**{k: row[k] for k in keys})


def owned(service: ServiceDep, user_id: str, job_id: str) -> dict[str, Any]:
    row = service.db.owned("jobs", job_id, user_id)
    if row is None:
        raise not_found("job")
    return row


@router.post("", status_code=202)
def create_job(service: ServiceDep, user: UserDep, body: JobCreate) -> Job:
    """Queue a job on your data; it runs in a worker process. ``kind`` run (the default):
    ``spec`` is a run specification; compare, scenario, augment, benchmark: ``spec`` holds
    the kind's parameters (docs/service.md)."""
    spec, dataset_id = job_request(service.db, service.config, user["id"], body.kind, body.spec)
    return public(service.scheduler.submit(user["id"], dataset_id, spec, body.kind))


@router.get("")
def list_jobs(service: ServiceDep, user: UserDep, dataset_id: str | None = None) -> list[Job]:
    """Your jobs, newest first (of one dataset with ``dataset_id``)."""
    where = {"dataset_id": dataset_id} if dataset_id else {}
    return [public(r) for r in service.db.owned_list("jobs", user["id"], **where)]


@router.get("/{job_id}")
def get_job(service: ServiceDep, user: UserDep, job_id: str) -> Job:
    """A job's state, progress, messages and (when done) result: the polling fallback."""
    return public(owned(service, user["id"], job_id))


@router.get(
    "/{job_id}/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def job_events(request: Request, job_id: str) -> StreamingResponse:
    """Server-sent events: ``progress`` whenever the job changes, then ``end``."""
    service = request.app.state.service
    user = await asyncio.to_thread(current_user, request)
    owned(service, user["id"], job_id)  # 404 before the stream starts

    async def stream() -> AsyncIterator[str]:
        last, quiet = None, 0.0
        while True:
            row = await asyncio.to_thread(service.db.owned, "jobs", job_id, user["id"])
            if row is None:
                yield _event("end", {"state": "deleted"})
                return
            body = public(row).model_dump()
            if body != last:
                yield _event("progress", body)
                last, quiet = body, 0.0
            if row["state"] in FINAL_STATES:
                yield _event("end", {"state": row["state"]})
                return
            if await request.is_disconnected():
                return
            await asyncio.sleep(POLL_SECONDS)
            quiet += POLL_SECONDS
            if quiet >= KEEPALIVE_SECONDS:
                yield ": keep-alive\n\n"
                quiet = 0.0

    headers = {"cache-control": "no-store", "x-accel-buffering": "no"}
    return StreamingResponse(stream(), media_type="text/event-stream", headers=headers)


def _event(kind: str, data: dict[str, Any]) -> str:
    return f"event: {kind}\ndata: {json.dumps(data)}\n\n"


@router.post("/{job_id}/cancel")
def cancel_job(service: ServiceDep, user: UserDep, job_id: str) -> Job:
    """Cancel a queued or running job (its worker is stopped)."""
    row = owned(service, user["id"], job_id)
    if not service.scheduler.cancel(row):
        raise ServiceError(f"the job has already {row['state']}", None, 409)
    return public(owned(service, user["id"], job_id))


@router.delete("/{job_id}", status_code=204)
def delete_job(service: ServiceDep, user: UserDep, job_id: str) -> None:
    """Delete a finished job and its files."""
    row = owned(service, user["id"], job_id)
    if row["state"] not in FINAL_STATES:
        raise ServiceError("the job is still running", "cancel it first", 409)
    service.db.execute("DELETE FROM jobs WHERE id = ?", job_id)
    shutil.rmtree(service.config.folder("jobs", job_id), ignore_errors=True)


def _file(service: ServiceDep, row: dict[str, Any], name: str) -> FileResponse:
    if name not in FILES:
        raise ServiceError(f"unknown file '{name[:40]}'", f"files are: {', '.join(FILES)}", 404)
    if row["state"] != "done":
        raise ServiceError("the job has not finished", "wait for it to be done", 409)
    path = service.config.folder("jobs", row["id"]) / FILES[name]
    if not path.is_file():
        raise ServiceError(f"this job has no {name} file", "the run did not write one", 404)
    headers = {"content-security-policy": REPORT_POLICY} if name == "report" else {}
    download = f"healthforge-{row['id'][:8]}-{FILES[name]}"
    disposition = "inline" if name in ("report", "report_json", "spec") else "attachment"
    return FileResponse(
        path,
        media_type=MEDIA[name],
        headers=headers,
        filename=download,
        content_disposition_type=disposition,
    )


@router.get("/{job_id}/files/{name}", response_class=FileResponse)
def download(
    request: Request, service: ServiceDep, job_id: str, name: str, ticket: str | None = None
) -> FileResponse:
    """A finished job's file: synthetic, model, report, report_json or spec. Signed in, or
    with a ticket from ``POST .../tickets/{name}`` (for links and frames)."""
    user_id = reader_id(request, service, ticket, job_id, name)
    return _file(service, owned(service, user_id, job_id), name)


@router.post("/{job_id}/tickets/{name}")
def ticket(service: ServiceDep, user: UserDep, job_id: str, name: str) -> Ticket:
    """A link to one file of the job, valid for a minute without the token."""
    row = owned(service, user["id"], job_id)
    _file(service, row, name)  # refuse now what the link would refuse
    return file_ticket(service, user["id"], job_id, name, f"/api/jobs/{job_id}/files/{name}")
