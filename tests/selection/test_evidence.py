"""Reading the benchmark's results files, and the snapshot shipped for installs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from healthforge.selection import MetaFeatures, recommend
from healthforge.selection import evidence as evidence_module
from healthforge.selection.evidence import SNAPSHOT, load_evidence, snapshot_text

REPO_RESULTS = Path(__file__).resolve().parents[2] / "benchmarks" / "results"


@pytest.mark.skipif(not REPO_RESULTS.is_dir(), reason="no benchmarks/results checkout")
def test_shipped_snapshot_matches_the_results_files() -> None:
    current = snapshot_text(load_evidence(REPO_RESULTS))
    assert SNAPSHOT.read_text(encoding="utf-8") == current, (
        "benchmarks/results changed: refresh the shipped prior with "
        "`PYTHONPATH=src python benchmarks/selection_evidence.py`"
    )


def test_without_a_results_folder_the_snapshot_is_the_prior(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    meta = MetaFeatures(rows=1000, columns=20, share_categorical=0.5)
    monkeypatch.setattr(evidence_module, "default_results_dir", lambda: None)
    shipped = load_evidence()
    assert "snapshot" in shipped.where and len(shipped.runs) > 0
    if REPO_RESULTS.is_dir():
        from_files = recommend(meta, evidence=load_evidence(REPO_RESULTS), seed=2)
        from_snapshot = recommend(meta, evidence=shipped, seed=2)
        assert [(c.name, c.score) for c in from_files.ranked] == [
            (c.name, c.score) for c in from_snapshot.ranked
        ]


def test_json_lines_records_are_read(tmp_path: Path) -> None:
    lines = [
        {
            "dataset": "icu",
            "generator": "dpctgan",
            "epsilon_target": 1.0,
            "fit_s": 30.0,
            "utility_ratio": 0.95,
            "detection_auc": 0.99,
            "mia_auc": 0.6,
        },
        {"dataset": "icu", "generator": "not_ours", "utility_ratio": 1.0},
        {"something": "else"},
    ]
    (tmp_path / "runs.json").write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    evidence = load_evidence(tmp_path)
    assert [(r.generator, r.epsilon) for r in evidence.runs] == [("dpctgan", 1.0)]
    run = evidence.runs[0]
    assert run.reward.utility == pytest.approx(0.95)
    assert run.reward.fidelity == pytest.approx(0.02)
    assert run.reward.privacy == pytest.approx(0.8)  # 1 - 2 (0.6 - 0.5); no DCR measured
    assert evidence.datasets["icu"].rows == 200  # the bundled table's shape


def test_a_missing_results_folder_is_one_line(tmp_path: Path) -> None:
    from healthforge.errors import HealthForgeError

    with pytest.raises(HealthForgeError, match="no benchmark results folder"):
        load_evidence(tmp_path / "nowhere")
