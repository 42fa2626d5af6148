"""The job scheduler: queued jobs become worker processes, within limits.

At most ``max_jobs`` workers run at once, at most ``max_jobs_per_user`` of them for one
user; the rest wait in the database in the order they came. A worker that dies without
recording a result (killed, out of memory, crashed) fails its own job and nothing else.
On start the scheduler marks jobs left ``running`` by a stopped or killed server as
failed with the reason, and takes up the queued ones.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
from typing import Any

from healthforge.service.config import BACKEND_ENV, ServiceConfig
from healthforge.service.db import FINAL_STATES, Database, new_id, now
from healthforge.service.errors import ServiceError

INTERRUPTED = (
    "interrupted: the server stopped while this job was running; its partial outputs were "
    "discarded - start it again"
)
STOPPED = "interrupted: the server was shut down while this job was running - start it again"


class Scheduler:
    def __init__(self, config: ServiceConfig, db: Database) -> None:
        self.config, self.db = config, db
        self.workers: dict[str, subprocess.Popen[bytes]] = {}
        self.spare: subprocess.Popen[bytes] | None = None  # imported, waiting for a job
        self.lock = threading.Lock()
        self.wake = threading.Event()
        self.stopping = threading.Event()
        self.thread: threading.Thread | None = None

    # -- lifecycle ----------------------------------------------------------------------
    def start(self) -> None:
        self.recover()
        self.thread = threading.Thread(target=self._loop, name="healthforge-jobs", daemon=True)
        self.thread.start()

    def recover(self) -> int:
        """Fail the jobs a previous server left running; returns how many."""
        return self.db.execute(
            "UPDATE jobs SET state = 'failed', error = ?, finished = ? WHERE state = 'running'",
            INTERRUPTED,
            now(),
        )

    def stop(self) -> None:
        """Stop the loop and the workers; their jobs fail with the reason."""
        self.stopping.set()
        self.wake.set()
        if self.thread is not None:
            self.thread.join(timeout=10)
        with self.lock:
            for job_id, proc in list(self.workers.items()):
                self.db.execute(
                    "UPDATE jobs SET state = 'failed', error = ?, finished = ? "
                    "WHERE id = ? AND state = 'running'",
                    STOPPED,
                    now(),
                    job_id,
                )
                stop_process(proc)
            self.workers.clear()
            if self.spare is not None:
                stop_process(self.spare)
                self.spare = None

    # -- requests -----------------------------------------------------------------------
    def submit(
        self, owner: str, dataset_id: str, spec: dict[str, Any], kind: str = "run"
    ) -> dict[str, Any]:
        waiting = self.db.one(
            "SELECT COUNT(*) AS n FROM jobs WHERE owner = ? AND state IN ('queued', 'running')",
            owner,
        )
        if waiting and waiting["n"] >= self.config.max_queued_per_user:
            raise ServiceError(
                f"you have {waiting['n']} jobs waiting or running, the most this service takes",
                "wait for some to finish or cancel them",
                429,
            )
        job_id = new_id()
        self.db.insert(
            "jobs",
            {
                "id": job_id,
                "owner": owner,
                "dataset_id": dataset_id,
                "kind": kind,
                "spec": spec,
                "state": "queued",
                "created": now(),
            },
        )
        # read the job as created before the scheduler may start it: the answer to a
        # submit is always the queued job (reading after the wake raced with the scheduler)
        job = self.db.owned("jobs", job_id, owner)
        assert job is not None
        self.wake.set()
        return job

    def cancel(self, job: dict[str, Any]) -> bool:
        """Cancel a queued or running job; False when it had already finished."""
        changed = self.db.execute(
            "UPDATE jobs SET state = 'cancelled', error = 'cancelled by the user', finished = ? "
            "WHERE id = ? AND state IN ('queued', 'running')",
            now(),
            job["id"],
        )
        with self.lock:
            proc = self.workers.pop(job["id"], None)
        if proc is not None:
            stop_process(proc)
        self.wake.set()
        return changed == 1

    # -- the loop -----------------------------------------------------------------------
    def _loop(self) -> None:
        while not self.stopping.is_set():
            try:
                self.tick()
            except Exception:  # a database hiccup must not end the scheduler
                import traceback

                traceback.print_exc()
            self.wake.wait(self.config.scheduler_interval)
            self.wake.clear()

    def tick(self) -> None:
        """Reap finished workers, then start queued jobs within the limits."""
        with self.lock:
            self._reap()
            self._launch()
            self._keep_spare()

    def _keep_spare(self) -> None:
        """One worker started ahead, when ``spare_workers`` is on: a job then starts
        without the interpreter's start and the library's imports."""
        if not self.config.spare_workers or self.stopping.is_set():
            return
        if self.spare is not None and self.spare.poll() is None:
            return
        command = [*self._command(), "--spare", str(os.getpid())]
        self.spare = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=self._env(),
            start_new_session=True,  # its own process group: see stop_process
        )

    def _command(self) -> list[str]:
        return [sys.executable, "-m", "healthforge.service.worker", str(self.config.data_dir)]

    def _env(self) -> dict[str, str]:
        """The worker's environment: this one, plus the jobs' executor settings."""
        return {**os.environ, BACKEND_ENV: self.config.backend_json()}

    def _reap(self) -> None:
        for job_id, proc in list(self.workers.items()):
            code = proc.poll()
            if code is None:
                continue
            del self.workers[job_id]
            _signal_group(proc, signal.SIGKILL)  # children of a crashed worker go with it
            self.db.execute(
                "UPDATE jobs SET state = 'failed', error = ?, finished = ? "
                "WHERE id = ? AND state = 'running'",
                f"the worker process stopped unexpectedly (exit code {code}); "
                "this job failed, other jobs are unaffected",
                now(),
                job_id,
            )

    def running_by_owner(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for job_id in self.workers:
            row = self.db.one("SELECT owner FROM jobs WHERE id = ?", job_id)
            if row is not None:
                counts[row["owner"]] = counts.get(row["owner"], 0) + 1
        return counts

    def _launch(self) -> None:
        if len(self.workers) >= self.config.max_jobs:
            return
        per_owner = self.running_by_owner()
        queued = self.db.all("SELECT id, owner FROM jobs WHERE state = 'queued' ORDER BY created")
        for job in queued:
            if len(self.workers) >= self.config.max_jobs:
                return
            if per_owner.get(job["owner"], 0) >= self.config.max_jobs_per_user:
                continue
            if self._start(job["id"]):
                per_owner[job["owner"]] = per_owner.get(job["owner"], 0) + 1

    def _start(self, job_id: str) -> bool:
        token = new_id()
        claimed = self.db.execute(
            "UPDATE jobs SET state = 'running', started = ?, run_token = ?, stage = 'starting' "
            "WHERE id = ? AND state = 'queued'",
            now(),
            token,
            job_id,
        )
        if claimed != 1:
            return False
        job_dir = self.config.folder("jobs", job_id)
        job_dir.mkdir(parents=True, exist_ok=True)
        proc = self._take_spare(job_id, token)
        if proc is None:
            command = [*self._command(), job_id, token, str(os.getpid())]
            with open(job_dir / "worker.log", "ab") as log:
                proc = subprocess.Popen(
                    command,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    env=self._env(),
                    start_new_session=True,  # its own process group: see stop_process
                )
        self.workers[job_id] = proc
        self.db.update("jobs", {"id": job_id}, pid=proc.pid)
        return True

    def _take_spare(self, job_id: str, token: str) -> subprocess.Popen[bytes] | None:
        spare, self.spare = self.spare, None
        if spare is None or spare.poll() is not None or spare.stdin is None:
            return None
        try:
            spare.stdin.write(f"{job_id} {token}\n".encode())
            spare.stdin.close()
        except OSError:  # it died just now: start a fresh worker instead
            stop_process(spare)
            return None
        return spare

    def is_final(self, job: dict[str, Any]) -> bool:
        return job["state"] in FINAL_STATES


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    """Stop a worker and every process it started (a benchmark fits each generator in a
    child): each worker leads its own process group, and the whole group is signalled."""
    _signal_group(proc, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=3)
    _signal_group(proc, signal.SIGKILL)  # what is left: children that did not stop
    proc.wait(timeout=3)


def _signal_group(proc: subprocess.Popen[bytes], sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)
