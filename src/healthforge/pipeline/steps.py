"""The steps of a run, each a function of the run's :class:`RunState`.

load -> prepare -> split -> build -> fit -> sample (+ privacy filter) -> write ->
evaluate -> report. Each step reads what earlier steps left on the state and adds its
own; :mod:`healthforge.pipeline.run` calls them in order. The model's steps (build,
fit) are in :mod:`.fitting`, the evaluation's (evaluate, report) in :mod:`.judging`.
The seed of every random choice comes from :func:`seeds_of`, the one place it is
derived.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from healthforge.data.split import split_train_holdout
from healthforge.errors import HealthForgeError
from healthforge.pipeline.privacy import privacy_plan
from healthforge.pipeline.spec import RunSpec
from healthforge.progress import ProgressCallback

MIN_SUBSET_ROWS = 2  # fewer real rows satisfying the conditions: nothing to compare with
MIN_HOLDOUT_ROWS = 10  # fewer: evaluate without holdout rather than on a handful of people
SMALL_SUBSET_ROWS = 50


@dataclass
class RunState:
    """What the steps have made so far; :class:`~healthforge.pipeline.run.RunResult`
    exposes it."""

    spec: RunSpec
    progress: ProgressCallback | None = None
    log: Callable[[str], None] | None = None
    given: pd.DataFrame | None = None  # a table handed in, read instead of data.source
    plan: Any = None  # PrivacyPlan
    generator: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    table: pd.DataFrame | None = None  # as loaded
    user_schema: Any = None
    public_schema: Any = None  # handed to a DP generator as its domain
    target: str | None = None
    prepared: Any = None  # PreparedData of the whole table (not with before_prepare)
    train: pd.DataFrame | None = None
    holdout: pd.DataFrame | None = None
    real_eval: pd.DataFrame | None = None  # the real rows the evaluation compares with
    holdout_eval: pd.DataFrame | None = None
    rows_real: int | None = None  # real rows satisfying the conditions
    share_real: float | None = None
    model: Any = None
    synthetic: pd.DataFrame | None = None  # None when streamed to the file
    rows_written: int | None = None
    filter_result: Any = None
    # the budget record of rows adopted from a model outside this process
    dp_budget: dict[str, Any] | None = None
    evaluation: Any = None
    notes: list[str] = field(default_factory=list)
    executor: Any = None  # where a partitioned sample's shards run (default: here)

    def say(self, message: str) -> None:
        if self.log is not None:
            self.log(message)

    @property
    def use_filter(self) -> bool:
        return bool(self.spec.privacy_filter or (self.plan and self.plan.privacy_filter))

    @property
    def needs_split(self) -> bool:
        out = self.spec.outputs
        return bool(
            self.spec.evaluation is not None
            or self.use_filter
            or out.train
            or out.holdout
            or self.spec.split.always
        )


def seeds_of(spec: RunSpec) -> dict[str, int]:
    """The seed of each random choice. All equal the run's seed: the split, the model
    (its initialisation and default sampling seed), the draws, the filter's redraws and
    the evaluation's models - so a run is replayed by its one seed."""
    return dict.fromkeys(("split", "model", "sample", "evaluation"), spec.seed)


# -- privacy ------------------------------------------------------------------------------
def resolve_privacy(state: RunState) -> None:
    plan = privacy_plan(state.spec)
    state.plan, state.generator, state.params = plan, plan.generator, dict(plan.params)


def _is_dp(state: RunState) -> bool:
    """Whether the configured generator is private (lm only with epsilon)."""
    from healthforge.generators import is_private

    return is_private(state.generator, state.params)


# -- load and prepare ---------------------------------------------------------------------
def load(state: RunState) -> None:
    """Read the table and the schema file; resolve the target."""
    from healthforge.data import load_table
    from healthforge.data.bundled import default_target

    spec = state.spec
    if state.plan is None:
        resolve_privacy(state)
    if spec.data.schema is not None:
        from healthforge.data.schema import Schema

        state.user_schema = Schema.load(spec.data.schema)
    if state.given is not None:
        table = state.given
    elif spec.data.sample_rows is not None:  # a table larger than memory: a streamed sample
        from healthforge.data.streaming import sample_rows

        table = sample_rows(spec.data.source, spec.data.sample_rows, seed=spec.seed)
        state.say(f"fitting on a seeded sample of {len(table):,} rows of {spec.data.source}")
    else:
        table = load_table(spec.data.source)
    target = spec.data.target
    if target is None and spec.data.infer_target:  # a bundled dataset's outcome is known
        schema_target = state.user_schema.target if state.user_schema else None
        target = default_target(spec.data.source, schema_target)
    state.target = target
    if spec.split.before_prepare:
        # the generator prepares its own training rows; the dropped columns go now
        table = table.drop(columns=list(spec.data.drop))
    elif state.user_schema is not None and _is_dp(state):
        from healthforge.generators import conform_to_schema

        # values outside the public schema are clipped or made missing, never added
        table = conform_to_schema(table, state.user_schema)
    state.table = table


