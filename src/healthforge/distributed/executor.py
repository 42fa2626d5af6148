"""Where tasks run: the local backend (this process, one task after another) or Ray.

An executor maps one module-level function over items with the same shared payload
(a fitted model, a run's settings), which Ray places once in its object store. Every
item ends as an :class:`Outcome` - ``ok`` with its value, ``failed`` with a one-line
reason, or ``timeout`` - so a sweep records a crashed cell and finishes the others,
while sampling (``fail_fast``) stops at the first shard that cannot be written.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from healthforge.errors import HealthForgeError
from healthforge.progress import ProgressCallback, report

TaskFn = Callable[[Any, Any], Any]  # fn(shared, item) -> value
ResultCallback = Callable[[int, "Outcome"], None]  # (position of the item, its outcome)


@dataclass(frozen=True)
class Resources:
    """What one task asks of the cluster: CPUs and memory (bytes) for Ray's scheduler."""

    cpus: float = 1.0
    memory: int | None = None


ONE_CPU = Resources()


@dataclass
class Outcome:
    key: str
    status: str  # "ok" | "failed" | "timeout"
    value: Any = None
    error: str | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def describe_error(exc: BaseException) -> str:
    """One line: a HealthForgeError's message, else the exception's type and text."""
    if isinstance(exc, HealthForgeError):
        return str(exc.args[0]) if exc.args else str(exc)
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:300]}" if text else type(exc).__name__


def first_failure(outcomes: list[Outcome], what: str) -> None:
    """Raise a HealthForgeError for the first outcome that is not ``ok``."""
    for outcome in outcomes:
        if not outcome.ok:
            raise HealthForgeError(
                f"{what} {outcome.key} {outcome.status}: {outcome.error}",
                "nothing was marked complete; run it again (the Ray backend has already "
                "retried a task whose worker died: --retries, 2 by default)",
            )


class Executor(ABC):
    name: str = ""
    workers: int = 1

    # duplicates: the one signature every backend's map restates (LocalExecutor, RayExecutor
    # override it; callers pass these keywords to whichever backend they were given)
    @abstractmethod
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
        """``fn(shared, item)`` for every ``(key, item)``; outcomes in the items' order.

        ``on_result(position, outcome)`` is called as each item finishes (in the order
        they finish), e.g. to save results as they come; ``progress(stage, done, total)``
        likewise. ``fail_fast``: stop at the first outcome that is not ``ok`` (the local
        backend re-raises the task's exception)."""


class LocalExecutor(Executor):
    """Runs the tasks here, in order: the default backend and the reference output.

    ``timeout`` is not enforced in-process (the benchmark's own child process per cell
    enforces its time limit); a task's exception becomes a ``failed`` outcome."""

    name = "local"
    workers = 1

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
        outcomes: list[Outcome] = []
        for done, (key, item) in enumerate(items, start=1):
            started = time.perf_counter()
            try:
                value = fn(shared, item)
            except Exception as exc:
                if fail_fast:
                    raise
                outcomes.append(Outcome(key, "failed", error=describe_error(exc)))
            else:
                outcomes.append(Outcome(key, "ok", value, seconds=time.perf_counter() - started))
            if on_result is not None:
                on_result(done - 1, outcomes[-1])
            report(progress, stage, done, len(items))
        return outcomes
