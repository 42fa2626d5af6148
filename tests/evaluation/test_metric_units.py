"""Single metrics against hand-computable answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import ks_2samp

from healthforge.data.schema import ColumnSchema
from healthforge.evaluation.features import UNSEEN, FeatureSpace, encode_codes
from healthforge.evaluation.fidelity import ks_statistic, validity
from healthforge.evaluation.models import binary_auc, harrell_c, macro_auroc
from healthforge.evaluation.privacy import count_matches, exact_match_rate, k_anonymity
from healthforge.evaluation.scoring import THRESHOLDS, score

COLUMNS = [
    ColumnSchema("age", "integer", minimum=18, maximum=90),
    ColumnSchema("sex", "categorical", dtype="str", categories=["F", "M"]),
]


def test_ks_matches_scipy():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=300), rng.normal(0.3, 1, size=200)
    assert ks_statistic(a, b) == pytest.approx(ks_2samp(a, b).statistic)


def test_harrell_c_matches_brute_force():
    rng = np.random.default_rng(1)
    time, event, risk = rng.exponential(size=60).round(1), rng.random(60) < 0.7, rng.normal(size=60)
    risk[:5] = risk[5]  # ties in risk count half
    num = den = 0.0
    for i in range(60):
        for j in range(60):
            if event[i] and time[i] < time[j]:
                den += 1
                num += 1.0 if risk[i] > risk[j] else 0.5 if risk[i] == risk[j] else 0.0
    assert harrell_c(time, event, risk, chunk=7) == pytest.approx(num / den)
    assert harrell_c(time, event, -time) == pytest.approx(1.0)


def test_auroc_helpers():
    assert binary_auc(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8])) == 0.75
    assert np.isnan(binary_auc(np.array([1, 1]), np.array([0.2, 0.3])))
    proba = np.eye(3)[[0, 1, 2, 2]]
    assert macro_auroc(np.array([0, 1, 2, 2]), proba) == 1.0


def test_features_unseen_category_is_the_zero_vector_and_missing_has_a_level():
    real = pd.DataFrame({"age": [20, 40, np.nan, 60], "sex": ["F", "M", "F", None]})
    space = FeatureSpace.fit(encode_codes(real, COLUMNS), COLUMNS)
    synth = pd.DataFrame({"age": [40, "oops"], "sex": ["X", None]})
    codes = encode_codes(synth, COLUMNS)
    assert codes[0, 1] == UNSEEN and np.isnan(codes[1, 1]) and np.isnan(codes[1, 0])
    m = space.matrix(codes)
    assert m.shape == (2, 2 + 3)  # age value + missing flag, sex F/M/missing
    assert np.all(m[0, space.groups[1]] == 0)  # unseen: "other", all zero
    assert m[1, space.groups[1][-1]] > 0  # missing level
    assert m[1, 1] == 1.0 and m[0, 0] == 0.0  # missing flag; age 40 is the median
    assert not np.isnan(m).any()


def test_validity_counts_rows_per_column():
    synth = pd.DataFrame({"age": [17, 30, 30.5, "x", None], "sex": ["F", "Q", "M", None, "M"]})
    out = validity(synth, COLUMNS)
    assert out["problems"] == {"age": 3, "sex": 1}
    assert out["invalid_rate"] == pytest.approx(4 / 5)  # rows 0-3


def test_exact_matches_treat_missing_alike():
    train = np.array([[1.0, np.nan], [2.0, 3.0]])
    synth = np.array([[1.0, np.nan], [2.0, 4.0], [2.0, 3.0], [1.0, 0.0]])
    assert exact_match_rate(train, synth) == 0.5


def test_predicates_and_k_anonymity():
    X = np.array([[1.0, 5.0], [2.0, 5.0], [3.0, np.nan]])
    cols = np.array([[0, 1], [0, 0], [1, 1]])
    ops = np.array([[3, 1], [2, 0], [4, 0]])  # >=, ==, <=, true, isna
    vals = np.array([[2.0, 5.0], [1.0, 0.0], [0.0, 0.0]])
    assert count_matches(X, cols, ops, vals).tolist() == [1, 1, 1]
    space = FeatureSpace.fit(
        encode_codes(pd.DataFrame({"age": [20, 30], "sex": ["F", "M"]}), COLUMNS), COLUMNS
    )
    synth = np.array([[0.0, 0]] * 6 + [[1.0, 1]])
    out = k_anonymity(space, np.array([[20.0, 0], [30.0, 1]]), synth * [50, 1], ["sex"])
    assert out == {
        "k_min": 1,
        "share_k_below_5": pytest.approx(1 / 7),
        "share_k_below_5_real": 1.0,  # two real rows, each unique
        "excess_share_k_below_5": 0.0,
    }


def test_scores_follow_the_threshold_table():
    summary = {"fidelity": {"detection_auc": 0.7}, "privacy": {"exact_match_rate": 0.0}}
    by_metric = {s["metric"]: s for s in score(summary)}
    assert by_metric["fidelity.detection_auc"]["status"] == "warn"
    assert by_metric["fidelity.detection_auc"]["threshold"] == "<= 0.60 pass, <= 0.80 warn"
    assert by_metric["privacy.exact_match_rate"]["status"] == "pass"
    assert len(by_metric) == 2  # metrics without a value are not scored
    assert len({t.metric for t in THRESHOLDS}) == len(THRESHOLDS)
