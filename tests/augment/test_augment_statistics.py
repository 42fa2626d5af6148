"""Issue #25 (3): unscored groups are named, intervals stay in the metric's range, and a
zero-width interval is explained."""

from __future__ import annotations

import numpy as np
import pandas as pd

from healthforge.augment import (
    AUROC_RANGE,
    DIFFERENCE_RANGE,
    SAME_DIFFERENCE,
    augment_experiment,
    mean_interval,
)
from healthforge.augment.statistics import _conclusion, _differences, _summarise, _unscored


def _table_with_a_two_row_group(seed: int = 0) -> pd.DataFrame:
    """Groups A (48 rows), B (20) and C (2: one death, one survivor). Stratified on group x
    outcome, each of C's strata has 1 row and round(0.3 * 1) = 0 of them is held out:
    C has 0 holdout rows in every repeat, by construction."""
    rng = np.random.default_rng(seed)
    group = np.array(["A"] * 48 + ["B"] * 20 + ["C"] * 2)
    age = rng.normal(60, 10, len(group)).round()
    died = (rng.random(len(group)) < 1 / (1 + np.exp(-(age - 60) / 5))).astype(int)
    died[-2:] = [0, 1]
    died[:4], died[48:52] = [0, 0, 1, 1], [0, 0, 1, 1]  # both outcomes in A and B
    return pd.DataFrame(
        {"group": group, "age": age, "sex": rng.choice(["F", "M"], len(group)), "died": died}
    ).assign(died=lambda d: d.died.map({0: "No", 1: "Yes"}))


def test_a_group_with_no_holdout_rows_is_named_as_unscored_not_folded_in() -> None:
    data = _table_with_a_two_row_group()
    result = augment_experiment(
        data, "group", "died", generator="independent", repeats=2, models=("logistic",)
    )
    assert result.added["C"] > 0  # C is the group given the most synthetic rows
    c = result.differences[result.differences.group == "C"]
    assert len(c) == 2 and (c["n"] == 0).all() and (c["verdict"] == "unclear").all()
    assert (
        "group=C: not scored in any of 2 repeats — 0 holdout rows; its effect is unknown"
        in result.conclusion
    )
    # the "did not help" / "helped" statement is about scored groups only
    first = result.conclusion.split(". ")[0]
    assert "group=C" not in first
    table = result.table
    assert table[table.group == "C"]["n"].eq(0).all()
    assert (table["low"].dropna() >= 0).all() and (table["high"].dropna() <= 1).all()


def test_interval_never_leaves_the_metric_range_on_extreme_inputs() -> None:
    # AUROCs near 1 with a large spread: the plain t-interval reaches above 1
    near_one = np.array([1.0, 1.0, 0.55, 1.0, 0.98])
    ci = mean_interval(near_one, AUROC_RANGE)
    assert ci.high == 1.0 and 0.0 <= ci.low <= ci.mean <= ci.high
    near_zero = mean_interval(np.array([0.0, 0.02, 0.6]), AUROC_RANGE)
    assert near_zero.low == 0.0 and near_zero.high <= 1.0
    diff = mean_interval(np.array([0.9, -0.95, 1.0]), DIFFERENCE_RANGE)
    assert diff.low == -1.0 and diff.high == 1.0
    rng = np.random.default_rng(1)
    for _ in range(300):
        n = int(rng.integers(2, 8))
        values = rng.choice([0.0, 0.5, 1.0], n) if rng.random() < 0.5 else rng.beta(0.3, 0.3, n)
        for bounds, x in ((AUROC_RANGE, values), (DIFFERENCE_RANGE, 2 * values - 1)):
            ci = mean_interval(x, bounds)
            assert bounds[0] <= ci.low <= ci.mean <= ci.high <= bounds[1]


def test_cut_interval_keeps_its_coverage_near_95_percent() -> None:
    """Cutting at the range must not cost coverage. 2,000 seeded samples of 5 AUROCs from
    Beta(12.7, 1.41) (mean 0.9); measured 0.91 (a percentile bootstrap over the 5
    repeats: 0.81). The binomial SE at 0.91 is 0.0064, so 0.88 is ~5 SE below: a
    correct interval fails this with probability < 1e-6, and the test is seeded."""
    rng = np.random.default_rng(0)
    truth, hits = 12.7 / (12.7 + 1.41), 0
    for _ in range(2_000):
        ci = mean_interval(rng.beta(12.7, 1.41, 5), AUROC_RANGE)
        hits += ci.low <= truth <= ci.high
    assert hits / 2_000 >= 0.88


def _scores(real: list[float], augmented: list[float], group: str = "C") -> pd.DataFrame:
    rows = []
    for arm, values in (("real", real), ("augmented", augmented), ("synthetic", real)):
        for r, v in enumerate(values):
            for g, value in ((group, v), ("overall", 0.7 + 0.01 * r + (arm == "augmented") * 0.01)):
                rows.append(
                    {"repeat": r, "model": "logistic", "arm": arm, "group": g, "auroc": value,
                     "holdout_rows": 5, "reason": None if np.isfinite(value) else "why"}
                )  # fmt: skip
    return pd.DataFrame(rows)


def test_a_zero_width_interval_is_explained() -> None:
    scores = _scores([1.0, 0.5, 1.0], [1.0, 0.5, 1.0])
    diffs = _differences(scores)
    row = diffs[(diffs.group == "C") & diffs.comparison.str.startswith("(b)")].iloc[0]
    assert row["low"] == row["high"] == 0.0
    assert row["interval_note"] == SAME_DIFFERENCE["augmented"]
    text = _conclusion(diffs, ["C"], "group", _unscored(scores), 3)
    assert "group=C: (b)-(a) = +0.000 with a zero-width interval, identical in every" in text
    same_auroc = _summarise(_scores([0.5, 0.5, 0.5], [0.5, 0.5, 0.5]))
    assert "the same AUROC in all 3 repeats" in same_auroc.interval_note.iloc[0]
    never = mean_interval(np.array([np.nan, np.nan]), AUROC_RANGE)
    assert never.n == 0 and never.note.startswith("not estimable: n = 0")
    assert mean_interval(np.array([0.7]), AUROC_RANGE).note.startswith("not estimable: n = 1")


def test_a_group_scored_in_some_repeats_only_is_said_so() -> None:
    scores = _scores([0.8, np.nan, 0.6], [0.9, np.nan, 0.7])
    diffs = _differences(scores)
    text = _conclusion(diffs, ["C"], "group", _unscored(scores), 3)
    assert "group=C: scored in only 2 of 3 repeats — why" in text
    assert "its effect is unknown" not in text  # 2 paired repeats give an interval
