"""The copy guard redraws copies of rare training rows and keeps common patterns (#20, 7)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from healthforge.generators import base, get_generator, load_model

# two-sided per-column false-positive rate of the missing-rate test (2 columns: <= 0.002)
ALPHA = 0.001


def _missing_heavy(n: int = 300, seed: int = 0) -> pd.DataFrame:
    """``(n, 5)`` with 40% missing in four columns: the rows where age and sbp are both
    missing share a handful of patterns, the others are mostly unique."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "age": rng.integers(20, 90, n).astype(float),
            "sbp": rng.integers(90, 180, n).astype(float),
            "sex": rng.choice(["F", "M"], n),
            "smoker": rng.choice(["yes", "no"], n),
            "died": rng.integers(0, 2, n),
        }
    )
    for name in ("age", "sbp", "sex", "smoker"):
        df.loc[rng.random(n) < 0.4, name] = np.nan
    return df


def test_missing_rates_are_kept() -> None:
    """``independent`` reproduces each column's missing share exactly in expectation, so
    without distortion the synthetic missing count is Binomial(n, real share). Redrawing
    every copy of a training row (the old guard) took age from 0.40 to about 0.30 here."""
    real = _missing_heavy()
    model = get_generator("independent", seed=0).fit(real, target="died")
    n = 1000  # detects a shift of about 0.05 in a share near 0.4 at ALPHA
    synthetic = model.sample(n, seed=1)
    assert model.sample_stats_["kept_common_matches"] > 0  # common patterns were drawn
    for name in ("age", "sbp"):
        p_real = real[name].isna().mean()
        missing = int(synthetic[name].isna().sum())
        p_value = stats.binomtest(missing, n, p_real).pvalue
        assert p_value > ALPHA, (name, p_real, missing / n)


def _coarse_with_unique_rows(seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """240 rows over 16 patterns (15 each) plus 4 unique rows with values no one else has."""
    rng = np.random.default_rng(seed)
    common = pd.DataFrame(
        {
            "age": np.repeat([40, 60], 120),
            "sex": np.tile(np.repeat(["F", "M"], 60), 2),
            "dx": np.tile(["a", "b"], 120),
            "died": np.tile(np.repeat([0, 1], 30), 4),
        }
    ).sample(frac=1.0, random_state=int(rng.integers(1000)))
    unique = pd.DataFrame(
        {"age": [95, 18, 77, 33], "sex": ["F", "M", "M", "F"], "dx": ["z", "y", "x", "w"]}
    ).assign(died=[1, 0, 1, 0])
    return pd.concat([common, unique], ignore_index=True), unique


def _matches(synthetic: pd.DataFrame, rows: pd.DataFrame) -> int:
    """How many synthetic rows equal one of ``rows`` on every column."""
    merged = synthetic.merge(rows.drop_duplicates(), how="left", indicator=True)
    return int((merged["_merge"] == "both").sum())


def test_rare_rows_are_never_copied_and_common_ones_are_kept(tmp_path) -> None:
    real, unique = _coarse_with_unique_rows()
    # leaves of one row: cart reproduces its training rows, the unique ones included
    model = get_generator("cart", min_samples_leaf=1, smoothing=False, seed=0)
    model.fit(real, target="died")
    synthetic = model.sample(2000, seed=3)
    stats_ = model.sample_stats_
    assert _matches(synthetic, unique) == 0
    assert stats_["rejected_copies"] > 0  # the guard did fire on rare rows
    common_rows = _matches(synthetic, real.iloc[: len(real) - len(unique)])
    assert common_rows > 0.9 * len(synthetic)  # cart copies the 16 patterns: all kept
    assert stats_["kept_common_matches"] == common_rows
    assert len(model.train_hashes_) == len(unique)  # hashes of the rare patterns only
    # a saved model carries the rare hashes only; it no longer knows the common patterns
    path = tmp_path / "m.hfm"
    model.save(str(path))
    loaded = load_model(path)
    assert np.array_equal(loaded.train_hashes_, model.train_hashes_)
    again = loaded.sample(2000, seed=3)
    pd.testing.assert_frame_equal(again, synthetic)
    assert loaded.sample_stats_["kept_common_matches"] is None
    assert loaded.sample_stats_["rejected_copies"] == stats_["rejected_copies"]


def test_rare_threshold_is_a_named_constant() -> None:
    """The documented k: a pattern held by one training row only is rare."""
    assert base.RARE_PATTERN_K == 2


def test_the_cli_note_names_both_counts() -> None:
    from healthforge.cli.generator_commands import _copy_note

    note = _copy_note({"rejected_copies": 4, "kept_common_matches": 120})
    assert "4 draws copying a unique training row were redrawn" in note
    assert "120 rows equal to a pattern shared by several training rows kept" in note
    assert _copy_note({"rejected_copies": 0, "kept_common_matches": None}) == ""
