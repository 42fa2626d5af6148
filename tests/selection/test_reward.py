"""Rewards from the evaluation's figures, and priorities from names."""

from __future__ import annotations

import pytest

from healthforge.errors import HealthForgeError
from healthforge.selection import Priorities, Reward


def test_detection_far_below_half_is_copying_not_fidelity() -> None:
    fine = Reward.from_metrics({"detection_auc": 0.55}, training_rows=1000)
    near = Reward.from_metrics({"detection_auc": 0.46}, training_rows=1000)
    copying = Reward.from_metrics({"detection_auc": 0.40}, training_rows=1000)
    assert fine.fidelity == pytest.approx(0.9)
    assert near.fidelity == pytest.approx(0.92)  # within sampling noise of 0.5
    assert copying.fidelity == 0.0  # the evaluation fails it: possible copying
    # on 100 rows per side 0.40 is still sampling noise (floor 0.5 - 3 SE)
    assert Reward.from_metrics({"detection_auc": 0.40}, training_rows=100).fidelity > 0.7


def test_reward_from_an_evaluation_summary_uses_its_table_size() -> None:
    summary = {
        "rows_real": 80,
        "rows_synthetic": 80,
        "fidelity": {"detection_auc": 0.38},
        "utility": {"ratio": 1.3},
        "privacy": {"mia_auc": 0.7, "dcr_ratio": 0.5, "exact_match_rate": 0.1},
    }
    reward = Reward.from_evaluation(summary, fit_seconds=2.0)
    assert reward.fidelity == pytest.approx(0.76)  # 80 rows: 0.38 is above the floor
    assert reward.utility == 1.0  # capped
    assert reward.privacy == pytest.approx((0.6 + 0.5) / 2 * 0.9)
    assert reward.fit_seconds == 2.0


def test_priorities_from_names() -> None:
    assert Priorities.from_names(["privacy"]).privacy == 3 * Priorities.from_names([]).utility
    assert Priorities.from_names(None) == Priorities()
    with pytest.raises(HealthForgeError, match="unknown priority"):
        Priorities.from_names(["beauty"])
    with pytest.raises(HealthForgeError, match="time budget"):
        Priorities(time_budget_s=0)
