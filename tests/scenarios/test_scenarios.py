"""Scenarios: shipped presets, user YAML files, validation, running them end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from healthforge.cli.app import app
from healthforge.data import load_table
from healthforge.errors import HealthForgeError
from healthforge.scenarios import list_scenarios, load_scenario, run_scenario

runner = CliRunner()


def run(*args: object):
    return runner.invoke(app, [str(a) for a in args])


def test_shipped_scenarios_are_listed_documented_and_valid() -> None:
    scenarios = {s.name: s for s in list_scenarios()}
    assert {"diabetes", "diabetes_nhefs", "icu", "geriatric"} <= set(scenarios)
    for scenario in scenarios.values():
        assert scenario.title and scenario.description and scenario.conditions
        assert scenario.privacy == "none"
    assert scenarios["geriatric"].conditions == ["age_group=65+"]
    assert scenarios["diabetes"].dataset == "bundled:pima"
    assert scenarios["diabetes_nhefs"].conditions == ["diabetes=ever"]  # a value label


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name: x\n", "needs at least 'name' and 'dataset'"),
        ("name: x\ndataset: bundled:icu\ncolour: red\n", "unknown fields: colour"),
        ("name: x\ndataset: bundled:icu\nprivacy: maximal\n", "unknown privacy choice"),
        ("name: x\ndataset: bundled:icu\nrows: 0\n", "positive whole number"),
        ("name: x\ndataset: bundled:icu\nconditions: [age >>> 3]\n", "cannot read"),
        ("name: x\ndataset: bundled:icu\ngenerator: magic\n", "unknown generator"),
        ("name: x\ndataset: [unclosed\n", "not valid YAML"),
    ],
)
def test_bad_scenario_files_are_clear_errors(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(HealthForgeError, match=message):
        load_scenario(path)


def test_unknown_scenario_names_the_choices() -> None:
    with pytest.raises(HealthForgeError, match="no scenario called 'nope'") as info:
        load_scenario("nope")
    assert "geriatric" in (info.value.hint or "")


def test_privacy_choice_goes_through_the_privacy_presets(tmp_path: Path) -> None:
    path = tmp_path / "strict.yaml"
    path.write_text("name: s\ndataset: bundled:icu\nprivacy: strict\nconditions: [sex=Female]\n")
    with pytest.raises(HealthForgeError, match="privacy 'strict' needs public bounds"):
        run_scenario(load_scenario(path), rows=10)


def test_run_scenario_conditions_every_row_and_evaluates_the_subset() -> None:
    result = run_scenario("icu", rows=120, n_estimators=20)
    assert len(result.synthetic) == 120 and (result.synthetic.admit == "Emergency").all()
    assert (result.real_subset.admit == "Emergency").all()
    assert result.rows_real == 147 and result.share_real == pytest.approx(0.735)
    summary = result.evaluation.summary
    assert summary["rows_real"] == len(result.real_subset)
    assert summary["fidelity"]["column_similarity"] > 0.85


def test_user_scenario_file_through_the_cli(tmp_path: Path) -> None:
    path = tmp_path / "older_pima.yaml"
    path.write_text(
        "name: older_pima\ndataset: bundled:pima\ntarget: type\n"
        "conditions: ['age>=40', 'npreg in [1, 2, 3, 4, 5]']\ngenerator: bayesian_network\n"
        "rows: 80\n"
    )
    out, report, summary = tmp_path / "s.csv", tmp_path / "r.html", tmp_path / "r.json"
    result = run("scenario", "run", path, "--out", out, "--report", report, "--json", summary)
    assert result.exit_code == 0, result.output
    rows = pd.read_csv(out)
    assert len(rows) == 80 and (rows.age >= 40).all() and rows.npreg.between(1, 5).all()
    assert "<script src" not in report.read_text() and "hf-marginals" in report.read_text()
    assert json.loads(summary.read_text())["rows_synthetic"] == 80
    again = run("scenario", "run", path, "--out", out)
    assert again.exit_code == 2 and "exists" in again.output  # never overwrites silently


def test_scenario_list_and_show_commands() -> None:
    listed = run("scenario", "list")
    assert listed.exit_code == 0 and "geriatric" in listed.output
    shown = run("scenario", "show", "geriatric")
    assert shown.exit_code == 0 and "age_group=65+" in shown.output
    missing = run("scenario", "show", "nope")
    assert missing.exit_code == 2 and "no scenario called" in missing.output


def test_generate_conditions_on_bundled_derived_columns(tmp_path: Path) -> None:
    out = tmp_path / "south.csv"
    result = run(
        "generate", "bundled:nhefs", "-c", "region=South", "-c", "age_group=65+",
        "-n", 60, "-o", out, "--drop", "yrdth,modth,dadth",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = pd.read_csv(out)
    assert (rows.region == "South").all() and (rows.age_group == "65+").all()
    assert (rows.age >= 65).all()


def test_strict_privacy_runs_the_dp_generator_with_a_public_schema(tmp_path: Path) -> None:
    from healthforge.data import prepare

    # the test vouches for these bounds; a real user declares them from domain knowledge
    public = prepare(load_table("bundled:icu"), target="died").schema
    for column in public.columns:
        if not column.is_discrete:
            column.minimum, column.maximum = 0.0, 300.0
    public.save(tmp_path / "public.yaml")
    path = tmp_path / "strict.yaml"
    # DP noise is drawn from OS entropy unless seeded; at epsilon 1 on 200 rows the noisy
    # count of a category comes out 0 in about 1 fit in 10, and then no row can meet the
    # condition (a clear error, by design): seeded so the test does not flake
    path.write_text(
        "name: strict_icu\ndataset: bundled:icu\ntarget: died\nprivacy: strict\n"
        "generator: dp_copula\nschema: public.yaml\nconditions: [sex=Female]\nrows: 40\n"
        "params: {noise_seed: 3}\n"
    )
    result = run_scenario(load_scenario(path), n_estimators=10)
    assert len(result.synthetic) == 40 and (result.synthetic.sex == "Female").all()
    budget = result.evaluation.summary["privacy"]["dp_budget"]
    assert budget["epsilon"] <= 1.0
    assert any("privacy filter" in note for note in result.notes)
    # without the schema: one clear message, before any data is read
    path.write_text("name: s\ndataset: bundled:icu\nprivacy: strict\n")
    with pytest.raises(HealthForgeError, match="needs public bounds") as info:
        run_scenario(load_scenario(path), rows=10)
    assert "schema: FILE" in (info.value.hint or "")
    assert load_scenario(path).generator == "aim"  # the preset's DP generator by default


def test_shipped_scenarios_condition_with_value_labels() -> None:
    result = run_scenario("diabetes_nhefs", rows=30, n_estimators=10)
    assert result.scenario.conditions == ["diabetes=ever"]
    assert (result.synthetic.diabetes == 1).all()  # the label resolves to the code
