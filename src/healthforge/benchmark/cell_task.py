"""One cell of the benchmark's grid as a task: run the method, score its rows.

The harness plans the cells and hands them to an executor
(:mod:`healthforge.distributed`): the local backend runs them here one after another, Ray
runs them as tasks with a CPU and memory request. Either way :func:`run_cell` is the one
function that runs a cell - the child process of :mod:`.jobs` (ours through the
pipeline, a peer in its venv) and the evaluation of its rows by the split's judging
pipeline (:func:`.scoring.score_run`) - so the figures are the same on every backend.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from healthforge.benchmark import jobs
from healthforge.benchmark.records import RunRecord
from healthforge.benchmark.scoring import score_run

if TYPE_CHECKING:
    from healthforge.pipeline import Pipeline, RunSpec

SplitKey = tuple[str, int]  # (dataset, repeat)


@dataclass
class CellTask:
    """A planned cell: its record (filled by :func:`run_cell`), the split it is judged
    on, and either a run specification of ours or a peer's arguments."""

    record: RunRecord
    split: SplitKey
    folder: Path
    timeout: float
    threads: int | None
    eval_draws: int
    spec: RunSpec | None = None
    peer: dict[str, Any] = field(default_factory=dict)  # jobs.run_peer's keyword arguments
    source: Path | None = None  # the dataset file a cell of ours reads

    def failed(self, status: str, reason: str) -> RunRecord:
        """The record of a cell whose task did not return (its worker died, or timed out)."""
        self.record.status, self.record.reason = status, reason
        return self.record


def run_cell(splits: dict[SplitKey, Pipeline], task: CellTask) -> RunRecord:
    """Run ``task``'s method in a child process and score its rows on its split."""
    split = splits[task.split]
    task.folder.mkdir(parents=True, exist_ok=True)
    if task.spec is not None:
        if task.source is not None and not task.source.exists():  # another node
            _write_source(split, task.source)
        outcome = jobs.run_ours(task.spec, task.folder, task.timeout, task.threads)
    else:
        outcome = jobs.run_peer(**task.peer, workdir=task.folder, timeout=task.timeout,
                                threads=task.threads)  # fmt: skip
    return score_run(task.record, outcome, split, task.eval_draws)


def _write_source(split: Pipeline, source: Path) -> None:
    """The dataset's rows as the harness wrote them, on a node without the file."""
    from healthforge.data.atomic import atomic_path

    table = split.state.given if split.state.given is not None else split.state.table
    assert table is not None
    source.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(source) as tmp:
        table.to_parquet(tmp, index=False)
