"""`healthforge recommend` and `generate --generator auto`: output and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from healthforge.cli.app import app
from healthforge.generators import describe

runner = CliRunner()


@pytest.fixture(autouse=True)
def _own_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEALTHFORGE_SELECTION_DIR", str(tmp_path / "store"))


def test_recommend_prints_a_ranking_with_evidence() -> None:
    result = runner.invoke(app, ["recommend", "bundled:icu", "--priority", "privacy"])
    assert result.exit_code == 0, result.output
    assert "Bayesian selection with a benchmark prior" in result.output
    assert " 1. " in result.output and "runs" in result.output


def test_recommend_json_under_strict_lists_dp_generators_only() -> None:
    result = runner.invoke(app, ["recommend", "bundled:icu", "--privacy", "strict", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    names = [c["name"] for c in payload["ranked"]]
    assert names and all(describe(n).differential_privacy for n in names)
    assert payload["used_private_evaluation"] is False
    assert payload["meta"]["rows"] == 200


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["recommend", "bundled:icu", "--priority", "beauty"], "unknown priority 'beauty'"),
        (["recommend", "bundled:icu", "--privacy", "max"], "unknown privacy preset 'max'"),
        (["recommend", "missing.csv"], "does not exist"),
        (["recommend", "bundled:icu", "--target", "nope"], "nope"),
        (["recommend", "bundled:icu", "--time-budget", "-1"], "time budget"),
        (["recommend", "bundled:icu", "--time-budget", "0.0001"], "no generator"),
        (
            ["generate", "bundled:icu", "--generator", "auto", "--param", "a=1", "-o", "x.csv"],
            "--generator auto takes no --param",
        ),
    ],
)
def test_bad_input_is_one_line(args: list[str], message: str, tmp_path: Path) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert result.output.startswith("error:")


def test_generate_auto_names_its_pick_and_saves_the_concrete_generator(tmp_path: Path) -> None:
    spec_path = tmp_path / "spec.json"
    out = tmp_path / "out.csv"
    args = [
        "generate",
        "bundled:pima",
        "--generator",
        "auto",
        "--privacy",
        "none",
        "-o",
        str(out),
        "--save-spec",
        str(spec_path),
        "--seed",
        "0",
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "auto: picked" in result.output and "why:" in result.output
    picked = result.output.split("auto: picked ", 1)[1].split()[0]
    saved = json.loads(spec_path.read_text())
    assert saved["generator"]["name"] == picked != "auto"
    assert out.exists()
