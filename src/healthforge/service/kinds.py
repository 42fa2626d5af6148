"""The kinds of job: a run specification, and compare, scenario, augment and benchmark.

A ``run`` job is a :class:`~healthforge.pipeline.RunSpec` (fit, generate, evaluate;
:mod:`.specs`). The other kinds take a small JSON object of parameters, checked here,
at the request, against the user's own resources and the service's bounds; the worker
executes them with the library code the CLI uses (:mod:`.kind_runs`). Nothing in the
parameters names a path: data is ``dataset:ID`` (yours), a scenario is a shipped name,
a compare names your own finished runs.
"""

from __future__ import annotations

from typing import Any

from healthforge.service.config import ServiceConfig
from healthforge.service.db import Database
from healthforge.service.errors import ServiceError, not_found
from healthforge.service.specs import FILES, SOURCE, job_spec

KINDS = ("run", "compare", "scenario", "augment", "benchmark")
MAX_COMPARED = 8  # runs in one comparison
MAX_AUGMENT_REPEATS = 10
# a benchmark fits every generator on every split: bounded so one user cannot hold a
# worker for hours (the per-user worker limit bounds how many run at once)
MAX_BENCHMARK_GENERATORS = 4
MAX_BENCHMARK_REPEATS = 3
MAX_BENCHMARK_ROWS = 5_000
MAX_BENCHMARK_TIMEOUT = 600.0  # seconds one fit+sample may take
SAME_SPLIT = ("data", "split", "seed")  # what compared runs must share: the same holdout


def job_request(
    db: Database, config: ServiceConfig, owner: str, kind: str, raw: Any
) -> tuple[dict[str, Any], str]:
    """The stored spec (parameters) of a new job of ``kind`` and its dataset id (``""``
    for a scenario, which runs on its shipped data), or a ServiceError."""
    if kind not in KINDS:
        raise ServiceError(f"unknown job kind '{str(kind)[:40]}'", f"kinds are: {', '.join(KINDS)}")
    if kind == "run":
        spec, dataset_id = job_spec(db, config, owner, raw)
        return spec.to_dict(), dataset_id
    if not isinstance(raw, dict):
        raise ServiceError(f"the parameters of a {kind} job must be a JSON object")
    return {
        "compare": _compare,
        "scenario": _scenario,
        "augment": _augment,
        "benchmark": _benchmark,
    }[kind](db, config, owner, dict(raw))


def _fields(kind: str, raw: dict[str, Any], allowed: dict[str, tuple[type, ...]]) -> None:
    """Refuse a parameter the kind does not take, or one of the wrong type."""
    for key, value in raw.items():
        if key not in allowed:
            raise ServiceError(
                f"a {kind} job takes no parameter '{str(key)[:40]}'",
                f"its parameters are: {', '.join(allowed)}",
            )
        types = allowed[key]
        wrong = isinstance(value, bool) and bool not in types
        if value is not None and (wrong or not isinstance(value, types)):
            raise ServiceError(f"{kind}: '{key}' must be {' or '.join(t.__name__ for t in types)}")


def _bounded(kind: str, raw: dict[str, Any], key: str, low: float, high: float) -> None:
    value = raw.get(key)
    if value is not None and not low <= value <= high:
        raise ServiceError(f"{kind}: '{key}' must be between {low:g} and {high:g} on this service")


def _dataset(db: Database, owner: str, kind: str, raw: dict[str, Any]) -> dict[str, Any]:
    source = raw.get("dataset")
    match = SOURCE.match(source) if isinstance(source, str) else None
    if match is None:
        raise ServiceError(
            f"a {kind} job needs 'dataset': 'dataset:ID', one of your datasets",
            "its id is in the upload's answer and in GET /api/datasets",
        )
    dataset = db.owned("datasets", match.group(1), owner)
    if dataset is None:
        raise not_found("dataset")
    return dataset


def _generator(kind: str, name: Any) -> None:
    from healthforge.generators import generator_names

    if name not in generator_names():
        raise ServiceError(
            f"{kind}: unknown generator '{str(name)[:40]}'", "GET /api/generators lists them"
        )


