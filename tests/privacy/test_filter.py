"""The privacy filter's quasi-identifier rule counts uniqueness over all the real rows."""

from __future__ import annotations

import numpy as np
import pandas as pd

from healthforge.data.infer import infer_schema
from healthforge.privacy.filter import PrivacyFilter


def _real(seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train rows whose (age, sex) pairs each occur at least twice, and a holdout with
    one pair, (77, F), that occurs once there and never in train."""
    rng = np.random.default_rng(seed)
    age = np.repeat(np.arange(30, 70, 2), 6)  # 20 ages x 6 rows
    sex = np.tile(["F", "M"], len(age) // 2)  # each (age, sex) pair 3 times
    train = pd.DataFrame({"age": age, "sex": sex, "bp": np.round(rng.normal(130, 10, len(age)), 1)})
    holdout = pd.DataFrame(
        {"age": [40, 52, 77, 60], "sex": ["M", "F", "F", "M"], "bp": [128.0, 141.5, 133.2, 119.9]}
    )
    return train, holdout


def test_a_combination_unique_in_the_holdout_is_removed() -> None:
    """(77, F) singles out one real patient (of the holdout): a synthetic row with it goes."""
    train, holdout = _real()
    schema = infer_schema(pd.concat([train, holdout]))
    for name in ("age", "sex"):
        schema[name].role = "quasi_identifier"
    guard = PrivacyFilter(train, holdout, schema)
    # bp far from the holdout row's 133.2: not a copy of anyone, not too close to train
    synthetic = pd.DataFrame({"age": [77, 40], "sex": ["F", "M"], "bp": [190.0, 131.0]})
    kept, report = guard.apply(synthetic)
    assert report.removed_copies == report.removed_too_close == 0
    assert report.removed_unique_quasi_identifiers == 1
    assert kept["age"].tolist() == [40]  # the (40, M) row is common and stays


def test_a_combination_shared_across_train_and_holdout_is_kept() -> None:
    """Unique in train but also in the holdout: two real people share it, no one is singled out."""
    train, holdout = _real()
    train = pd.concat(
        [train, pd.DataFrame({"age": [77], "sex": ["F"], "bp": [150.0]})], ignore_index=True
    )
    schema = infer_schema(pd.concat([train, holdout]))
    for name in ("age", "sex"):
        schema[name].role = "quasi_identifier"
    guard = PrivacyFilter(train, holdout, schema)
    kept, report = guard.apply(pd.DataFrame({"age": [77], "sex": ["F"], "bp": [100.0]}))
    assert report.removed == 0 and len(kept) == 1
