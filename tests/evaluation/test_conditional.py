"""Conditional fidelity: known answers on hand-built tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from healthforge.data.infer import infer_schema
from healthforge.errors import HealthForgeError
from healthforge.evaluation.conditional import (
    conditional_fidelity,
    standardised_mean_difference,
    total_variation,
)


def _real() -> pd.DataFrame:
    # 40 women aged 70 with x = 0, 1.5, ..., 58.5 and smoker yes for the first 10; 40 men
    # aged 40 with x = 150 + the same and smoker yes for all
    women = pd.DataFrame(
        {
            "sex": ["F"] * 40,
            "age": [70] * 40,
            "x": 1.5 * np.arange(40),
            "smoker": ["yes"] * 10 + ["no"] * 30,
        }
    )
    men = pd.DataFrame(
        {
            "sex": ["M"] * 40,
            "age": [40] * 40,
            "x": 150 + 1.5 * np.arange(40),
            "smoker": ["yes"] * 40,
        }
    )
    return pd.concat([women, men], ignore_index=True)


def test_smd_and_tvd_against_the_real_subgroup_only() -> None:
    real = _real()
    sd = float((1.5 * np.arange(40)).std(ddof=1))  # 17.5...
    # synthetic women: x shifted by one real-subgroup sd; half smokers
    synthetic = pd.DataFrame(
        {
            "sex": ["F"] * 20,
            "age": [70] * 20,
            "x": 3.0 * np.arange(20) + 0.75 + sd,  # mean 29.25 + sd
            "smoker": ["yes"] * 10 + ["no"] * 10,
        }
    )
    result = conditional_fidelity(real, synthetic, ["sex=F", "age>=65"])
    assert result.real_rows == 40
    assert result.synthetic_rows == 20
    assert result.synthetic_satisfying == 1.0
    # the subgroup's mean is 29.25; the whole table's (104.25) would give SMD ~ -2
    assert result.smd["x"] == pytest.approx(1.0)
    # real subgroup 25% smokers, synthetic 50%: TVD 0.25; sex identical: 0
    assert result.tvd["smoker"] == pytest.approx(0.25)
    assert result.tvd["sex"] == pytest.approx(0.0)
    assert result.tvd["age"] == pytest.approx(0.0)
    assert result.max_abs_smd == pytest.approx(1.0)
    assert result.max_smd_column == "x"
    assert result.mean_tvd == pytest.approx(0.25 / 3)  # sex, age, smoker
    assert not result.too_small


def test_rows_violating_a_condition_are_counted() -> None:
    real = _real()
    synthetic = real.iloc[[0, 1, 2, 50]].reset_index(drop=True)  # three women, one man
    result = conditional_fidelity(real, synthetic, {"sex": "F"})
    assert result.synthetic_satisfying == pytest.approx(0.75)
    assert result.tvd["sex"] == pytest.approx(0.25)


def test_labels_from_the_schema_resolve_coded_conditions() -> None:
    real = _real().assign(sex=lambda d: (d["sex"] == "F").astype(int))
    schema = infer_schema(real)
    schema["sex"].labels = {0: "male", 1: "female"}
    result = conditional_fidelity(real, real[real["sex"] == 1], ["sex=female"], schema)
    assert result.real_rows == 40
    assert result.max_abs_smd == pytest.approx(0.0)
    assert result.mean_tvd == pytest.approx(0.0)


def test_small_subgroup_is_flagged_or_refused() -> None:
    real = _real()
    synthetic = real.iloc[:5]
    flagged = conditional_fidelity(real, synthetic, ["x<10"], min_real_rows=20)
    assert flagged.real_rows == 7  # x = 0, 1.5, ..., 9
    assert flagged.too_small
    with pytest.raises(HealthForgeError, match="only 7 real rows"):
        conditional_fidelity(real, synthetic, ["x<10"], min_real_rows=20, strict=True)


def test_bad_input_is_a_one_line_error() -> None:
    real = _real()
    with pytest.raises(HealthForgeError, match="at least one condition"):
        conditional_fidelity(real, real, [])
    with pytest.raises(HealthForgeError, match="no rows"):
        conditional_fidelity(real, real.iloc[:0], ["sex=F"])
    with pytest.raises(HealthForgeError, match="no column 'sex'"):
        conditional_fidelity(real, real.drop(columns="sex"), ["sex=F"])
    with pytest.raises(HealthForgeError, match="unknown column"):
        conditional_fidelity(real, real, ["weight>3"])
    with pytest.raises(HealthForgeError, match="DataFrames"):
        conditional_fidelity(real.to_numpy(), real, ["sex=F"])  # type: ignore[arg-type]
    with pytest.raises(HealthForgeError, match="impossible condition") as caught:
        conditional_fidelity(real, real, ["sex=Q"])
    assert "\n" not in str(caught.value)


def test_helpers_edge_cases() -> None:
    assert np.isnan(standardised_mean_difference(np.array([1.0]), np.array([2.0])))
    assert standardised_mean_difference(np.array([3.0, 3.0]), np.array([4.0])) == np.inf
    assert standardised_mean_difference(np.array([0.0, 2.0, np.nan]), np.array([2.0])) == (
        pytest.approx(1 / np.sqrt(2))  # (2 - 1) / sd([0, 2])
    )
    # 1 and 1.0 are one level; missing is a level of its own
    assert total_variation(pd.Series([1, 1, 2]), pd.Series([1.0, 1.0, 2.0])) == 0.0
    assert total_variation(pd.Series(["a", None]), pd.Series(["a", "a"])) == pytest.approx(0.5)
