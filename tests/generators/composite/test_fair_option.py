"""`generate --fair-by`: fairness-aware generation (one generator per group) from the CLI."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from healthforge.cli.app import app


def run(*args: object):
    return CliRunner().invoke(app, [str(a) for a in args])


def test_generate_fair_by_fits_one_model_per_group(tmp_path: Path) -> None:
    out = tmp_path / "fair.csv"
    result = run("generate", "bundled:icu", "-g", "cart", "-n", 400, "-o", out, "--fair-by", "sex")
    assert result.exit_code == 0, result.output
    assert "one model per sex" in result.output
    rows = pd.read_csv(out)
    share = (rows.sex == "Female").mean()
    assert len(rows) == 400 and 0.28 < share < 0.48  # real share 76/200 = 0.38
    balanced = tmp_path / "balanced.csv"
    args = ["-n", "400", "-o", balanced, "--fair-by", "sex", "--fair-balance"]
    result = run("generate", "bundled:icu", "-g", "cart", *args, "-c", "age>=40")
    assert result.exit_code == 0, result.output
    rows = pd.read_csv(balanced)
    assert 0.4 < (rows.sex == "Female").mean() < 0.6 and (rows.age >= 40).all()


def test_generate_fair_by_refuses_what_it_cannot_do(tmp_path: Path) -> None:
    out = tmp_path / "x.csv"
    unknown = run("generate", "bundled:icu", "-g", "cart", "-o", out, "--fair-by", "nope")
    assert unknown.exit_code == 2 and "not a modelled column" in unknown.output
    dp = run("generate", "bundled:icu", "-g", "dp_copula", "-o", out, "--fair-by", "sex")
    assert dp.exit_code == 2 and "differentially private" in dp.output
    small = run("generate", "bundled:icu", "-g", "cart", "-o", out, "--fair-by", "race")
    assert small.exit_code == 2 and "min_group_rows" in small.output  # 10 'Other' rows
    assert not out.exists()  # never a partial output


def test_generate_fair_by_wraps_lm_only_without_epsilon(tmp_path: Path) -> None:
    """lm is private only with epsilon: --fair-by refuses it then, and only then."""
    out = tmp_path / "lm.csv"
    fast = ["--param", "epochs=1", "--param", "d_model=8", "--param", "n_heads=2"]
    fast += ["--param", "calibrate=false", "--param", "early_stopping=false"]
    args = ["generate", "bundled:icu", "-g", "lm", *fast, "-n", 60, "-o", out, "--fair-by", "sex"]
    private = run(*args, "--param", "epsilon=1")
    assert private.exit_code == 2 and "differentially private" in private.output
    assert not out.exists()
    result = run(*args)
    assert result.exit_code == 0, result.output
    assert "one model per sex" in result.output and len(pd.read_csv(out)) == 60
