"""The command line end to end: outputs, determinism, and one-line errors for bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tests.fixtures_data import make_messy
from typer.testing import CliRunner

from healthforge.cli.app import app

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, [str(a) for a in args])


def assert_clean_failure(result, message: str) -> None:
    """Exit code 2, the message on one 'error:' line, no traceback."""
    assert result.exit_code == 2, result.output
    text = result.output
    assert "Traceback" not in text
    assert result.exception is None or isinstance(result.exception, SystemExit)
    error_lines = [line for line in text.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1, text
    assert message in " ".join(text.split()), text


def test_generate_each_bundled_dataset_and_determinism(tmp_path: Path) -> None:
    for dataset in ("pima", "icu"):
        a, b = tmp_path / f"{dataset}_a.csv", tmp_path / f"{dataset}_b.csv"
        for out in (a, b):
            result = run("generate", f"bundled:{dataset}", "-n", 300, "-o", out, "--seed", 4)
            assert result.exit_code == 0, result.output
        assert a.read_bytes() == b.read_bytes()
        assert len(pd.read_csv(a)) == 300


def test_generate_user_csv_drops_identifiers_and_says_so(tmp_path: Path, messy_csv: Path) -> None:
    out = tmp_path / "syn.parquet"
    result = run("generate", messy_csv, "-g", "gaussian_copula", "-n", 250, "-o", out)
    assert result.exit_code == 0, result.output
    assert "direct identifiers" in result.output and "email" in result.output
    synthetic = pd.read_parquet(out)
    assert len(synthetic) == 250 and "email" not in synthetic.columns
    assert synthetic.region.isin(["North", "South", "East", "West"]).all()


def test_fit_then_sample_with_conditions_and_streaming(tmp_path: Path) -> None:
    model = tmp_path / "icu.hfm"
    assert run("fit", "bundled:icu", "--save", model, "--param", "max_parents=2").exit_code == 0
    out = tmp_path / "old_women.csv"
    result = run("sample", model, "-n", 120_000, "-o", out, "-c", "sex=Female", "-c", "age>=65")
    assert result.exit_code == 0, result.output
    rows = pd.read_csv(out)
    assert len(rows) == 120_000 and (rows.sex == "Female").all() and (rows.age >= 65).all()


def test_datasets_and_profile_commands(tmp_path: Path) -> None:
    listing = run("datasets", "list")
    assert listing.exit_code == 0 and "tissue_gene_expression" in listing.output
    shown = run("datasets", "show", "nhefs")
    assert shown.exit_code == 0 and "Hernán" in shown.output and "yrdth" in shown.output
    exported = tmp_path / "pima.csv"
    assert run("datasets", "export", "pima", exported).exit_code == 0
    assert pd.read_csv(exported).shape == (532, 8)
    schema_file = tmp_path / "schema.yaml"
    profiled = run("profile", exported, "--json", "--schema-out", schema_file, "--target", "type")
    assert profiled.exit_code == 0 and '"role": "target"' in profiled.output
    again = run("generate", exported, "--schema", schema_file, "-n", 50, "-o", tmp_path / "p.csv")
    assert again.exit_code == 0, again.output


BAD_INPUTS = {
    "missing file": (None, "does not exist"),
    "unreadable": ("garbage.parquet", "could not read"),
    "empty": ("empty.csv", "is empty"),
    "header only": ("header.csv", "header but no rows"),
    "duplicate columns": ("dupes.csv", "duplicate column names: a"),
    "entirely missing": ("allnan.csv", "entirely missing: blank"),
    "thousands of levels": ("codes.csv", "distinct values"),
    "mixed types": ("mixed.csv", "mixes numbers"),
    "unknown extension": ("data.sav", "unknown file type"),
}


def _write_bad(kind: str, folder: Path) -> Path:
    name, _ = BAD_INPUTS[kind]
    if name is None:
        return folder / "nowhere.csv"
    path = folder / name
    if kind == "unreadable":
        path.write_bytes(b"this is not parquet at all")
    elif kind == "empty":
        path.write_text("")
    elif kind == "header only":
        path.write_text("a,b,c\n")
    elif kind == "duplicate columns":
        path.write_text("a,b,a\n1,2,3\n4,5,6\n")
    elif kind == "entirely missing":
        pd.DataFrame({"x": range(30), "blank": [np.nan] * 30}).to_csv(path, index=False)
    elif kind == "thousands of levels":
        pd.DataFrame({"dx": [f"D{i:05d}x" for i in range(5000)], "y": 1}).to_csv(path, index=False)
    elif kind == "mixed types":
        pd.DataFrame({"lab": ["1.5", "2.0", "n.d.", "3.1"] * 10}).to_csv(path, index=False)
    else:
        path.write_text("a,b\n1,2\n")
    return path


@pytest.mark.parametrize("kind", list(BAD_INPUTS))
def test_bad_input_is_one_line_error_and_writes_nothing(kind: str, tmp_path: Path) -> None:
    data = _write_bad(kind, tmp_path)
    out = tmp_path / "out.csv"
    result = run("generate", data, "-o", out)
    assert_clean_failure(result, BAD_INPUTS[kind][1])
    assert not out.exists()
    assert not list(tmp_path.glob(".out.csv*"))  # no temporary leftovers


def test_bad_arguments(tmp_path: Path, messy_csv: Path) -> None:
    out = tmp_path / "out.csv"
    assert_clean_failure(run("generate", messy_csv, "-g", "magic", "-o", out), "unknown generator")
    assert_clean_failure(run("generate", messy_csv, "-n", 0, "-o", out), "--rows must be")
    assert_clean_failure(run("generate", messy_csv, "-o", tmp_path / "x.xlsx"), "cannot write")
    assert_clean_failure(
        run("generate", messy_csv, "-o", out, "-c", "age>=300"), "impossible condition"
    )
    schema = tmp_path / "schema.yaml"
    assert run("profile", messy_csv, "--schema-out", schema).exit_code == 0
    schema.write_text(schema.read_text().replace("- North", "- Nowhere"))
    assert_clean_failure(run("generate", messy_csv, "--schema", schema, "-o", out), "region")
    assert not out.exists()


def test_existing_output_is_kept_without_force(tmp_path: Path, messy_csv: Path) -> None:
    out = tmp_path / "keep.csv"
    out.write_text("precious\n")
    assert_clean_failure(run("generate", messy_csv, "-o", out), "already exists")
    assert out.read_text() == "precious\n"
    assert run("generate", messy_csv, "-o", out, "--force", "-n", 20).exit_code == 0
    assert len(pd.read_csv(out)) == 20


def test_constant_column_is_kept_constant(tmp_path: Path) -> None:
    data = tmp_path / "const.csv"
    frame = make_messy(200).assign(site="Leeds")[["age", "sex", "bmi", "site"]]
    frame.to_csv(data, index=False)
    out = tmp_path / "out.csv"
    assert run("generate", data, "-o", out, "-n", 100).exit_code == 0
    assert (pd.read_csv(out).site == "Leeds").all()


def test_debug_flag_shows_traceback(tmp_path: Path) -> None:
    result = runner.invoke(app, ["--debug", "generate", str(tmp_path / "none.csv"), "-o", "x.csv"])
    assert result.exit_code != 0 and result.exception is not None
    assert not isinstance(result.exception, SystemExit)


def test_generate_evaluate_holds_out_rows_and_writes_report(tmp_path: Path) -> None:
    out, report, summary = tmp_path / "s.csv", tmp_path / "r.html", tmp_path / "r.json"
    result = run(
        "generate",
        "bundled:pima",
        "-g",
        "bayesian_network",
        "-o",
        out,
        "--target",
        "type",
        "--report",
        report,
        "--json",
        summary,
    )
    assert result.exit_code == 0, result.output
    import json

    data = json.loads(summary.read_text())
    assert data["rows_holdout"] == 106 and data["rows_real"] == 426  # 80/20, stratified
    assert len(pd.read_csv(out)) == 426
    assert data["utility"]["ratio"] is not None and data["privacy"]["dcr_ratio"] is not None
    assert "<html" in report.read_text()[:500].lower()
    assert_clean_failure(
        run("generate", "bundled:pima", "-o", tmp_path / "t.csv", "--report", tmp_path / "r.txt"),
        "should end in .html",
    )


def test_bundled_dataset_brings_its_outcome_as_target(tmp_path: Path) -> None:
    import json

    summary = tmp_path / "s.json"
    result = run("generate", "bundled:pima", "-o", tmp_path / "s.csv", "--json", summary)
    assert result.exit_code == 0, result.output
    data = json.loads(summary.read_text())
    assert data["settings"]["target"] == "type" and data["utility"]["ratio"] is not None
    profiled = run("profile", "bundled:icu", "--json")
    assert '"role": "target"' in profiled.output


def test_privacy_filter_keeps_the_conditions(tmp_path: Path) -> None:
    out = tmp_path / "f.csv"
    result = run(
        "generate", "bundled:icu", "-o", out, "-n", 150, "--privacy", "standard", "-c", "sex=Female"
    )
    assert result.exit_code == 0, result.output
    rows = pd.read_csv(out)
    assert len(rows) == 150 and (rows.sex == "Female").all()


def test_param_values_read_shell_spellings_of_booleans_and_none() -> None:
    from healthforge.cli.generator_commands import parse_params

    params = parse_params(["exact_rules=false", "early_stopping=True", "threads=none", "lr=1e-3"])
    assert params == {"exact_rules": False, "early_stopping": True, "threads": None, "lr": 1e-3}
    assert parse_params(["device=cpu"]) == {"device": "cpu"}
