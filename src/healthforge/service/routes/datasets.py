"""``/api/datasets``: upload, list, get, delete; a dataset's schema (get, edit)."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, UploadFile

from healthforge.service import datasets as store
from healthforge.service.deps import ServiceDep, UserDep
from healthforge.service.errors import ServiceError, not_found
from healthforge.service.routes.models import PROBLEMS, Dataset, SchemaBody

router = APIRouter(prefix="/api/datasets", tags=["datasets"], responses=PROBLEMS)
CHUNK = 1024 * 1024


def public(row: dict[str, Any]) -> Dataset:
    return Dataset(
        id=row["id"],
        name=row["name"],
        format=row["format"],
        bytes=row["bytes"],
        rows=row["rows"],
        columns=row["columns"],
        created=row["created"],
        schema_saved=bool(row["schema_saved"]),
        profile=row["profile"],
    )


def owned(service: ServiceDep, user: UserDep, dataset_id: str) -> dict[str, Any]:
    row = service.db.owned("datasets", dataset_id, user["id"])
    if row is None:
        raise not_found("dataset")
    return row


@router.post("", status_code=201)
def upload(
    service: ServiceDep,
    user: UserDep,
    file: Annotated[UploadFile, File(description="a CSV, TSV, Parquet or Excel (.xlsx) table")],
    target: Annotated[str | None, Form(description="the outcome column, if any")] = None,
) -> Dataset:
    """Upload a table: checked, profiled (schema, identifier findings) and stored."""
    limit = service.config.max_upload_bytes
    folder = service.config.data_dir / "tmp"
    fd, name = tempfile.mkstemp(dir=folder, prefix="upload-")
    tmp = Path(name)
    try:
        with open(fd, "wb") as out:
            size = 0
            while chunk := file.file.read(CHUNK):
                size += len(chunk)
                if size > limit:
                    raise ServiceError(
                        f"the file is larger than this service accepts ({limit:,} bytes)",
                        "upload a smaller file (an administrator can raise --max-upload-mb)",
                        413,
                    )
                out.write(chunk)
        row = store.store_upload(service.db, service.config, user["id"], tmp, file.filename, target)
    finally:
        for leftover in folder.glob(tmp.name + "*"):
            with contextlib.suppress(OSError):
                leftover.unlink() if leftover.is_file() else shutil.rmtree(leftover)
    return public(row)


@router.get("")
def list_datasets(service: ServiceDep, user: UserDep) -> list[Dataset]:
    """Your datasets, newest first."""
    return [public(r) for r in service.db.owned_list("datasets", user["id"])]


@router.get("/{dataset_id}")
def get_dataset(service: ServiceDep, user: UserDep, dataset_id: str) -> Dataset:
    """One dataset with its profile and identifier findings."""
    return public(owned(service, user, dataset_id))


@router.delete("/{dataset_id}", status_code=204)
def delete_dataset(service: ServiceDep, user: UserDep, dataset_id: str) -> None:
    """Delete a dataset, its stored file and its partner conversation (not the outputs
    of finished jobs)."""
    row = owned(service, user, dataset_id)
    store.delete_dataset(service.db, service.config, row)
    if service.conversations is not None:
        service.conversations.delete_for_dataset(row["id"])


@router.get("/{dataset_id}/schema")
def get_schema(service: ServiceDep, user: UserDep, dataset_id: str) -> dict[str, Any]:
    """The dataset's schema: the one you saved, else the inferred one."""
    row = owned(service, user, dataset_id)
    return {"saved": bool(row["schema_saved"]), "schema": store.get_schema(service.config, row)}


@router.put("/{dataset_id}/schema")
def put_schema(
    service: ServiceDep, user: UserDep, dataset_id: str, body: SchemaBody
) -> dict[str, Any]:
    """Save an edited schema (checked against the data); jobs use it with
    ``data.schema: "dataset"``. A differentially private generator treats it as public."""
    row = owned(service, user, dataset_id)
    schema = store.save_schema(service.db, service.config, row, body.model_dump())
    return {"saved": True, "schema": schema}
