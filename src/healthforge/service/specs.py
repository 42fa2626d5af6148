"""A job's run specification: the user's choices, pinned to their dataset and to files
the service chooses.

The user sends a :class:`~healthforge.pipeline.RunSpec` as JSON whose ``data.source``
is ``dataset:ID``, one of their own datasets; paths never come from a request. The
stored spec keeps ``dataset:ID`` (so it can be shown and replayed); the worker turns it
into the run it executes with :func:`for_run`.
"""

from __future__ import annotations

import copy
import dataclasses
import re
from pathlib import Path
from typing import Any

from healthforge.errors import HealthForgeError
from healthforge.pipeline import OutputSpec, RunSpec
from healthforge.service.config import ServiceConfig
from healthforge.service.db import Database
from healthforge.service.errors import ServiceError, not_found

SOURCE = re.compile(r"^dataset:([0-9a-f]{32})$")
SAVED_SCHEMA = "dataset"  # data.schema: use the schema the user saved for the dataset
USER_OUTPUTS = ("labels",)  # the only output choice a user makes; paths are the service's
MAX_ESTIMATORS = 1000
# the files a finished job may offer, by download name
FILES = {
    "synthetic": "synthetic.csv",
    "model": "model.hfm",
    "report": "report.html",
    "report_json": "report.json",
    "spec": "spec.json",
}


def job_spec(db: Database, config: ServiceConfig, owner: str, raw: Any) -> tuple[RunSpec, str]:
    """The validated spec of a new job and the id of its dataset, or a ServiceError."""
    if not isinstance(raw, dict):
        raise ServiceError("the run specification must be a JSON object")
    raw = copy.deepcopy(raw)
    data = raw.get("data")
    source = data.get("source") if isinstance(data, dict) else None
    match = SOURCE.match(source) if isinstance(source, str) else None
    if match is None:
        raise ServiceError(
            "data.source must name one of your datasets as dataset:ID",
            "upload the table first; its id is in the upload's answer and in GET /api/datasets",
        )
    dataset = db.owned("datasets", match.group(1), owner)
    if dataset is None:
        raise not_found("dataset")
    assert isinstance(data, dict)
    schema = data.get("schema")
    if schema not in (None, SAVED_SCHEMA):
        raise ServiceError(
            f"data.schema must be null or '{SAVED_SCHEMA}' (the schema saved for the dataset)",
            "edit and save the schema with PUT /api/datasets/ID/schema",
        )
    if schema == SAVED_SCHEMA and not dataset["schema_saved"]:
        raise ServiceError(
            "data.schema is 'dataset' but no schema has been saved for this dataset",
            "review the schema and save it with PUT /api/datasets/ID/schema",
        )
    outputs = raw.get("outputs") or {}
    if not isinstance(outputs, dict):
        raise ServiceError("outputs must be a JSON object")
    chosen = sorted(
        k for k, v in outputs.items() if k not in USER_OUTPUTS and v not in (None, False)
    )
    if chosen:
        raise ServiceError(
            f"outputs.{chosen[0]} is chosen by the service, not the request",
            "leave outputs out: the synthetic rows, the model and the report are kept for you",
        )
    raw["outputs"] = {k: v for k, v in outputs.items() if k in USER_OUTPUTS}
    try:
        spec = RunSpec.from_dict(raw)
    except HealthForgeError as exc:
        raise ServiceError(exc.message, exc.hint) from None
    if spec.rows is not None and spec.rows > config.max_rows:
        raise ServiceError(
            f"rows must be at most {config.max_rows:,} on this service, not {spec.rows:,}"
        )
    if spec.evaluation is not None and not 1 <= spec.evaluation.n_estimators <= MAX_ESTIMATORS:
        raise ServiceError(f"evaluation.n_estimators must be between 1 and {MAX_ESTIMATORS}")
    return spec, dataset["id"]


def for_run(spec: RunSpec, dataset_dir: Path, stored: str, job_dir: Path) -> RunSpec:
    """The spec the worker executes: the dataset's file, its saved schema, the job's files."""
    data = dataclasses.replace(
        spec.data,
        source=str(dataset_dir / stored),
        schema=str(dataset_dir / "schema.json") if spec.data.schema == SAVED_SCHEMA else None,
    )
    outputs = OutputSpec(synthetic=str(job_dir / FILES["synthetic"]), labels=spec.outputs.labels)
    if spec.evaluation is not None:
        outputs.report = str(job_dir / FILES["report"])
        outputs.json = str(job_dir / FILES["report_json"])
    return dataclasses.replace(spec, data=data, outputs=outputs)
