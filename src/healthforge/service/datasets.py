"""A user's datasets: storing a checked upload, its schema, deleting it.

The stored file is ``DATA_DIR/datasets/ID/table.EXT`` with ``ID`` generated here; the
name the user gave is kept only as a label. Nothing is stored unless every check
passed.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Any

from healthforge.errors import HealthForgeError
from healthforge.service.config import ServiceConfig
from healthforge.service.db import Database, new_id, now
from healthforge.service.errors import ServiceError
from healthforge.service.uploads import check_content, load_checked, profile, upload_format

INFERRED = "inferred_schema.json"
SAVED = "schema.json"
LABEL = re.compile(r"[^\w .()+-]")


def label_of(filename: str | None) -> str:
    """A display name from an upload's file name: its last part, tame characters only."""
    name = Path((filename or "").replace("\\", "/")).name
    return LABEL.sub("_", name)[:120] or "table"


def store_upload(
    db: Database,
    config: ServiceConfig,
    owner: str,
    upload: Path,
    filename: str | None,
    target: str | None = None,
) -> dict[str, Any]:
    """Check, profile and store the upload at ``upload`` (a temporary file the service
    wrote); returns the dataset row. Raises ServiceError and stores nothing on failure."""
    fmt, ext = upload_format(filename)
    named = upload.with_name(upload.name + ext)  # readers take the format off the name
    os.replace(upload, named)
    check_content(named, fmt, config)
    frame = load_checked(named, config)
    found, schema = profile(frame, target or None)
    dataset_id = new_id()
    folder = config.folder("datasets", dataset_id)
    folder.mkdir(parents=True)
    try:
        stored = f"table{ext}"
        shutil.move(str(named), folder / stored)
        schema.save(folder / INFERRED)
        row = {
            "id": dataset_id,
            "owner": owner,
            "name": label_of(filename),
            "format": fmt,
            "stored": stored,
            "bytes": (folder / stored).stat().st_size,
            "rows": int(frame.shape[0]),
            "columns": int(frame.shape[1]),
            "created": now(),
            "profile": found,
            "schema_saved": 0,
        }
        db.insert("datasets", row)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return row


def get_schema(config: ServiceConfig, dataset: dict[str, Any]) -> dict[str, Any]:
    from healthforge.data.schema import Schema

    folder = config.folder("datasets", dataset["id"])
    path = folder / (SAVED if dataset["schema_saved"] else INFERRED)
    return Schema.load(path).to_dict()


def save_schema(
    db: Database, config: ServiceConfig, dataset: dict[str, Any], raw: Any
) -> dict[str, Any]:
    """Check an edited schema against the data, save it, and re-profile with it."""
    from healthforge.data import load_table
    from healthforge.data.schema import Schema

    folder = config.folder("datasets", dataset["id"])
    try:
        schema = Schema.from_dict(raw)
        found, _ = profile(load_table(folder / dataset["stored"]), schema=schema)
    except HealthForgeError as exc:
        raise ServiceError(exc.message, exc.hint) from None
    except (TypeError, ValueError) as exc:
        raise ServiceError(f"the schema is not valid: {str(exc)[:200]}") from None
    schema.save(folder / SAVED)
    db.update("datasets", {"id": dataset["id"]}, schema_saved=1, profile=found)
    return schema.to_dict()


def delete_dataset(db: Database, config: ServiceConfig, dataset: dict[str, Any]) -> None:
    busy = db.one(
        "SELECT COUNT(*) AS n FROM jobs WHERE dataset_id = ? AND state IN ('queued', 'running')",
        dataset["id"],
    )
    if busy and busy["n"]:
        raise ServiceError(
            "jobs on this dataset are still waiting or running",
            "cancel them or wait for them to finish, then delete the dataset",
            409,
        )
    db.execute("DELETE FROM datasets WHERE id = ?", dataset["id"])
    shutil.rmtree(config.folder("datasets", dataset["id"]), ignore_errors=True)
