"""Shared evaluations of the constructed cases (computed once per session)."""

from __future__ import annotations

import pandas as pd
import pytest
from tests.evaluation.cases import FAST, make_patients

from healthforge.evaluation import evaluate, split_train_holdout


@pytest.fixture(scope="session")
def patients() -> dict[str, pd.DataFrame]:
    """Training and holdout rows of one population plus a fresh sample of the same size."""
    full = make_patients(3000, seed=1)
    train, holdout = split_train_holdout(full, target="died", holdout_fraction=0.25, seed=0)
    fresh = make_patients(len(train), seed=2)
    return {"train": train, "holdout": holdout, "fresh": fresh}


@pytest.fixture(scope="session")
def fresh_result(patients):
    return evaluate(
        patients["train"],
        patients["fresh"],
        patients["holdout"],
        target="died",
        fairness_by="sex",
        **FAST,
    )


@pytest.fixture(scope="session")
def copy_result(patients):
    return evaluate(
        patients["train"], patients["train"], patients["holdout"], target="died", **FAST
    )
