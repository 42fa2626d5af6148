"""Issue #25 (3): the README's `healthforge augment DATA --balance race --target death`
runs as printed, writes to a default folder, and never overwrites without --force."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from healthforge.cli.app import app
from healthforge.cli.scenario_commands import augment_outputs

runner = CliRunner()


def _tiny_table(path: Path) -> Path:
    rng = np.random.default_rng(3)
    race = np.array(["White"] * 45 + ["Black"] * 15)
    age = rng.normal(60, 10, len(race)).round()
    death = (rng.random(len(race)) < 1 / (1 + np.exp(-(age - 60) / 6))).astype(int)
    death[:2], death[45:49] = [0, 1], [0, 0, 1, 1]
    pd.DataFrame({"race": race, "age": age, "death": death}).to_csv(path, index=False)
    return path


def test_readme_augment_command_runs_without_out_or_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = _tiny_table(tmp_path / "tiny.csv")
    monkeypatch.chdir(tmp_path)
    command = ["augment", str(data), "--balance", "race", "--target", "death"]
    result = runner.invoke(app, [*command, "--repeats", "2", "--generator", "independent"])
    assert result.exit_code == 0, result.output
    written = pd.read_csv(tmp_path / "augment-output" / "augmented.csv")
    assert written.race.value_counts().to_dict() == {"White": 45, "Black": 45}
    report = tmp_path / "augment-output" / "report.html"
    assert "Conclusion" in report.read_text()
    assert "augment-output/augmented.csv" in " ".join(result.output.split())
    # a second run keeps the first run's files: a one-line error, exit 2, nothing replaced
    before = report.stat().st_mtime_ns
    again = runner.invoke(app, command)
    assert again.exit_code == 2, again.output
    errors = [line for line in again.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "already exists" in errors[0]
    assert report.stat().st_mtime_ns == before


def test_a_missing_output_goes_next_to_the_given_one(tmp_path: Path) -> None:
    out, report = tmp_path / "aug.csv", tmp_path / "r.html"
    assert augment_outputs(out, None) == (out, tmp_path / "aug-report.html", None)
    assert augment_outputs(None, report) == (tmp_path / "r-augmented.csv", report, None)
    assert augment_outputs(out, report) == (out, report, None)
    default = augment_outputs(None, None)
    assert default[2] == Path("augment-output") and default[0].parent == default[2]
