"""Issue #25 / #22: the membership-inference verdict accounts for the attack's noise.

A null generator (synthetic rows drawn independently of the training rows) must not
fail, nor even warn on evidence, more often than the interval's alpha; a copying
generator must still fail where the attack has the rows to see it, and at ICU size
must never pass (the interval is too wide: "inconclusive") while the copy checks fail.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import binom

from healthforge.evaluation import privacy
from healthforge.evaluation.report.sections import _scores_table
from healthforge.evaluation.scoring import INCONCLUSIVE, score

REPS = 200
ALPHA = 0.025  # one-sided: the lower bound of a two-sided 95% interval


def _mia(auc: float, ci: list[float]) -> dict:
    summary = {"privacy": {"mia_auc": auc, "mia_auc_ci": ci}}
    return next(e for e in score(summary) if e["metric"] == "privacy.mia_auc")


def _gaussian(n: int, rng: np.random.Generator, p: int = 6) -> np.ndarray:
    mix = np.eye(p) + 0.5
    return rng.normal(size=(n, p)) @ mix


def _verdict(train: np.ndarray, synth: np.ndarray, holdout: np.ndarray, seed: int) -> dict:
    mia = privacy.domias_auc(train, synth, holdout, np.random.default_rng([seed, 5]))
    return _mia(mia["auc"], mia["ci"]) | {"auc": mia["auc"]}


def test_interval_is_hanley_mcneil_and_the_mann_whitney_null_at_half() -> None:
    out = privacy.auc_interval(0.5, 160, 20)
    assert math.isclose(out["se"], math.sqrt(181 / (12 * 160 * 20)))
    assert out["ci"] == pytest.approx([0.5 - 1.96 * out["se"], 0.5 + 1.96 * out["se"]])
    assert privacy.auc_interval(1.0, 50, 50)["ci"][1] == 1.0  # clipped


@pytest.mark.parametrize("n_train,n_holdout", [(160, 40), (600, 200)])
def test_null_generator_fails_no_more_often_than_alpha(n_train: int, n_holdout: int) -> None:
    """Synthetic rows independent of the training rows: member and non-member scores are
    exchangeable, so a status worse than pass on evidence (lower bound above 0.55) has
    probability at most ALPHA; the count over REPS seeds stays under a 99.9% binomial bound."""
    flagged = fails = 0
    for seed in range(REPS):
        rng = np.random.default_rng(seed)
        train, holdout = _gaussian(n_train, rng), _gaussian(n_holdout, rng)
        v = _verdict(train, _gaussian(n_train, rng), holdout, seed)
        flagged += v["verdict"] is None and v["status"] != "pass"
        fails += v["status"] == "fail"
    bound = binom.ppf(0.999, REPS, ALPHA)
    assert flagged <= bound, (flagged, bound)
    assert fails <= bound


def test_copying_generator_fails_when_the_attack_has_rows() -> None:
    """Half the synthetic rows are training rows: the interval clears 0.60."""
    fails = 0
    for seed in range(10):
        rng = np.random.default_rng(100 + seed)
        train, holdout = _gaussian(1000, rng), _gaussian(400, rng)
        synth = np.vstack([train[:500], _gaussian(500, rng)])
        fails += _verdict(train, synth, holdout, seed)["status"] == "fail"
    assert fails >= 9


def test_copy_at_icu_size_is_never_a_pass() -> None:
    """160 training rows, 40 holdout rows, synthetic = the training rows: the attack sees
    20 non-members only, so it cannot prove much, but it must not call the copy a pass."""
    statuses = []
    for seed in range(20):
        rng = np.random.default_rng(300 + seed)
        train, holdout = _gaussian(160, rng), _gaussian(40, rng)
        statuses.append(_verdict(train, train.copy(), holdout, seed)["status"])
    assert "pass" not in statuses and statuses.count("fail") >= 10


def test_statuses_read_off_the_interval() -> None:
    # ICU-sized noise: 0.68 with a wide interval is inconclusive, not a leak
    wide = _mia(0.68, [0.55, 0.81])
    assert wide["status"] == "warn" and wide["verdict"] == INCONCLUSIVE
    assert wide["interval"] == [0.55, 0.81]
    assert _mia(0.52, [0.40, 0.64])["verdict"] == INCONCLUSIVE
    # narrow intervals: the lower bound decides
    assert _mia(0.52, [0.49, 0.55])["status"] == "pass"
    assert _mia(0.60, [0.57, 0.63]) | {"interval": None} == {
        "metric": "privacy.mia_auc", "value": 0.60, "status": "warn",
        "threshold": "<= 0.55 pass, <= 0.60 warn, judged on the lower bound of the 95% interval",
        "higher_is_better": False, "verdict": None, "interval": None,
    }  # fmt: skip
    assert _mia(0.75, [0.65, 0.85])["status"] == "fail"
    # without an interval (older summaries) the point estimate is judged as before
    old = next(e for e in score({"privacy": {"mia_auc": 0.65}}) if e["metric"].endswith("mia_auc"))
    assert old["status"] == "fail" and "interval" not in old


def test_report_shows_the_interval() -> None:
    html = _scores_table([_mia(0.68, [0.55, 0.81])])
    assert "95% CI 0.55" in html and INCONCLUSIVE in html


def test_a_copy_of_icu_fails_privacy_even_where_the_attack_cannot_tell() -> None:
    """On ICU (160 training, 40 held-out rows) the DOMIAS attack is weak even against a
    full copy (measured 6/20 splits fail, none pass): the copy checks must fail it."""
    from tests.evaluation.cases import FAST

    from healthforge.data.bundled import get_dataset
    from healthforge.evaluation import evaluate, split_train_holdout

    df = get_dataset("icu").load()
    train, holdout = split_train_holdout(df, "died", 0.2, seed=0)
    result = evaluate(train, train.copy(), holdout, target="died", **FAST)
    assert result.status("privacy.mia_auc") in {"warn", "fail"}
    for metric in ("exact_match_rate", "dcr_ratio", "dcr_share_below_holdout_p5"):
        assert result.status(f"privacy.{metric}") == "fail", metric