def prepare(state: RunState) -> None:
    """Infer or check the schema; check conditions and group columns before any fitting."""
    from healthforge.data import prepare as prepare_table
    from healthforge.generators import conditions as cond

    spec = state.spec
    if spec.split.before_prepare:
        state.public_schema = state.user_schema
        checks_need_it = spec.conditions or spec.generator.fair or spec.evaluation
        if state.user_schema is None and not (spec.data.schema_from_data or checks_need_it):
            return  # the generator prepares its training rows itself: nothing to check
        schema = state.user_schema
        if schema is None:
            schema = prepare_table(state.table, None, state.target).schema
            if spec.data.schema_from_data:
                state.public_schema = schema
    else:
        # a bundled codebook (labels, demographics) applies to a table read from its
        # source; a table handed in is taken as it is
        source = spec.data.source if state.given is None else None
        state.prepared = prepare_table(
            state.table, state.user_schema, state.target, spec.data.drop, source=source
        )
        target = state.prepared.schema.target
        if spec.data.drop_missing_target and target is not None:
            prepared = state.prepared
            frame = prepared.frame
            if frame[target].isna().any():
                frame = frame[frame[target].notna()].reset_index(drop=True)
            state.prepared = type(prepared)(frame, prepared.schema, prepared.excluded)
        for line in state.prepared.notices():
            state.say(line)
        schema = state.prepared.schema
        if state.user_schema is not None and _is_dp(state):
            state.public_schema = schema
    cond.resolve(cond.parse_conditions(spec.conditions), schema)  # impossible conditions fail now
    checks = [("fair_by", spec.generator.fair.by if spec.generator.fair else None)]
    if spec.evaluation is not None:
        checks.append(("fairness_by", spec.evaluation.fairness_by))
    for what, column in checks:
        if column is not None and column not in schema.modelled_names:
            raise HealthForgeError(
                f"{what} column '{column}' is not a modelled column",
                f"columns are: {', '.join(schema.modelled_names[:25])}",
            )


def split(state: RunState) -> None:
    """The seeded train/holdout split (only when a holdout is needed)."""
    from healthforge.data.io import write_table

    spec = state.spec
    if not state.needs_split:
        state.train = None if spec.split.before_prepare else state.prepared.frame
        if spec.split.before_prepare:
            state.train = state.table
        return
    frame = state.table if spec.split.before_prepare else state.prepared.frame
    target = state.target if spec.split.before_prepare else state.prepared.schema.target
    seed = seeds_of(spec)["split"]
    if spec.split.stratify:
        state.train, state.holdout = _split_on_strata(state, frame, seed)
        target = " x ".join(spec.split.stratify)
    else:
        state.train, state.holdout = split_train_holdout(
            frame, target, spec.split.holdout_fraction, seed=seed
        )
    state.say(
        f"holding out {len(state.holdout):,} of {len(frame):,} rows (seed {seed}"
        + (f", stratified on {target}" if target else "")
        + "): the generator never sees them; they judge utility and privacy"
    )
    if spec.evaluation is not None and spec.evaluation.against == "conditioned":
        conditioned_subsets(state)
    if spec.outputs.train is not None:
        write_table(state.train, spec.outputs.train)
    if spec.outputs.holdout is not None:
        write_table(state.holdout, spec.outputs.holdout)


STRATA = "\0strata"  # the joint key's column while splitting; no real column's name


