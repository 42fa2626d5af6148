"""One job in its own process: ``python -m healthforge.service.worker DATA_DIR JOB TOKEN
PARENT``, or a spare started ahead (``DATA_DIR --spare PARENT``) that imports the library
and then waits for the scheduler to hand it a job on stdin.

The worker runs a ``run`` job's spec through :func:`healthforge.pipeline.run` (no second
copy of the workflow; the other kinds through the same library calls as the CLI,
:mod:`.kind_runs`), writes the outputs into the job's folder (atomically, as the library
does), saves the model, and records the result in one final database update that only
lands while the job is still its own (``state = 'running'`` and its run token): a job
cancelled, or marked interrupted after a restart, is never overwritten. It dies with
the server (``PR_SET_PDEATHSIG``), so a killed server leaves no orphan working on.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from healthforge.errors import HealthForgeError
from healthforge.service.config import BACKEND_ENV, ServiceConfig
from healthforge.service.db import Database, now
from healthforge.service.kind_runs import headline, run_kind
from healthforge.service.specs import FILES, for_run

PR_SET_PDEATHSIG = 1
MAX_MESSAGES = 200
PROGRESS_EVERY = 0.25  # seconds between progress writes


def die_with_parent(parent: int) -> None:
    """Ask Linux to kill this process when its parent dies; exit if it already has."""
    # not Linux: no such call; the run token still guards the result
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:
        sys.exit(0)


class JobReporter:
    """Progress and messages of one job, written to the database (throttled)."""

    def __init__(self, db: Database, job_id: str, token: str) -> None:
        self.db, self.where = db, {"id": job_id, "run_token": token, "state": "running"}
        self.step, self.steps, self.last = 0, 1, 0.0
        self.messages: list[str] = []

    def progress(self, stage: str, done: int, total: int | None) -> None:
        from healthforge.pipeline import STEP_NAMES

        if stage == "pipeline":
            self.step, self.steps = done, max(total or 1, 1)
            inner, label = 0.0, STEP_NAMES[min(done, len(STEP_NAMES) - 1)]
            force = True
        else:
            inner = min(done / total, 1.0) if total else 0.0
            label, force = stage, False
        if not force and time.monotonic() - self.last < PROGRESS_EVERY:
            return
        self.last = time.monotonic()
        fraction = min((self.step + inner) / self.steps, 1.0)
        self.db.update(
            "jobs", self.where, stage=label, done=done, total=total, fraction=round(fraction, 4)
        )

    def log(self, message: str) -> None:
        self.messages = [*self.messages, message][-MAX_MESSAGES:]
        self.db.update("jobs", self.where, messages=self.messages)

    def finish(self, **values: Any) -> bool:
        """The final update; False when the job is no longer this worker's."""
        return self.db.update("jobs", self.where, finished=now(), **values) == 1


