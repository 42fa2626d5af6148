"""The JSON shapes of the API (its OpenAPI document is built from them)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class Problem(BaseModel):
    detail: str
    hint: str | None = None


class Me(BaseModel):
    name: str
    auth: bool
    language_model: str | None = None


class Dataset(BaseModel):
    id: str
    name: str
    format: str
    bytes: int
    rows: int
    columns: int
    created: float
    schema_saved: bool
    profile: dict[str, Any]


class SchemaBody(BaseModel):
    """A schema as ``healthforge profile --schema-out`` writes it (``columns`` and more)."""

    model_config = {"extra": "allow"}
    columns: list[dict[str, Any]]


class JobCreate(BaseModel):
    kind: Literal["run", "compare", "scenario", "augment", "benchmark"] = Field(
        "run", description="what the job does; run: fit, generate and evaluate a RunSpec"
    )
    spec: dict[str, Any] = Field(
        description="kind run: a healthforge run specification (RunSpec JSON) whose "
        "data.source is dataset:ID, one of your datasets; outputs are chosen by the service. "
        "Other kinds: their parameters (docs/service.md)"
    )


JobState = Literal["queued", "running", "done", "failed", "cancelled"]


class Job(BaseModel):
    id: str
    dataset_id: str
    kind: str
    state: JobState
    stage: str
    fraction: float
    messages: list[str]
    spec: dict[str, Any]
    result: dict[str, Any] | None
    error: str | None
    created: float
    started: float | None
    finished: float | None


class Ticket(BaseModel):
    url: str
    expires_in: int


class Generator(BaseModel):
    name: str
    summary: str
    family: str
    private: bool


PROBLEMS: dict[int | str, dict[str, Any]] = {
    code: {"model": Problem} for code in (400, 401, 404, 409, 413, 415, 429)
}
