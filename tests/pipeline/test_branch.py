"""What the augmentation experiment needs of the pipeline: rows handed in, branches of one
prepared run, a split stratified on several columns, and rows without an outcome left out."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from healthforge.errors import HealthForgeError
from healthforge.pipeline import DataSpec, GeneratorSpec, Pipeline, RunSpec, SplitSpec, fingerprint


def _table(seed: int = 0) -> pd.DataFrame:
    """240 rows: groups A (160) / B (60) / C (20) with a group-dependent outcome share, and
    8 rows whose outcome is missing."""
    rng = np.random.default_rng(seed)
    group = np.array(["A"] * 160 + ["B"] * 60 + ["C"] * 20)
    died = (rng.random(len(group)) < np.where(group == "C", 0.5, 0.2)).astype(float)
    died[rng.choice(len(group), 8, replace=False)] = np.nan
    return pd.DataFrame({"group": group, "age": rng.normal(60, 10, len(group)), "died": died})


def _spec(**split: object) -> RunSpec:
    return RunSpec(
        data=DataSpec(
            source="a table", target="died", infer_target=False, drop_missing_target=True
        ),
        generator=GeneratorSpec(name="independent"),
        seed=3,
        split=SplitSpec(holdout_fraction=0.3, **split),  # type: ignore[arg-type]
    )


def test_handed_in_rows_are_prepared_without_their_missing_outcomes() -> None:
    table = _table()
    pipeline = Pipeline(_spec(), table=table)
    pipeline.run(until="prepare")
    frame = pipeline.state.prepared.frame
    assert len(frame) == int(table["died"].notna().sum()) == 232
    assert frame["died"].notna().all()
    # without the option every row is kept, missing outcomes included
    kept = Pipeline(_spec(), table=table)
    kept.spec.data.drop_missing_target = False
    kept.run(until="prepare")
    assert len(kept.state.prepared.frame) == 240


def test_split_always_and_stratified_on_every_combination() -> None:
    table = _table()
    # nothing in this run needs a holdout: without `always` there is no split
    plain = Pipeline(_spec(), table=table).run(until="split")
    assert plain.holdout is None and len(plain.train) == 232
    result = Pipeline(_spec(stratify=["group", "died"], always=True), table=table).run(
        until="split"
    )
    assert len(result.train) + len(result.holdout) == 232
    every = pd.concat([result.train, result.holdout]).groupby(["group", "died"]).size()
    held = result.holdout.groupby(["group", "died"]).size().reindex(every.index, fill_value=0)
    # each group x outcome holds out round(0.3 * its rows), exactly (seeded, deterministic)
    assert (held == np.round(every * 0.3).astype(int)).all()
    assert set(result.holdout.columns) == set(result.train.columns) == {"group", "age", "died"}


def test_a_branch_is_the_run_with_its_seed_without_loading_again() -> None:
    table = _table()
    spec = _spec(stratify=["group", "died"], always=True)
    base = Pipeline(spec, table=table)
    base.run(until="prepare")
    branch = base.branch(seed=11).run(until="fit")
    spec.seed = 11
    fresh = Pipeline(spec, table=table).run(until="fit")
    assert fingerprint(branch.train) == fingerprint(fresh.train)
    assert fingerprint(branch.holdout) == fingerprint(fresh.holdout)
    drawn = branch.model.sample(50, seed=1)
    assert fingerprint(drawn) == fingerprint(fresh.model.sample(50, seed=1))
    assert branch.steps_run == ["load", "prepare", "split", "build", "fit"]
    # another seed: another split (the branch really uses its own seed)
    other = base.branch(seed=12).run(until="split")
    assert fingerprint(other.holdout) != fingerprint(branch.holdout)


def test_a_branch_cannot_change_what_was_prepared() -> None:
    base = Pipeline(_spec(), table=_table())
    with pytest.raises(HealthForgeError, match="needs step 'prepare'"):
        base.branch(seed=1)
    base.run(until="prepare")
    with pytest.raises(HealthForgeError, match="cannot change data"):
        base.branch(data=DataSpec(source="bundled:icu"))
