"""`healthforge evaluate` and `healthforge compare`: outputs, notices and clean failures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from tests.evaluation.report_fixtures import make_result, make_tables
from typer.testing import CliRunner

import healthforge.evaluation
from healthforge.cli.app import app

runner = CliRunner()


def run(*args: Any):
    return runner.invoke(app, [str(a) for a in args])


def assert_clean_failure(result, message: str) -> None:
    """Exit code 2, one 'error:' line carrying the message, no traceback."""
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.output
    assert message in " ".join(result.output.split()), result.output


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    real, synthetic, holdout = make_tables()
    paths = {}
    for name, frame in (("real", real), ("synth", synthetic), ("holdout", holdout)):
        paths[name] = tmp_path / f"{name}.csv"
        frame.to_csv(paths[name], index=False)
    return paths


@pytest.fixture
def fake_engine(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Replace the metric engine with the contract fixture; record every call."""
    calls: list[dict[str, Any]] = []

    def fake_evaluate(real: pd.DataFrame, synthetic: pd.DataFrame, **kwargs: Any):
        calls.append({"real": real, "synthetic": synthetic, **kwargs})
        result = make_result(holdout=kwargs.get("holdout") is not None, fairness=False)
        # distinguish datasets so a leaderboard has something to rank
        result.summary["scores"][1]["value"] = 0.5 + 0.1 * len(calls)
        return result

    monkeypatch.setattr(healthforge.evaluation, "evaluate", fake_evaluate, raising=False)
    return calls


def test_missing_file_is_one_line_exit_2(files: dict[str, Path], tmp_path: Path) -> None:
    result = run("evaluate", tmp_path / "nope.csv", files["synth"])
    assert_clean_failure(result, "nope.csv' does not exist")
    result = run("evaluate", files["real"], files["synth"], "--holdout", tmp_path / "gone.csv")
    assert_clean_failure(result, "gone.csv' does not exist")


def test_existing_outputs_are_refused_before_any_work(
    files: dict[str, Path], tmp_path: Path, fake_engine: list
) -> None:
    report = tmp_path / "report.html"
    report.write_text("keep me", encoding="utf-8")
    result = run("evaluate", files["real"], files["synth"], "--report", report)
    assert_clean_failure(result, "report.html' already exists")
    assert report.read_text(encoding="utf-8") == "keep me"
    assert fake_engine == []  # nothing was computed
    # checked even before the inputs are read: a missing input is not what is reported
    result = run("evaluate", tmp_path / "nope.csv", files["synth"], "--report", report)
    assert_clean_failure(result, "already exists")
    summary = tmp_path / "summary.json"
    summary.write_text("{}", encoding="utf-8")
    result = run("compare", files["real"], files["synth"], files["synth"],
                 "--holdout", files["holdout"], "--json", summary)  # fmt: skip
    assert_clean_failure(result, "summary.json' already exists")
    assert summary.read_text(encoding="utf-8") == "{}" and fake_engine == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--task", "clustering"), "unknown task 'clustering'"),
        (("--target", "not_a_column"), "--target column 'not_a_column' is not in the real data"),
        (("--fairness-by", "race"), "--fairness-by column 'race' is not in the real data"),
        (("--report", "out.pdf"), "should end in .html"),
        (("--json", "out.txt"), "should end in .json"),
        (("--report", "missing_dir/r.html"), "does not exist"),
    ],
)
def test_bad_options_fail_cleanly(
    files: dict[str, Path], fake_engine: list, args: tuple[str, ...], message: str
) -> None:
    assert_clean_failure(run("evaluate", files["real"], files["synth"], *args), message)
    assert fake_engine == []


def test_evaluate_without_holdout_says_what_is_skipped(
    files: dict[str, Path], tmp_path: Path, fake_engine: list
) -> None:
    report, summary = tmp_path / "r.html", tmp_path / "s.json"
    result = run("evaluate", files["real"], files["synth"], "--report", report, "--json", summary,
                 "--target", "death", "--seed", 7)  # fmt: skip
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "no --holdout given" in text and "never saw" in text
    assert "skipped without a holdout: utility.tstr, privacy.dcr_ratio" in text
    assert f"report: {report}" in text
    call = fake_engine[0]
    assert call["holdout"] is None and call["target"] == "death" and call["seed"] == 7
    assert len(call["real"]) == 800 and len(call["synthetic"]) == 800
    assert json.loads(summary.read_text(encoding="utf-8"))["settings"]["holdout_given"] is False
    html = report.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and 'id="hf-marginals"' in html