def _split_on_strata(
    state: RunState, frame: pd.DataFrame, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The split stratified on every combination of ``split.stratify``'s values (a group x
    outcome: every small group keeps its cases in the holdout)."""
    columns = state.spec.split.stratify
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise HealthForgeError(
            f"stratify column '{missing[0]}' is not in the data",
            f"columns are: {', '.join(map(str, frame.columns[:25]))}",
        )
    key = frame[columns[0]].astype(str)
    for column in columns[1:]:
        key = key + "|" + frame[column].astype(str)
    train, holdout = split_train_holdout(
        frame.assign(**{STRATA: key}), STRATA, state.spec.split.holdout_fraction, seed=seed
    )
    return train.drop(columns=[STRATA]), holdout.drop(columns=[STRATA])


def conditioned_subsets(state: RunState) -> None:
    """The real training and holdout rows satisfying the conditions (fails before fitting
    when too few satisfy them)."""
    from healthforge.generators import conditions as cond

    spec = state.spec
    conditions = cond.resolve(cond.parse_conditions(spec.conditions), state.prepared.schema)
    everyone = cond.mask(state.prepared.frame, conditions)
    state.rows_real, state.share_real = int(everyone.sum()), float(everyone.mean())
    real = state.train[cond.mask(state.train, conditions)].reset_index(drop=True)
    holdout = state.holdout[cond.mask(state.holdout, conditions)].reset_index(drop=True)
    if len(real) < MIN_SUBSET_ROWS:
        raise HealthForgeError(
            f"only {len(real)} real training rows satisfy "
            + "; ".join(spec.conditions)
            + ": there is nothing to compare the synthetic rows with",
            "relax the conditions",
        )
    if len(holdout) < MIN_HOLDOUT_ROWS:
        state.notes.append(
            f"only {len(holdout)} holdout rows satisfy the conditions: evaluated without "
            "a holdout (utility and privacy attacks are skipped)"
        )
        holdout = None
    if len(real) < SMALL_SUBSET_ROWS:
        state.notes.append(
            f"the real comparison group has {len(real)} rows: read fidelity as indicative"
        )
    state.real_eval, state.holdout_eval = real, holdout


# -- rows -------------------------------------------------------------------------------
def n_rows(state: RunState) -> int:
    """The rows to draw: the spec's, else as many as the real rows (all of them with the
    privacy filter, the training rows otherwise)."""
    if state.spec.rows is not None:
        return state.spec.rows
    if state.use_filter and state.prepared is not None:
        return len(state.prepared.frame)
    return int(state.model.n_train_)


def sample(state: RunState) -> None:
    """Draw the rows (through the privacy filter when it is on); a streamed run writes
    them chunk by chunk instead of keeping them."""
    from healthforge.data import write_chunks
    from healthforge.data.labels import to_labels

    spec, model = state.spec, state.model
    seed, rows = seeds_of(spec)["sample"], n_rows(state)
    conditions = spec.conditions or None
    if spec.outputs.partitioned:
        _sample_partitioned(state, rows, seed)
    elif state.use_filter:
        from healthforge.privacy.filter import PrivacyFilter, filtered_sample

        schema = state.prepared.schema if state.prepared is not None else model.schema_
        guard = PrivacyFilter(state.train, state.holdout, schema)
        state.synthetic, state.filter_result = filtered_sample(
            model, rows, guard, seed=seed, conditions=conditions
        )
        result = state.filter_result
        state.notes.append(f"privacy filter removed {result.removed:,} of {result.rows_in:,} rows")
    elif spec.outputs.stream:
        chunks = model.sample_chunks(
            rows, seed=seed, conditions=conditions, progress=state.progress
        )
        if spec.outputs.labels:  # value labels instead of codes (sex: female, not 1)
            chunks = (to_labels(chunk, model.schema_) for chunk in chunks)
        assert spec.outputs.synthetic is not None  # validated
        state.rows_written = write_chunks(chunks, spec.outputs.synthetic)
    else:
        state.synthetic = draw(model, rows, seed, conditions)


def _sample_partitioned(state: RunState, rows: int, seed: int) -> None:
    """Shards of the rows into a folder (filtered per shard), run by ``state.executor``."""
    from healthforge.distributed.shards import sample_to_folder

    spec, model = state.spec, state.model
    guard = None
    if state.use_filter:
        from healthforge.privacy.filter import PrivacyFilter

        schema = state.prepared.schema if state.prepared is not None else model.schema_
        guard = PrivacyFilter(state.train, state.holdout, schema)
    assert spec.outputs.synthetic is not None  # validated
    result = sample_to_folder(
        model,
        rows,
        spec.outputs.synthetic,
        seed=seed,
        conditions=spec.conditions or None,
        guard=guard,
        labels=spec.outputs.labels,
        shard_rows=spec.outputs.shard_rows,
        executor=state.executor,
        progress=state.progress,
    )
    state.rows_written = result.rows
    model.sample_stats_ = dict(result.sample_stats)
    if result.filter_result is not None:
        state.filter_result = result.filter_result
        removed, drawn = result.filter_result.removed, result.filter_result.rows_in
        state.notes.append(f"privacy filter removed {removed:,} of {drawn:,} rows")


def draw(model: Any, rows: int, seed: int, conditions: Any = None) -> pd.DataFrame:
    """``rows`` rows of a fitted model, each satisfying ``conditions``: the sample step's
    draw, also called per group by a caller drawing several groups from one model (the
    augmentation experiment)."""
    return model.sample(int(rows), seed=seed, conditions=conditions)


def write(state: RunState) -> None:
    """Write the sampled rows (a streamed run has written them already)."""
    from healthforge.data import write_chunks
    from healthforge.data.labels import to_labels

    out = state.spec.outputs
    if out.synthetic is None or state.synthetic is None:
        return
    frame = state.synthetic
    if out.labels:
        frame = to_labels(frame, state.model.schema_)
    state.rows_written = write_chunks(iter([frame]), out.synthetic)