def _compare(
    db: Database, config: ServiceConfig, owner: str, raw: dict[str, Any]
) -> tuple[dict[str, Any], str]:
    _fields("compare", raw, {"jobs": (list,), "fairness_by": (str,)})
    ids = raw.get("jobs")
    if not ids or not all(isinstance(i, str) for i in ids) or len(set(ids)) != len(ids):
        raise ServiceError("compare: 'jobs' must list the ids of two or more of your runs")
    if not 2 <= len(ids) <= MAX_COMPARED:
        raise ServiceError(f"compare: give between 2 and {MAX_COMPARED} runs, not {len(ids)}")
    jobs = []
    for job_id in ids:
        job = db.owned("jobs", job_id, owner)
        if job is None:
            raise not_found("job")
        if job["kind"] != "run" or job["state"] != "done":
            raise ServiceError(
                f"compare: job {job_id[:8]} is not a finished run",
                "compare finished jobs of kind 'run' (their synthetic rows)",
                409,
            )
        if not (config.folder("jobs", job_id) / FILES["synthetic"]).is_file():
            raise ServiceError(f"compare: job {job_id[:8]} wrote no synthetic rows", None, 409)
        jobs.append(job)
    first = jobs[0]
    for job in jobs[1:]:
        differs = [k for k in SAME_SPLIT if job["spec"].get(k) != first["spec"].get(k)]
        if job["dataset_id"] != first["dataset_id"] or differs:
            raise ServiceError(
                "compare: the runs must share their dataset, data settings, split and seed "
                f"(job {job['id'][:8]} differs in {(differs or ['dataset'])[0]})",
                "then every run is judged against the same held-out rows",
            )
    return {"jobs": list(ids), "fairness_by": raw.get("fairness_by")}, first["dataset_id"]


def _scenario(
    db: Database, config: ServiceConfig, owner: str, raw: dict[str, Any]
) -> tuple[dict[str, Any], str]:
    from healthforge.scenarios import list_scenarios

    allowed = {"name": (str,), "rows": (int,), "seed": (int,), "generator": (str,)}
    _fields("scenario", raw, allowed)
    names = [s.name for s in list_scenarios()]
    if raw.get("name") not in names:  # shipped scenarios only: a name is never a path
        raise ServiceError(
            f"scenario: unknown scenario '{str(raw.get('name'))[:40]}'",
            f"shipped scenarios are: {', '.join(names)}",
        )
    _bounded("scenario", raw, "rows", 1, config.max_rows)
    if raw.get("generator") is not None:
        _generator("scenario", raw["generator"])
    return {k: raw.get(k) for k in allowed}, ""


# duplicates: every kind's check has the one signature job_request calls, and opens with a table of
# allowed fields; those tables look alike (as _benchmark's), the checks that follow differ
def _augment(
    db: Database, config: ServiceConfig, owner: str, raw: dict[str, Any]
) -> tuple[dict[str, Any], str]:
    allowed = {
        "dataset": (str,),
        "balance": (str,),
        "target": (str,),
        "generator": (str,),
        "strategy": (str,),
        "size": (int,),
        "repeats": (int,),
        "holdout_fraction": (float, int),
        "drop": (list,),
        "fair_by": (str,),
        "seed": (int,),
    }
    _fields("augment", raw, allowed)
    dataset = _dataset(db, owner, "augment", raw)
    for key in ("balance", "target"):
        if not raw.get(key):
            raise ServiceError(f"augment: '{key}' (a column of the dataset) is required")
    _generator("augment", raw.setdefault("generator", "cart"))
    _bounded("augment", raw, "repeats", 2, MAX_AUGMENT_REPEATS)
    _bounded("augment", raw, "size", 1, config.max_rows)
    if not all(isinstance(c, str) for c in raw.get("drop") or []):
        raise ServiceError("augment: 'drop' must be a list of column names")
    return {k: raw.get(k) for k in allowed}, dataset["id"]


def _benchmark(
    db: Database, config: ServiceConfig, owner: str, raw: dict[str, Any]
) -> tuple[dict[str, Any], str]:
    allowed = {
        "dataset": (str,),
        "generators": (list,),
        "target": (str,),
        "repeats": (int,),
        "rows": (int,),
        "timeout": (float, int),
        "seed": (int,),
    }
    _fields("benchmark", raw, allowed)
    dataset = _dataset(db, owner, "benchmark", raw)
    names = raw.get("generators")
    if not names or not all(isinstance(n, str) for n in names) or len(set(names)) != len(names):
        raise ServiceError("benchmark: 'generators' must list one or more generator names")
    if len(names) > MAX_BENCHMARK_GENERATORS:
        raise ServiceError(
            f"benchmark: at most {MAX_BENCHMARK_GENERATORS} generators per job on this "
            f"service, not {len(names)}",
            "split them over several jobs, or run `healthforge benchmark` on your own machine",
        )
    for name in names:
        _generator("benchmark", name)
    _bounded("benchmark", raw, "repeats", 1, MAX_BENCHMARK_REPEATS)
    _bounded("benchmark", raw, "rows", 50, MAX_BENCHMARK_ROWS)
    _bounded("benchmark", raw, "timeout", 1, MAX_BENCHMARK_TIMEOUT)
    params = {k: raw.get(k) for k in allowed}
    params["repeats"] = params["repeats"] or 1
    params["rows"] = params["rows"] or MAX_BENCHMARK_ROWS
    params["timeout"] = float(params["timeout"] or MAX_BENCHMARK_TIMEOUT)
    return params, dataset["id"]
