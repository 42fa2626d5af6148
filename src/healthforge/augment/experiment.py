"""Augmentation as an experiment: does adding synthetic records for small groups help?

:func:`augment_experiment` answers with measurements, not assumptions. Over ``repeats``
seeded splits of the real data into training rows and a real holdout, it fits the
generator on the training rows only, draws synthetic rows for the under-represented
groups of ``balance`` (conditioned generation, ``balance = group``) and trains the same
downstream models (XGBoost, logistic regression) on

* (a) ``real``: the real training rows;
* (b) ``augmented``: the real training rows plus the synthetic rows for small groups;
* (c) ``synthetic``: synthetic rows only, with the same group sizes as (b);

each scored by AUROC on the real holdout, overall and per group. The verdict for a
group rests on the paired difference (b) - (a) across repeats: it "helped" only when the
95% confidence interval of the mean difference lies above 0, "hurt" when below, and
otherwise augmentation "did not measurably help" (:mod:`.statistics`). Separately, the
augmented dataset (all real rows plus synthetic rows from a generator fitted on all of
them) is returned for the user to keep.

The workflow is :mod:`healthforge.pipeline`'s: one :class:`~healthforge.pipeline.RunSpec`
is loaded and prepared once (rows without an outcome left out); every repeat is a
:meth:`~healthforge.pipeline.Pipeline.branch` of it with that repeat's seed and a split
stratified on group x outcome, run through ``fit``; the dataset to keep is the spec run
through ``fit`` without a split; rows are drawn with :func:`healthforge.pipeline.draw`.
What stays here is the experiment itself: which groups get how many rows
(:func:`plan_counts`), the draw seeds, the three arms and the downstream models scored
on each repeat's holdout.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from healthforge.augment.scoring import _fit_and_score
from healthforge.augment.statistics import (
    ARM_LABELS,
    OVERALL,
    _conclusion,
    _differences,
    _records,
    _summarise,
    _unscored,
)
from healthforge.distributed.executor import Executor, LocalExecutor, first_failure
from healthforge.errors import HealthForgeError
from healthforge.progress import ProgressCallback, report

STRATEGIES = ("equal", "proportional", "to-size")
MODELS = ("xgboost", "logistic")
SYNTHETIC_FLAG = "is_synthetic"
MIN_GROUP_ROWS = 2  # a group needs rows to condition on
IN_MEMORY = "augment: a table in memory"  # the spec's source label; the rows are handed in
SYNTHETIC_ONLY_SEED = 10_007  # offset of the synthetic-only arm's draws from the repeat's


@dataclass
class AugmentResult:
    """What :func:`augment_experiment` returns.

    ``scores``: one row per (repeat, model, arm, group) with the holdout AUROC.
    ``table``: mean and 95% CI per (model, arm, group). ``differences``: paired
    differences (b)-(a) and (c)-(a) per (model, group) with their CI and verdict.
    """

    augmented: pd.DataFrame
    added: dict[str, int]
    scores: pd.DataFrame
    table: pd.DataFrame
    differences: pd.DataFrame
    conclusion: str
    settings: dict[str, Any]
    notes: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """A JSON-ready summary: settings, added rows, the table, differences, conclusion."""
        return {
            "settings": self.settings,
            "added": self.added,
            "table": _records(self.table),
            "differences": _records(self.differences),
            "conclusion": self.conclusion,
            "notes": list(self.notes),
        }


def plan_counts(
    groups: pd.Series, strategy: str = "equal", size: int | None = None
) -> dict[str, int]:
    """Synthetic rows to add per group (keys are the group values as text).

    ``equal``: top every group up to the size of the largest; ``proportional``: give
    every smaller group as many synthetic rows as it has real ones, capped at the
    largest group's size (the groups keep their order, the gaps shrink); ``to-size``:
    top every group up to ``size`` rows. Missing values are not a group.
    """
    if strategy not in STRATEGIES:
        raise HealthForgeError(
            f"unknown strategy '{strategy}'", f"use one of: {', '.join(STRATEGIES)}"
        )
    counts = groups.dropna().astype(str).value_counts()
    if counts.empty:
        raise HealthForgeError("the balance column has no values")
    largest = int(counts.max())
    if strategy == "to-size":
        if size is None or isinstance(size, bool) or int(size) < 1:
            raise HealthForgeError("strategy to-size needs a positive size", "e.g. --size 500")
        return {g: max(int(size) - int(n), 0) for g, n in counts.items()}
    if strategy == "equal":
        return {g: largest - int(n) for g, n in counts.items()}
    return {g: min(int(n), largest - int(n)) for g, n in counts.items()}


def augment_experiment(
    data: pd.DataFrame,
    balance: str,
    target: str,
    generator: str = "cart",
    strategy: str = "equal",
    size: int | None = None,
    repeats: int = 5,
    holdout_fraction: float = 0.3,
    seed: int = 0,
    drop: list[str] | tuple[str, ...] = (),
    params: dict[str, Any] | None = None,
    models: tuple[str, ...] = MODELS,
    n_estimators: int = 200,
    fair_by: str | None = None,
    progress: ProgressCallback | None = None,
    executor: Executor | None = None,
) -> AugmentResult:
    """Run the augmentation experiment on ``data`` (see the module docstring).

    ``executor`` runs the repeats (:mod:`healthforge.distributed`; default: here, one
    after another); each repeat depends on its seed only, so the scores are the same.

    ``target`` must be a discrete column (binary or multiclass; AUROC, macro over
    classes). ``fair_by`` fits one generator per group of that column
    (:class:`~healthforge.generators.FairGenerator`). Raises
    :class:`HealthForgeError` for settings that cannot run.
    """
    from healthforge.data.derived import add_derived
    from healthforge.pipeline import (
        DataSpec,
        FairSpec,
        GeneratorSpec,
        Pipeline,
        RunSpec,
        SplitSpec,
    )

    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 2:
        raise HealthForgeError(
            f"repeats must be at least 2 for a confidence interval, not {repeats!r}"
        )
    unknown = [m for m in models if m not in MODELS]
    if unknown or not models:
        raise HealthForgeError(f"unknown models: {unknown}", f"use some of: {', '.join(MODELS)}")
    for name, column in (("balance", balance), ("target", target)):
        if column not in data.columns:
            raise HealthForgeError(
                f"{name} column '{column}' is not in the data",
                f"columns are: {', '.join(map(str, data.columns[:20]))}",
            )
    if balance == target:
        raise HealthForgeError("the balance column and the target must differ")
    spec = RunSpec(
        data=DataSpec(
            source=IN_MEMORY,
            target=target,
            infer_target=False,
            drop=list(drop),
            drop_missing_target=True,  # a row without an outcome cannot score a model
        ),
        generator=GeneratorSpec(
            name=generator,
            params=dict(params or {}),
            fair=FairSpec(by=fair_by) if fair_by is not None else None,
        ),
        seed=seed,
        name="augment",
    )
    pipeline = Pipeline(spec, table=data)  # an unknown generator fails before any work
    pipeline.run(until="prepare")
    prepared = pipeline.state.prepared
    schema = prepared.schema
    for name, column in (("balance", balance), ("target", target)):
        if column not in schema.modelled_names or not schema[column].is_discrete:
            raise HealthForgeError(
                f"{name} column '{column}' must be a modelled column with categories",
                "group a numeric column first (e.g. an age group) or pick another column",
            )
    frame = prepared.frame
    plan_counts(frame[balance], strategy, size)  # a bad strategy fails before fitting
    small = frame[balance].astype(str).value_counts()
    if (small < MIN_GROUP_ROWS).any():
        raise HealthForgeError(f"a group of '{balance}' has fewer than {MIN_GROUP_ROWS} rows")

    # stratify on group x outcome so every repeat's holdout has each small group's cases
    split = SplitSpec(holdout_fraction=holdout_fraction, stratify=[balance, target], always=True)
    rows: list[dict[str, Any]] = []
    notes: list[str] = []
    steps = repeats + 1
    groups = sorted(frame[balance].dropna().astype(str).unique())
    job = _Repeats(
        pipeline, split, schema, groups, balance, target, strategy, size, seed, models,
        n_estimators,
    )  # fmt: skip
    report(progress, "augmentation experiment", 0, steps)
    outcomes = (executor or LocalExecutor()).map(
        _run_repeat,
        job,
        [(str(r), r) for r in range(repeats)],
        fail_fast=True,
        progress=lambda _stage, done, _total: report(
            progress, "augmentation experiment", done, steps
        ),
    )
    first_failure(outcomes, "repeat")
    for outcome in outcomes:
        rows.extend(outcome.value[0])
        notes.extend(outcome.value[1])
    scores = pd.DataFrame(rows)
    table = _summarise(scores)
    differences = _differences(scores)
    counts_all = plan_counts(frame[balance], strategy, size)
    # the dataset to keep: every real row plus synthetic rows from a model of all of them
    full_model = pipeline.run(until="fit").model
    synthetic = _draw_groups(full_model, balance, counts_all, seed, schema)
    real_part = add_derived(frame, schema).assign(**{SYNTHETIC_FLAG: 0})
    augmented = pd.concat([real_part, synthetic.assign(**{SYNTHETIC_FLAG: 1})], ignore_index=True)
    report(progress, "augmentation experiment", steps, steps)
    groups_added = [g for g, k in counts_all.items() if k > 0]
    settings = {
        "balance": balance,
        "target": target,
        "generator": generator,
        "fair_by": fair_by,
        "strategy": strategy,
        "size": size,
        "repeats": repeats,
        "holdout_fraction": holdout_fraction,
        "seed": seed,
        "models": list(models),
        "rows_real": len(frame),
        "group_sizes": {
            str(k): int(v) for k, v in frame[balance].astype(str).value_counts().items()
        },
        "metric": "AUROC on the real holdout",
    }
    return AugmentResult(
        augmented=augmented,
        added={g: int(k) for g, k in counts_all.items()},
        scores=scores,
        table=table,
        differences=differences,
        conclusion=_conclusion(differences, groups_added, balance, _unscored(scores), repeats),
        settings=settings,
        notes=sorted(set(notes)),
    )


@dataclass
class _Repeats:
    """What every repeat shares (placed once in Ray's object store)."""

    pipeline: Any  # through 'prepare'
    split: Any  # SplitSpec
    schema: Any
    groups: list[str]
    balance: str
    target: str
    strategy: str
    size: int | None
    seed: int
    models: tuple[str, ...]
    n_estimators: int


def _run_repeat(job: _Repeats, r: int) -> tuple[list[dict[str, Any]], list[str]]:
    """Repeat ``r``: the pipeline branched with seed ``seed + r``, fitted, scored."""
    notes: list[str] = []
    fitted = job.pipeline.branch(seed=job.seed + r, split=job.split).run(until="fit")
    rows = _one_repeat(
        fitted.model, fitted.train, fitted.holdout, job.schema, job.groups, job.balance,
        job.target, job.strategy, job.size, job.seed + r, job.models, job.n_estimators, r,
        notes,
    )  # fmt: skip
    return rows, notes


def _one_repeat(
    model: Any,
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    schema: Any,
    groups: list[str],
    balance: str,
    target: str,
    strategy: str,
    size: int | None,
    run_seed: int,
    models: tuple[str, ...],
    n_estimators: int,
    repeat: int,
    notes: list[str],
) -> list[dict[str, Any]]:
    """The scores of one repeat: ``model`` was fitted on ``train`` by the pipeline."""
    counts = plan_counts(train[balance], strategy, size)
    extra = _draw_groups(model, balance, counts, run_seed, schema)
    sizes = train[balance].astype(str).value_counts()
    both = {g: int(sizes.get(g, 0)) + counts.get(g, 0) for g in counts}
    synthetic_only = _draw_groups(model, balance, both, run_seed + SYNTHETIC_ONLY_SEED, schema)
    columns = schema.modelled
    arms = {
        "real": train,
        "augmented": pd.concat([train, extra[train.columns]], ignore_index=True),
        "synthetic": synthetic_only[train.columns],
    }
    out = []
    for model_name in models:
        for arm, rows in arms.items():
            scores = _fit_and_score(
                model_name, rows, holdout, columns, train, balance, target, n_estimators,
                run_seed, groups,
            )  # fmt: skip
            if scores is None:
                lacking = f"the training rows lacked a class of '{target}'"
                notes.append(f"{ARM_LABELS[arm]}: {lacking}")
                scores = {g: (math.nan, -1, lacking) for g in [OVERALL, *groups]}
            for group, (value, n_holdout, reason) in scores.items():
                out.append(
                    {
                        "repeat": repeat,
                        "model": model_name,
                        "arm": arm,
                        "group": group,
                        "auroc": value,
                        "holdout_rows": n_holdout,
                        "reason": reason,
                    }
                )
    return out


def _draw_groups(
    model: Any, balance: str, counts: dict[str, int], seed: int, schema: Any
) -> pd.DataFrame:
    """The rows ``counts`` asks for, group by group (sorted), each drawn by the pipeline
    under the condition ``balance = group`` with its own seed."""
    from healthforge.pipeline import draw

    parts = []
    for i, (group, k) in enumerate(sorted(counts.items())):
        if k > 0:
            parts.append(draw(model, int(k), seed * 1_000 + i, {balance: group}))
    if not parts:
        from healthforge.data.derived import add_derived

        empty = pd.DataFrame({c: pd.Series(dtype=object) for c in schema.modelled_names})
        return add_derived(empty, schema)
    return pd.concat(parts, ignore_index=True)


def read_source(
    data: str, target: str | None, drop: list[str]
) -> tuple[pd.DataFrame, str, list[str], list[str]]:
    """The rows of ``data`` (a file or ``bundled:NAME``), the target (a bundled dataset's
    outcome when none is given), the columns to drop, and those of them dropped because
    they reveal a bundled dataset's outcome (a model using them would measure nothing)."""
    from healthforge.data import load_table
    from healthforge.data.bundled import get_dataset
    from healthforge.data.io import BUNDLED_PREFIX

    real = load_table(data)
    dropped, leaky = list(drop), []
    if data.startswith(BUNDLED_PREFIX):
        dataset = get_dataset(data[len(BUNDLED_PREFIX) :])
        target = target or dataset.target
        if target == dataset.target:
            leaky = [c for c in dataset.leaky_for_target if c in real.columns and c not in drop]
            dropped += leaky
    if target is None:
        raise HealthForgeError("--target is needed: the outcome the downstream models predict")
    return real, target, dropped, leaky
