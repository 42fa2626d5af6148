"""Execute a :class:`RunSpec` step by step: :func:`run` and the resumable :class:`Pipeline`."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from healthforge.errors import HealthForgeError
from healthforge.pipeline import fitting, judging, steps
from healthforge.pipeline.spec import RunSpec
from healthforge.progress import ProgressCallback, report

STEPS: tuple[tuple[str, Callable[[steps.RunState], None]], ...] = (
    ("load", steps.load),
    ("prepare", steps.prepare),
    ("split", steps.split),
    ("build", fitting.build),
    ("fit", fitting.fit),
    ("sample", steps.sample),
    ("write", steps.write),
    ("evaluate", judging.evaluate),
    ("report", judging.report),
)
STEP_NAMES = tuple(name for name, _ in STEPS)
PACKAGES = ("healthforge", "numpy", "pandas", "scikit-learn", "scipy", "xgboost", "torch")


@dataclass
class Provenance:
    """What a run came from: enough to tell whether two runs are comparable."""

    data_fingerprint: str | None  # sha256 of the loaded table (see :func:`fingerprint`)
    seeds: dict[str, int]
    packages: dict[str, str]
    python: str
    spec_sha256: str  # of the spec's canonical JSON


@dataclass
class RunResult:
    """Typed results of a run; fields of steps that did not run are ``None``."""

    spec: RunSpec
    generator: str  # after the privacy preset
    model: Any
    synthetic: pd.DataFrame | None  # None when streamed to ``synthetic_path``
    synthetic_path: Path | None
    rows: int | None  # rows sampled (written)
    evaluation: Any  # EvaluationResult
    report_path: Path | None
    json_path: Path | None
    train: pd.DataFrame | None
    holdout: pd.DataFrame | None
    real_evaluated: pd.DataFrame | None  # the real rows the evaluation compared with
    holdout_evaluated: pd.DataFrame | None
    rows_real: int | None  # real rows satisfying the conditions (conditioned evaluation)
    share_real: float | None
    filter_result: Any
    notes: list[str]
    timings: dict[str, float]  # seconds per step
    provenance: Provenance
    steps_run: list[str] = field(default_factory=list)


def fingerprint(frame: pd.DataFrame) -> str:
    """sha256 of a table's columns, dtypes and cell values (row order counts).

    One changed cell, column name or dtype changes it; the index does not count.
    """
    digest = hashlib.sha256()
    digest.update(json.dumps([[str(c), str(t)] for c, t in frame.dtypes.items()]).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def package_versions() -> dict[str, str]:
    found = {}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


class Pipeline:
    """A run that can be executed whole, up to a step, or one step at a time.

    ``log`` receives one-line messages meant for the user (notices, the holdout size).
    ``table``: rows already in memory, read instead of ``spec.data.source`` (which then
    only names them; no bundled codebook is applied to them). ``executor``: where the
    shards of a partitioned output run (:func:`healthforge.distributed.get_executor`;
    default here) - the bytes written are the same on every backend.
    """

    def __init__(
        self,
        spec: RunSpec,
        progress: ProgressCallback | None = None,
        log: Callable[[str], None] | None = None,
        table: pd.DataFrame | None = None,
        executor: Any = None,
    ) -> None:
        self.spec = spec.validate()
        self.state = steps.RunState(
            spec=spec, progress=progress, log=log, given=table, executor=executor
        )
        self.timings: dict[str, float] = {}
        self.done: list[str] = []
        self._fingerprint: str | None = None

    def step(self, name: str) -> None:
        """Run step ``name``; the steps before it must have run."""
        if name not in STEP_NAMES:
            raise HealthForgeError(
                f"unknown pipeline step '{name}'", f"steps are: {', '.join(STEP_NAMES)}"
            )
        index = STEP_NAMES.index(name)
        missing = [s for s in STEP_NAMES[:index] if s not in self.done]
        if missing:
            raise HealthForgeError(
                f"step '{name}' needs step '{missing[0]}' to run first",
                f"run until='{name}', or run the steps in order: {', '.join(STEP_NAMES)}",
            )
        report(self.state.progress, "pipeline", index, len(STEP_NAMES))
        started = time.perf_counter()
        dict(STEPS)[name](self.state)
        self.timings[name] = time.perf_counter() - started
        if name == "load" and self.state.table is not None:
            self._fingerprint = fingerprint(self.state.table)
        self.done.append(name)

    def run(self, until: str | None = None, start: str | None = None) -> RunResult:
        """Run the steps from ``start`` (default: the first not yet run) through ``until``
        (default: the last)."""
        for name in (until, start):
            if name is not None and name not in STEP_NAMES:
                raise HealthForgeError(
                    f"unknown pipeline step '{name}'", f"steps are: {', '.join(STEP_NAMES)}"
                )
        last = STEP_NAMES.index(until) if until else len(STEP_NAMES) - 1
        first = STEP_NAMES.index(start) if start else len(self.done)
        for name in STEP_NAMES[first : last + 1]:
            self.step(name)
        if last == len(STEP_NAMES) - 1:
            report(self.state.progress, "pipeline", len(STEP_NAMES), len(STEP_NAMES))
        return self.result()

    # what a branch may change: the fields the steps after 'prepare' read
    BRANCHABLE = ("seed", "split", "rows", "conditions", "evaluation", "outputs")

    def branch(self, progress: ProgressCallback | None = None, **changes: Any) -> Pipeline:
        """A pipeline that shares this one's loaded and prepared data and runs the later
        steps under ``changes`` (e.g. another seed: repeated splits of the same data
        without reading and preparing it again). 'prepare' must have run here."""
        if "prepare" not in self.done:
            raise HealthForgeError("a branch needs step 'prepare' to have run first")
        fixed = sorted(set(changes) - set(self.BRANCHABLE))
        if fixed:
            raise HealthForgeError(
                f"a branch cannot change {', '.join(fixed)}: the prepared data depends on it",
                f"a branch may change: {', '.join(self.BRANCHABLE)}",
            )
        split = changes.get("split", self.spec.split)
        if split.before_prepare != self.spec.split.before_prepare:
            raise HealthForgeError("a branch cannot change split.before_prepare")
        other = Pipeline(
            dataclasses.replace(self.spec, **changes),
            progress=progress,
            log=self.state.log,
            executor=self.state.executor,
        )
        kept = ("given", "plan", "generator", "params", "table", "user_schema")
        kept += ("public_schema", "target", "prepared")
        for name in kept:
            setattr(other.state, name, getattr(self.state, name))
        other.done = ["load", "prepare"]
        other.timings = {k: v for k, v in self.timings.items() if k in other.done}
        other._fingerprint = self._fingerprint
        return other

    # what a continuation may change: what only the steps after 'write' read
    CONTINUABLE = ("evaluation", "outputs", "name", "title", "description")

    def extend(self, progress: ProgressCallback | None = None, **changes: Any) -> Pipeline:
        """A pipeline that carries on from this one's state under ``changes`` to what only
        the later steps read: e.g. an evaluation and its report after a run that stopped
        after 'write' (the steps run here are not run again; the fitted model and the
        rows are reused). Its spec, run whole, gives the same rows: it is what to record.
        The split must have been made (``split.always``) if the evaluation needs it."""
        fixed = sorted(set(changes) - set(self.CONTINUABLE))
        if fixed:
            raise HealthForgeError(
                f"a continuation cannot change {', '.join(fixed)}: the steps run depend on it",
                f"it may change: {', '.join(self.CONTINUABLE)}; use branch() or a new run",
            )
        spec = dataclasses.replace(self.spec, **changes)
        old, new = self.spec.outputs, spec.outputs
        for name in ("synthetic", "train", "holdout", "labels", "stream"):
            if getattr(old, name) != getattr(new, name) and "write" in self.done:
                raise HealthForgeError(f"a continuation cannot change outputs.{name}")
        other = Pipeline(spec, progress=progress, log=self.state.log)
        state = dataclasses.replace(self.state, spec=other.spec, progress=progress)
        state.notes = list(self.state.notes)
        if "split" in self.done and state.needs_split and state.holdout is None:
            raise HealthForgeError(
                "this run made no train/holdout split, so it cannot be evaluated now",
                "run it with split.always set (or with its evaluation) and evaluate then",
            )
        if "split" in self.done and spec.evaluation and spec.evaluation.against == "conditioned":
            steps.conditioned_subsets(state)
        other.state = state
        # an unchanged evaluation is kept (a report added later does not re-evaluate)
        same = spec.evaluation == self.spec.evaluation and state.evaluation is not None
        later = STEP_NAMES.index("report" if same else "evaluate")
        other.done = [s for s in self.done if STEP_NAMES.index(s) < later]
        other.timings = {k: v for k, v in self.timings.items() if k in other.done}
        other._fingerprint = self._fingerprint
        return other

    def adopt(
        self, synthetic: pd.DataFrame, name: str, dp_budget: dict[str, Any] | None = None
    ) -> None:
        """Take rows sampled outside this pipeline as its sample: rows of a model fitted in
        another process (the benchmark's child) or by another library (a peer in its own
        environment). The steps after 'sample' (write, evaluate, report) then judge them
        like rows of ours; ``name`` says where they came from, ``dp_budget`` is the
        budget record of a private method. 'split' must have run; adopting again
        replaces the rows (e.g. another block of the same draw)."""
        if "split" not in self.done:
            raise HealthForgeError("adopted rows need step 'split' to have run first")
        state = self.state
        state.model, state.generator, state.dp_budget = None, name, dp_budget
        state.synthetic, state.rows_written = synthetic, None
        state.filter_result, state.evaluation = None, None
        self.done = [s for s in self.done if s in STEP_NAMES[:3]] + ["build", "fit", "sample"]
        self.timings = {k: v for k, v in self.timings.items() if k in STEP_NAMES[:3]}

    def result(self) -> RunResult:
        state, out = self.state, self.spec.outputs
        wrote = "write" in self.done or ("sample" in self.done and out.stream)
        # duplicates: a record built field by field; alike in shape to other keyword lists
        return RunResult(
            spec=self.spec,
            generator=state.generator,
            model=state.model,
            synthetic=state.synthetic,
            synthetic_path=Path(out.synthetic) if out.synthetic and wrote else None,
            rows=state.rows_written if state.rows_written is not None else _len(state.synthetic),
            evaluation=state.evaluation,
            report_path=Path(out.report) if out.report and "report" in self.done else None,
            json_path=Path(out.json) if out.json and "report" in self.done else None,
            train=state.train,
            holdout=state.holdout,
            real_evaluated=state.real_eval,
            holdout_evaluated=state.holdout_eval,
            rows_real=state.rows_real,
            share_real=state.share_real,
            filter_result=state.filter_result,
            notes=list(state.notes),
            timings=dict(self.timings),
            provenance=Provenance(
                data_fingerprint=self._fingerprint,
                seeds=steps.seeds_of(self.spec),
                packages=package_versions(),
                python=platform.python_version(),
                spec_sha256=hashlib.sha256(self.spec.to_json().encode()).hexdigest(),
            ),
            steps_run=list(self.done),
        )


def _len(frame: pd.DataFrame | None) -> int | None:
    return None if frame is None else len(frame)


def run(
    spec: RunSpec,
    progress: ProgressCallback | None = None,
    until: str | None = None,
    log: Callable[[str], None] | None = None,
    table: pd.DataFrame | None = None,
    executor: Any = None,
) -> RunResult:
    """Execute ``spec``, every step or through ``until``; one step at a time is
    :meth:`Pipeline.step`. ``table``: rows in memory instead of ``spec.data.source``;
    ``executor``: where a partitioned output's shards run."""
    pipeline = Pipeline(spec, progress=progress, log=log, table=table, executor=executor)
    return pipeline.run(until=until)
