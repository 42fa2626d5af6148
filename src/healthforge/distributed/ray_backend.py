"""The Ray backend: tasks with CPU and memory requests, the shared payload put once in
the object store, retries of tasks whose worker died, per-task time limits.

Ray is an optional extra (``pip install 'healthforge[ray]'``) and imported only here,
only when this backend is chosen. Without an address an embedded runtime starts on this
machine with ``workers`` CPUs; with one (``ray://host:10001`` or ``auto``) the tasks run on
that cluster, whose nodes need the same healthforge installed and, for sampling, the
output folder on storage every node sees.
"""

from __future__ import annotations

import os
import time
from typing import Any

from healthforge.distributed.executor import (
    ONE_CPU,
    Executor,
    Outcome,
    Resources,
    ResultCallback,
    TaskFn,
    describe_error,
)
from healthforge.errors import HealthForgeError
from healthforge.progress import ProgressCallback, report

POLL_SECONDS = 0.5


def import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise HealthForgeError(
            "the Ray backend needs the ray extra, which is not installed",
            "pip install 'healthforge[ray]', or use --backend local",
        ) from None
    return ray


def ensure_runtime(address: str | None = None, workers: int | None = None) -> Any:
    """Start (or join) Ray once per process; returns the ``ray`` module."""
    ray = import_ray()
    if ray.is_initialized():
        return ray
    if address is None:
        cpus = workers or os.cpu_count() or 1
        ray.init(
            num_cpus=cpus,
            include_dashboard=False,
            log_to_driver=False,
            configure_logging=False,
        )
    else:
        try:
            ray.init(address=address, log_to_driver=False, configure_logging=False)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise HealthForgeError(
                f"could not join the Ray cluster at {address}: {describe_error(exc)}",
                "check the address (ray://HEAD:10001 or auto) and that the cluster is up",
            ) from None
    return ray


def _call(fn: TaskFn, shared: Any, item: Any) -> Any:
    return fn(shared, item)


class RayExecutor(Executor):
    """Runs each item as a Ray task, at most ``workers`` at a time (default: the
    cluster's CPUs). A task whose worker process dies is retried ``retries`` times (its
    output is written atomically, so a retry is safe); an exception raised by the task
    itself is not retried, it is the outcome."""

    name = "ray"

    def __init__(
        self, address: str | None = None, workers: int | None = None, retries: int = 2
    ) -> None:
        if retries < 0:
            raise HealthForgeError(f"retries must be 0 or more, not {retries}")
        self.ray = ensure_runtime(address, workers)
        cluster = int(self.ray.cluster_resources().get("CPU", 1))
        self.workers = max(1, workers or cluster)
        self.retries = retries

    # duplicates: the signature of Executor.map, which this implements
    def map(
        self,
        fn: TaskFn,
        shared: Any,
        items: list[tuple[str, Any]],
        *,
        resources: Resources = ONE_CPU,
        timeout: float | None = None,
        fail_fast: bool = False,
        progress: ProgressCallback | None = None,
        stage: str = "tasks",
        on_result: ResultCallback | None = None,
    ) -> list[Outcome]:
        ray = self.ray
        options: dict[str, Any] = {
            "num_cpus": resources.cpus,
            "max_retries": self.retries,
            "retry_exceptions": False,
        }
        if resources.memory:
            options["memory"] = int(resources.memory)
        remote = ray.remote(_call).options(**options)
        shared_ref = ray.put(shared)  # once: every task reads the same object
        fn_ref = ray.put(fn)
        queue = list(enumerate(items))
        pending: dict[Any, tuple[int, str, float]] = {}
        outcomes: dict[int, Outcome] = {}
        try:
            while queue or pending:
                while queue and len(pending) < self.workers:
                    position, (key, item) = queue.pop(0)
                    ref = remote.remote(fn_ref, shared_ref, item)
                    pending[ref] = (position, key, time.perf_counter())
                ready, _ = ray.wait(list(pending), num_returns=1, timeout=POLL_SECONDS)
                for ref in ready:
                    position, key, started = pending.pop(ref)
                    outcomes[position] = self._collect(ref, key, started)
                    if on_result is not None:
                        on_result(position, outcomes[position])
                    report(progress, stage, len(outcomes), len(items))
                    if fail_fast and not outcomes[position].ok:
                        return [outcomes[p] for p in sorted(outcomes)]
                if timeout is not None:
                    now = time.perf_counter()
                    for ref, (position, key, started) in list(pending.items()):
                        if now - started > timeout:
                            ray.cancel(ref, force=True)
                            del pending[ref]
                            outcomes[position] = Outcome(
                                key,
                                "timeout",
                                error=f"no result after {timeout:g}s",
                                seconds=now - started,
                            )
                            if on_result is not None:
                                on_result(position, outcomes[position])
                            report(progress, stage, len(outcomes), len(items))
                            if fail_fast:
                                return [outcomes[p] for p in sorted(outcomes)]
        finally:
            for ref in pending:  # stopped early: leave nothing running
                ray.cancel(ref, force=True)
        return [outcomes[p] for p in range(len(items))]

    def _collect(self, ref: Any, key: str, started: float) -> Outcome:
        ray = self.ray
        seconds = time.perf_counter() - started
        try:
            value = ray.get(ref)
        except ray.exceptions.RayTaskError as exc:  # the task raised
            cause = getattr(exc, "cause", None) or exc
            return Outcome(key, "failed", error=describe_error(cause), seconds=seconds)
        except (ray.exceptions.WorkerCrashedError, ray.exceptions.NodeDiedError) as exc:
            reason = f"the Ray worker running it died ({type(exc).__name__}) and "
            reason += f"{self.retries} retries were used up" if self.retries else "retries=0"
            return Outcome(key, "failed", error=reason, seconds=seconds)
        except ray.exceptions.RayError as exc:
            return Outcome(key, "failed", error=describe_error(exc), seconds=seconds)
        return Outcome(key, "ok", value, seconds=seconds)