def test_evaluate_prints_statuses_and_force_overwrites(
    files: dict[str, Path], tmp_path: Path, fake_engine: list
) -> None:
    report = tmp_path / "r.html"
    report.write_text("old", encoding="utf-8")
    result = run("evaluate", files["real"], files["synth"], "--holdout", files["holdout"],
                 "--report", report, "--force")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "no --holdout" not in result.output
    for word in ("pass", "warn", "fail", "Detection AUC", "TSTR ÷ TRTR"):
        assert word in result.output
    assert fake_engine[0]["holdout"] is not None
    assert report.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_compare_writes_a_leaderboard(
    files: dict[str, Path], tmp_path: Path, fake_engine: list
) -> None:
    second = tmp_path / "other" / "synth.csv"
    second.parent.mkdir()
    second.write_bytes(files["synth"].read_bytes())
    report, board = tmp_path / "cmp.html", tmp_path / "cmp.json"
    result = run("compare", files["real"], files["synth"], second, "--holdout", files["holdout"],
                 "--report", report, "--json", board)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert len(fake_engine) == 2
    data = json.loads(board.read_text(encoding="utf-8"))
    names = [entry["name"] for entry in data["leaderboard"]]
    assert sorted(names) == sorted([f"{tmp_path.name}/synth", "other/synth"])
    # lower detection AUC ranks first: the first file evaluated got 0.6, the second 0.7
    assert data["leaderboard"][0]["values"]["fidelity.detection_auc"] == pytest.approx(0.6)
    assert data["leaderboard"][0]["ranks"]["fidelity.detection_auc"] == 1
    assert set(data["results"]) == set(names)
    html = report.read_text(encoding="utf-8")
    assert 'id="hf-comparison"' in html and "Leaderboard" in html


def test_compare_needs_two_synthetic_files_and_a_holdout(files: dict[str, Path]) -> None:
    result = run("compare", files["real"], files["synth"], "--holdout", files["holdout"])
    assert_clean_failure(result, "at least two synthetic files")
    result = run("compare", files["real"], files["synth"], files["synth"])
    assert result.exit_code == 2 and "--holdout" in result.output


def test_real_engine_end_to_end(files: dict[str, Path], tmp_path: Path) -> None:
    """With the actual metric engine: contract keys in the JSON, every plot in the report."""
    pytest.importorskip("healthforge.evaluation.evaluate")
    report, summary = tmp_path / "r.html", tmp_path / "s.json"
    result = run("evaluate", files["real"], files["synth"], "--holdout", files["holdout"],
                 "--target", "death", "--fairness-by", "sex", "--report", report,
                 "--json", summary)  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(summary.read_text(encoding="utf-8"))
    for key in ("fidelity", "utility", "privacy", "fairness", "scores", "skipped", "settings"):
        assert key in data
    assert data["settings"]["holdout_given"] is True and data["fairness"]["by"] == "sex"
    html = report.read_text(encoding="utf-8")
    for div in ("hf-marginals", "hf-correlation", "hf-utility", "hf-dcr", "hf-fairness"):
        assert f'id="{div}"' in html, div
    for score in data["scores"]:
        assert score["metric"] in html


def test_compare_names_drop_a_shared_prefix() -> None:
    from healthforge.cli.evaluation_commands import _names

    assert _names(["out/syn_cart.csv", "out/syn_ctgan.parquet"]) == ["cart", "ctgan"]
    assert _names(["a/synth.csv", "b/synth.csv"]) == ["a/synth", "b/synth"]
    assert _names(["bundled:nhefs", "x.csv"]) == ["nhefs", "x"]


def test_bundled_real_data_brings_its_default_target(
    tmp_path: Path, fake_engine: list[dict[str, Any]]
) -> None:
    from healthforge.data import load_table

    icu = load_table("bundled:icu")
    for name in ("a", "b"):
        icu.sample(50, random_state=len(name)).to_csv(tmp_path / f"{name}.csv", index=False)
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    result = run("evaluate", "bundled:icu", a, "--holdout", b)
    assert result.exit_code == 0, result.output
    assert fake_engine[-1]["target"] == "died" and "target: 'died'" in result.output
    result = run("compare", "bundled:icu", a, b, "--holdout", b)
    assert result.exit_code == 0, result.output
    assert [call["target"] for call in fake_engine[-2:]] == ["died", "died"]
    result = run("evaluate", "bundled:icu", a, "--target", "sex")  # an explicit choice wins
    assert result.exit_code == 0, result.output
    assert fake_engine[-1]["target"] == "sex"
    result = run("evaluate", a, b)  # a file has no default outcome
    assert result.exit_code == 0, result.output
    assert fake_engine[-1]["target"] is None
