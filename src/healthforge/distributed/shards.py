"""Sampling a large number of rows as shards into a partitioned Parquet folder.

Every backend runs the same :func:`sample_shard` over the same
:func:`~healthforge.distributed.plan.shard_plan`, so the folder's bytes do not depend on
the backend or the number of workers. Each shard goes through the generator's own
sampling - conditions and the copy guard per chunk, the privacy filter per shard with its
redraws - and is written atomically; the manifest, written last by the caller once every
shard succeeded, is what makes the folder readable
(:mod:`healthforge.data.partitioned`).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from healthforge.data.partitioned import ShardFile, prepare_folder, write_manifest, write_shard
from healthforge.distributed.executor import Executor, LocalExecutor, Resources, first_failure
from healthforge.distributed.plan import DEFAULT_SHARD_ROWS, Shard, shard_plan, shard_seed
from healthforge.progress import ProgressCallback, report

# kept_common_matches is left out: a model sent to another process keeps no hashes of
# common rows (they are never saved), so it would differ between backends
STATS = ("drawn", "rejected_conditions", "rejected_copies")


@dataclass
class SampleJob:
    """What every shard shares (placed once in Ray's object store)."""

    model: Any
    folder: str
    seed: int
    conditions: list[str] | None = None
    guard: Any = None  # a PrivacyFilter: filter each shard, redrawing removed rows
    labels: bool = False


@dataclass
class ShardedSample:
    """The result of :func:`sample_to_folder`."""

    folder: Path
    rows: int
    shards: list[ShardFile]
    sample_stats: dict[str, int | None]
    filter_result: Any = None  # merged FilterReport with a guard
    seconds: dict[str, float] = field(default_factory=dict)  # per shard key
    # peak resident memory (bytes) of the process that drew each shard, when it finished
    peak_rss: dict[str, int] = field(default_factory=dict)
    cpu_seconds: dict[str, float] = field(default_factory=dict)  # CPU time of each shard
    workers: dict[str, str] = field(default_factory=dict)  # host:pid that drew each shard

    def busiest_worker_cpu(self) -> float:
        """CPU seconds of the worker process that worked longest: the run's wall time on
        dedicated cores, whatever else the machine was running."""
        per: dict[str, float] = {}
        for key, worker in self.workers.items():
            per[worker] = per.get(worker, 0.0) + self.cpu_seconds[key]
        return max(per.values(), default=0.0)


def sample_shard(job: SampleJob, shard: Shard) -> dict[str, Any]:
    """Draw and write one shard; returns its file record and the sampling statistics."""
    from healthforge.data.labels import to_labels

    cpu_started = time.process_time()
    model = job.model
    filter_report = None
    if job.guard is None:
        chunks: Any = model.sample_chunks(
            shard.rows, seed=job.seed, conditions=job.conditions, offset=shard.start
        )
    else:
        from healthforge.privacy.filter import filtered_sample

        frame, filter_report = filtered_sample(
            model,
            shard.rows,
            job.guard,
            seed=shard_seed(job.seed, shard.index),
            conditions=job.conditions,
        )
        chunks = iter([frame])
    if job.labels:  # value labels instead of codes (sex: female, not 1)
        chunks = (to_labels(chunk, model.schema_) for chunk in chunks)
    record = write_shard(chunks, job.folder, shard.index)
    # the filter's redraws each reset the model's statistics: its report counts instead
    stats = dict(model.sample_stats_) if job.guard is None else {}
    return {
        "file": record,
        "stats": stats,
        "filter": filter_report,
        "peak_rss": _peak_rss(),
        "cpu_seconds": time.process_time() - cpu_started,
        "worker": f"{os.uname().nodename}:{os.getpid()}",
    }


def _peak_rss() -> int:
    """Peak resident memory (bytes) of the process that ran the shard, so far."""
    import resource
    import sys

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)  # Linux counts KiB


def _task(job: SampleJob, shard: Shard) -> dict[str, Any]:
    return sample_shard(job, shard)


def sample_to_folder(
    model: Any,
    rows: int,
    folder: str | Path,
    seed: int | None = None,
    conditions: list[str] | None = None,
    guard: Any = None,
    labels: bool = False,
    shard_rows: int = DEFAULT_SHARD_ROWS,
    executor: Executor | None = None,
    progress: ProgressCallback | None = None,
    memory_per_shard: int | None = None,
) -> ShardedSample:
    """``rows`` rows of a fitted ``model`` written to ``folder`` as one Parquet file per
    shard plus a manifest; the same bytes for every executor and number of workers.

    A shard that fails (its worker died after the executor's retries, or it raised)
    fails the run with its reason and no manifest is written: the folder then reads as
    incomplete. ``guard``: a fitted :class:`~healthforge.privacy.filter.PrivacyFilter`.
    """
    from healthforge.generators import Generator

    if not isinstance(model, Generator):
        raise TypeError("model must be a fitted healthforge Generator")
    seed = int(model.seed if seed is None else seed)
    plan = shard_plan(rows, shard_rows)
    if not model.fitted:
        from healthforge.errors import HealthForgeError

        raise HealthForgeError("the generator is not fitted yet", "call fit() first")
    folder = prepare_folder(folder)
    executor = executor or LocalExecutor()
    job = SampleJob(model, str(folder), seed, list(conditions or []) or None, guard, labels)

    def shard_progress(stage: str, done: int, total: int | None) -> None:
        report(progress, "sampling", _rows_done(plan, done), rows)

    outcomes = executor.map(
        _task,
        job,
        [(str(s.index), s) for s in plan],
        resources=Resources(cpus=1.0, memory=memory_per_shard),
        fail_fast=True,
        progress=shard_progress,
        stage="shards",
    )
    first_failure(outcomes, "shard")
    values = [o.value for o in outcomes]
    files = [v["file"] for v in values]
    stats = _merge_stats([v["stats"] for v in values])
    filter_result = None
    for value in values:
        if value["filter"] is not None:
            part = value["filter"]
            filter_result = part if filter_result is None else filter_result.merge(part)
    extra: dict[str, Any] = {
        "seed": seed,
        "shard_rows": shard_rows,
        "generator": model.name,
        "conditions": list(conditions or []),
        "privacy_filter": guard is not None,
        "labels": labels,
        "sample_stats": stats,
    }
    if filter_result is not None:
        extra["filter"] = filter_result.to_dict()
    write_manifest(folder, files, **extra)  # last: the folder is complete from here on
    return ShardedSample(
        folder=folder,
        rows=sum(f.rows for f in files),
        shards=files,
        sample_stats=stats,
        filter_result=filter_result,
        seconds={o.key: o.seconds for o in outcomes},
        peak_rss={o.key: o.value["peak_rss"] for o in outcomes},
        cpu_seconds={o.key: o.value["cpu_seconds"] for o in outcomes},
        workers={o.key: o.value["worker"] for o in outcomes},
    )


def _rows_done(plan: list[Shard], done: int) -> int:
    return sum(s.rows for s in plan[:done])  # shards may finish out of order: an estimate


def _merge_stats(parts: list[dict[str, Any]]) -> dict[str, int | None]:
    merged: dict[str, int | None] = {}
    for key in STATS:
        values = [p.get(key) for p in parts]
        merged[key] = None if any(v is None for v in values) else sum(int(v) for v in values)
    return merged
