"""The leaderboard: ranks follow each metric's direction, trade-offs are said out loud."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from tests.evaluation.report_fixtures import make_result

from healthforge.errors import HealthForgeError
from healthforge.evaluation.compare import (
    compare,
    comparison_to_dict,
    write_comparison_json,
    write_comparison_report,
)


def _with(**values: float):
    """A fixture result with some headline scores replaced."""
    result = make_result(fairness=False)
    for row in result.summary["scores"]:
        key = row["metric"].split(".", 1)[1]
        if key in values:
            row["value"] = values[key]
    for section in ("fidelity", "utility", "privacy"):  # unscored metrics live here only
        for key, value in values.items():
            if key in result.summary[section]:
                result.summary[section][key] = value
    return result


def test_ranks_follow_direction_and_note_names_the_trade_off() -> None:
    results = {
        "faithful": _with(column_similarity=0.97, detection_auc=0.55, dcr_ratio=0.7),
        "private": _with(column_similarity=0.85, detection_auc=0.75, dcr_ratio=1.2),
    }
    board = compare(results)
    # lower detection AUC is better; higher column similarity and DCR ratio are better
    assert board.loc["faithful", "fidelity.detection_auc.rank"] == 1
    assert board.loc["private", "fidelity.detection_auc.rank"] == 2
    assert board.loc["faithful", "fidelity.column_similarity.rank"] == 1
    assert board.loc["private", "privacy.dcr_ratio.rank"] == 1
    note = board.attrs["note"]
    assert note.startswith("No single synthetic dataset is best on every metric")
    assert "faithful on Column similarity, Detection AUC" in note and "private on DCR ratio" in note
    # a metric nobody reports is not a column; pass/warn/fail are counted
    assert "privacy.dp_budget" not in board.columns
    assert board.loc["faithful", ["pass", "warn", "fail"]].tolist() == [2, 1, 1]


def test_a_clear_winner_is_named_and_sorted_first() -> None:
    board = compare(
        {
            "weak": _with(column_similarity=0.8, detection_auc=0.9, dcr_ratio=0.8, ratio=0.5),
            "strong": _with(column_similarity=0.95, detection_auc=0.6, dcr_ratio=1.1, ratio=0.9),
        }
    )
    assert list(board.index) == ["strong", "weak"]
    assert board.attrs["note"] == "strong is best on every headline metric that separates them."
    assert board.loc["strong", "mean_rank"] == 1.0


def test_missing_values_are_unranked_and_json_is_strict(tmp_path: Path) -> None:
    no_holdout = make_result(holdout=False, fairness=False)
    results = {"a": _with(), "b": no_holdout}
    board = compare(results)
    assert math.isnan(board.loc["b", "utility.ratio"])
    assert math.isnan(board.loc["b", "utility.ratio.rank"])
    data = comparison_to_dict(board, results)
    entry = next(e for e in data["leaderboard"] if e["name"] == "b")
    assert entry["values"]["utility.ratio"] is None and entry["ranks"]["utility.ratio"] is None
    path = write_comparison_json(board, results, tmp_path / "c.json")
    json.loads(path.read_text(encoding="utf-8"), parse_constant=pytest.fail)  # no NaN tokens


def test_comparison_report_is_self_contained(tmp_path: Path) -> None:
    results = {"a": _with(detection_auc=0.6), "b": _with(detection_auc=0.7)}
    path = write_comparison_report(compare(results), results, tmp_path / "c.html")
    text = path.read_text(encoding="utf-8")
    assert 'id="hf-comparison"' in text and "<script src" not in text
    assert "Detection AUC ↓" in text


def test_nothing_to_compare_is_a_user_error() -> None:
    with pytest.raises(HealthForgeError, match="nothing to compare"):
        compare({})


def test_aucs_below_chance_are_not_better_than_chance() -> None:
    # 0.45 and 0.50 are both an attacker guessing: they tie, ahead of 0.56
    board = compare(
        {
            "a": _with(mia_auc=0.45),
            "b": _with(mia_auc=0.50),
            "c": _with(mia_auc=0.56),
        }
    )
    assert board.loc["a", "privacy.mia_auc"] == 0.45  # the value itself is kept
    ranks = board["privacy.mia_auc.rank"]
    assert ranks["a"] == ranks["b"] == 1 and ranks["c"] == 3
