"""The selection policy beside the pipeline: a table's meta-features from a run
specification, the auto choice for a run, and learning from an evaluated run."""

from __future__ import annotations

from typing import Any

import pandas as pd

from healthforge.errors import HealthForgeError
from healthforge.selection.meta import MetaFeatures, meta_features
from healthforge.selection.policy import Recommendation, recommend, record
from healthforge.selection.reward import Priorities, Reward
from healthforge.selection.store import Observation, SelectionStore


def data_meta(data: dict[str, Any], table: pd.DataFrame | None = None) -> MetaFeatures:
    """Meta-features of the table a run's ``data`` section names, read and prepared by the
    pipeline exactly as a run would (identifiers and dropped columns left out)."""
    from healthforge.pipeline import Pipeline, RunSpec

    spec = RunSpec.from_dict({"data": dict(data)})  # no generator, privacy or outputs
    pipeline = Pipeline(spec, table=table)
    pipeline.run(until="prepare")
    prepared = pipeline.state.prepared
    return meta_features(prepared.frame, prepared.schema, prepared.schema.target)


def choose(
    data: dict[str, Any],
    privacy: str = "none",
    priorities: Priorities | None = None,
    store: SelectionStore | None = None,
    seed: int = 0,
    table: pd.DataFrame | None = None,
) -> tuple[Recommendation, MetaFeatures]:
    """The recommendation for the table of a run's ``data`` section (``--generator auto``)."""
    meta = data_meta(data, table)
    return recommend(meta, priorities, privacy, store, seed), meta


def learn_from_run(
    result: Any, store: SelectionStore, meta: MetaFeatures | None = None
) -> Observation | None:
    """Record an evaluated :class:`~healthforge.pipeline.RunResult` in ``store`` (None
    when the run was not evaluated). ``meta``: the table's, if already known."""
    if result.evaluation is None:
        return None
    if meta is None:
        frames = [f for f in (result.train, result.holdout) if f is not None]
        if not frames:
            raise HealthForgeError("the run kept no real rows to describe")
        schema = getattr(result.model, "schema_", None)
        meta = meta_features(pd.concat(frames, ignore_index=True), schema)
    from healthforge.pipeline.privacy import privacy_plan

    spec = result.spec
    epsilon = privacy_plan(spec).params.get("epsilon")  # a preset's epsilon included
    reward = Reward.from_evaluation(result.evaluation, result.timings.get("fit"))
    return record(
        meta,
        result.generator,
        reward,
        store,
        epsilon=float(epsilon) if isinstance(epsilon, int | float) else None,
        privacy=spec.privacy,
    )