class CountingExecutor:
    """The job's executor (:meth:`ServiceConfig.executor`), counting the tasks handed to
    it: the job's result says where its work ran (``{"backend": "ray", "tasks": 12}``)."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.name, self.tasks = inner, inner.name, 0

    def map(self, fn: Any, shared: Any, items: list[tuple[str, Any]], **options: Any) -> Any:
        self.tasks += len(items)
        return self.inner.map(fn, shared, items, **options)

    def record(self) -> dict[str, Any]:
        return {"backend": self.name, "tasks": self.tasks}


def summarise(result: Any, job_dir: Path) -> dict[str, Any]:
    """What the API shows of a finished run: figures and file names, no data rows."""
    from dataclasses import asdict

    summary: dict[str, Any] = {
        "generator": result.generator,
        "rows": result.rows,
        "timings": {k: round(v, 3) for k, v in result.timings.items()},
        "provenance": asdict(result.provenance),
        "notes": list(result.notes),
        "files": sorted(name for name, file in FILES.items() if (job_dir / file).exists()),
    }
    report = job_dir / FILES["report_json"]
    if report.exists():
        summary["evaluation"] = headline(json.loads(report.read_text(encoding="utf-8")))
    return summary


def execute(db: Database, config: ServiceConfig, job_id: str, token: str) -> None:
    from healthforge.pipeline import RunSpec, run

    job = db.one("SELECT * FROM jobs WHERE id = ?", job_id)
    if job is None or job["state"] != "running" or job["run_token"] != token:
        return
    reporter = JobReporter(db, job_id, token)
    job_dir = config.folder("jobs", job_id)
    job_dir.mkdir(parents=True, exist_ok=True)
    try:
        # local, or Ray tasks: sampling shards, benchmark cells, evaluations, augment repeats
        executor = CountingExecutor(config.executor())
        if job["kind"] != "run":
            (job_dir / FILES["spec"]).write_text(json.dumps(job["spec"], indent=2) + "\n")
            summary = run_kind(db, config, job, job_dir, reporter, executor)
            summary["executor"] = executor.record()
            reporter.finish(state="done", fraction=1.0, stage="done", result=summary)
            return
        dataset = db.one("SELECT * FROM datasets WHERE id = ?", job["dataset_id"])
        if dataset is None:
            raise HealthForgeError("the job's dataset was deleted before the job ran")
        spec = RunSpec.from_dict(job["spec"])
        spec.to_json(job_dir / FILES["spec"])
        runnable = for_run(
            spec, config.folder("datasets", dataset["id"]), dataset["stored"], job_dir
        )
        result = run(runnable, progress=reporter.progress, log=reporter.log, executor=executor)
        if result.model is not None:
            result.model.save(str(job_dir / FILES["model"]))
        summary = {**summarise(result, job_dir), "executor": executor.record()}
        reporter.finish(state="done", fraction=1.0, stage="done", result=summary)
    except HealthForgeError as exc:
        reporter.finish(state="failed", error=str(exc))
    except Exception as exc:
        traceback.print_exc()  # to the job's worker.log, for the administrator
        first = str(exc).splitlines()[0][:300] if str(exc) else ""
        reporter.finish(state="failed", error=f"internal error: {type(exc).__name__}: {first}")


# what a spare worker imports while it waits, so that a job starts without that delay
WARM_MODULES = (
    "healthforge.pipeline.steps",
    "healthforge.evaluation",
    "healthforge.evaluation.report",
    "healthforge.generators.registry",
    "sklearn.ensemble",
    "xgboost",
)


def wait_for_job(data_dir: str) -> tuple[str, str] | None:
    """A spare worker: import the library now, then read ``JOB TOKEN`` from stdin (None
    when the server closes it without a job); output goes to the job's log from then on."""
    import importlib

    for module in WARM_MODULES:
        with contextlib.suppress(ImportError):
            importlib.import_module(module)
    line = sys.stdin.readline().split()
    if len(line) != 2:
        return None
    job_id, token = line
    log = ServiceConfig(data_dir=Path(data_dir)).folder("jobs", job_id) / "worker.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
        os.dup2(fd, stream.fileno())
    os.close(fd)
    return job_id, token


def worker_config(data_dir: str, env: Any) -> ServiceConfig:
    """The service's settings a worker needs: its folders and the jobs' executor."""
    backend = json.loads(env.get(BACKEND_ENV) or "{}")
    return ServiceConfig(data_dir=Path(data_dir), **backend)


def main(argv: list[str]) -> None:
    """``DATA_DIR JOB TOKEN PARENT`` runs one job; ``DATA_DIR --spare PARENT`` waits for one."""
    data_dir, parent = argv[0], int(argv[-1])
    die_with_parent(parent)
    os.nice(5)  # the server answers requests first
    if argv[1] == "--spare":
        assigned = wait_for_job(data_dir)
        if assigned is None:
            return
        job_id, token = assigned
    else:
        job_id, token = argv[1], argv[2]
    config = worker_config(data_dir, os.environ)
    execute(Database(config.db_path), config, job_id, token)


if __name__ == "__main__":
    main(sys.argv[1:])
