"""Issue #25 (4): a detection AUC well below 0.5 means synthetic rows repeat training rows;
it must fail with that reading, not pass."""

from __future__ import annotations

import math

from healthforge.evaluation.report.sections import _scores_table
from healthforge.evaluation.scoring import COPYING, detection_floor, score


def _detection(summary: dict) -> dict:
    return next(s for s in score(summary) if s["metric"] == "fidelity.detection_auc")


def test_copied_training_rows_get_the_copying_verdict_not_pass(copy_result) -> None:
    entry = next(
        s for s in copy_result.summary["scores"] if s["metric"] == "fidelity.detection_auc"
    )
    assert entry["value"] < 0.3  # 2,250 copies of the training rows: measured 0.10
    assert entry["status"] == "fail" and entry["verdict"] == COPYING
    assert entry["lower_threshold"].startswith("< 0.45 fail: too close to the training rows")
    html = _scores_table(copy_result.summary["scores"])
    assert COPYING in html and "&lt; 0.45 fail" in html


def test_a_fresh_sample_still_passes(fresh_result) -> None:
    entry = next(
        s for s in fresh_result.summary["scores"] if s["metric"] == "fidelity.detection_auc"
    )
    assert entry["status"] == "pass" and entry["verdict"] is None


def test_floor_follows_the_noise_of_the_table_size() -> None:
    def summary(value: float, n: int) -> dict:
        return {"rows_real": n, "rows_synthetic": n, "fidelity": {"detection_auc": value}}

    # half of the synthetic rows copied (measured 0.33 on 2,250 rows) fails
    assert _detection(summary(0.33, 2_250))["verdict"] == COPYING
    # real held-out rows scored 0.47-0.48 on 750 rows per side: noise, not copying
    assert _detection(summary(0.47, 750))["status"] == "pass"
    # on 50 rows per side the null AUC's SE is 0.058: 0.40 is within 3 SE of 0.5
    assert math.isclose(detection_floor(summary(0.4, 50)), 0.5 - 3 * math.sqrt(101 / 30_000))
    assert _detection(summary(0.40, 50))["status"] == "pass"
    assert _detection(summary(0.30, 50))["verdict"] == COPYING
    # the upper side is unchanged
    assert _detection(summary(0.70, 2_250)) | {"lower_threshold": ""} == {
        "metric": "fidelity.detection_auc", "value": 0.70, "status": "warn",
        "threshold": "<= 0.60 pass, <= 0.80 warn", "higher_is_better": False,
        "verdict": None, "lower_threshold": "",
    }  # fmt: skip
