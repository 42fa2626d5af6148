"""Augmentation experiment and fairness-aware generation on small, fast settings."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from healthforge.augment import (
    ARMS,
    OVERALL,
    SYNTHETIC_FLAG,
    augment_experiment,
    markdown_table,
    plan_counts,
    render_augment_report,
)
from healthforge.cli.app import app
from healthforge.data import load_table
from healthforge.errors import HealthForgeError
from healthforge.generators.composite.fair import FairGenerator

runner = CliRunner()


def test_plan_counts_per_strategy() -> None:
    groups = pd.Series(["a"] * 10 + ["b"] * 4 + ["c"] * 1 + [None])
    assert plan_counts(groups, "equal") == {"a": 0, "b": 6, "c": 9}
    assert plan_counts(groups, "proportional") == {"a": 0, "b": 4, "c": 1}
    assert plan_counts(groups, "to-size", 5) == {"a": 0, "b": 1, "c": 4}
    with pytest.raises(HealthForgeError, match="needs a positive size"):
        plan_counts(groups, "to-size")
    with pytest.raises(HealthForgeError, match="unknown strategy"):
        plan_counts(groups, "double")


def test_experiment_end_to_end_reports_every_arm_group_and_ci() -> None:
    icu = load_table("bundled:icu")
    result = augment_experiment(
        icu, "sex", "died", generator="bayesian_network", repeats=2, n_estimators=20
    )
    table = result.table
    assert set(table.arm) == set(ARMS) and set(table.model) == {"xgboost", "logistic"}
    assert set(table.group) == {OVERALL, "Female", "Male"}
    assert table["n"].max() == 2 and (table["low"] <= table["mean"]).all()
    diffs = result.differences
    assert set(diffs.comparison) == {"(b) - (a)", "(c) - (a)"}
    # each verdict is the one its interval implies
    implied = np.select(
        [~np.isfinite(diffs.low), diffs.low > 0, diffs.high < 0],
        ["unclear", "better", "worse"],
        "no measurable difference",
    )
    assert (diffs.verdict == implied).all()
    # a constructed case with known verdicts
    from healthforge.augment.statistics import _differences

    real = 0.7 + np.random.default_rng(0).normal(0, 0.01, 5)
    arms = {"real": real, "augmented": real + 0.1, "synthetic": real - 0.2}
    built = pd.DataFrame(
        [
            {"model": "m", "group": "g", "arm": arm, "repeat": r, "auroc": a}
            for arm, values in arms.items()
            for r, a in enumerate(values)
        ]
    )
    assert _differences(built).verdict.tolist() == ["better", "worse"]
    assert result.conclusion.startswith(("Augmentation did not help", "Augmentation helped"))
    # the kept dataset: all real rows plus rows that make the groups equal
    augmented = result.augmented
    assert (augmented[SYNTHETIC_FLAG] == 0).sum() == len(icu)
    assert augmented.sex.value_counts().nunique() == 1
    assert result.added == {"Female": 48, "Male": 0}
    json.dumps(result.summary(), allow_nan=False)
    markdown = markdown_table(result)
    assert markdown.count("\n") == 1 + 2 * 3 and "sex=Female" in markdown
    html = render_augment_report(result)
    assert "hf-augmentation" in html and "Conclusion" in html and "<script src" not in html


def test_bad_settings_fail_before_any_fitting() -> None:
    icu = load_table("bundled:icu")
    for kwargs, message in [
        ({"balance": "age"}, "must be a modelled column with categories"),
        ({"balance": "nope"}, "not in the data"),
        ({"repeats": 1}, "at least 2"),
        ({"generator": "magic"}, "unknown generator"),
        ({"strategy": "to-size"}, "needs a positive size"),
        ({"balance": "died"}, "must differ"),
    ]:
        settings = {"balance": "sex", "target": "died", **kwargs}
        with pytest.raises(HealthForgeError, match=message):
            augment_experiment(icu, **settings)


def test_augment_cli_writes_dataset_report_and_json(tmp_path: Path) -> None:
    out, report, summary = tmp_path / "aug.csv", tmp_path / "r.html", tmp_path / "r.json"
    args = ["augment", "bundled:icu", "--balance", "race", "--generator", "bayesian_network",
            "--strategy", "to-size", "--size", "40", "--repeats", "2",
            "--out", out, "--report", report, "--json", summary]  # fmt: skip
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    written = pd.read_csv(out)
    counts = written.race.value_counts()
    assert (counts >= 40).all() and written[SYNTHETIC_FLAG].sum() == sum(
        json.loads(summary.read_text())["added"].values()
    )
    data = json.loads(summary.read_text())
    assert data["settings"]["target"] == "died" and data["settings"]["repeats"] == 2
    assert {"model", "arm", "group", "mean", "low", "high"} <= set(data["table"][0])
    assert report.read_text().count("<script") >= 1
    bad = runner.invoke(app, ["augment", "bundled:icu", "--balance", "race", "--strategy",
                              "to-size", "--out", str(tmp_path / "x.csv"), "--report",
                              str(tmp_path / "x.html")])  # fmt: skip
    assert bad.exit_code == 2 and "needs --size" in bad.output


def test_fair_generator_keeps_groups_and_their_own_distributions() -> None:
    icu = load_table("bundled:icu")
    model = FairGenerator(base="bayesian_network", fair_by="service", seed=0).fit(icu)
    assert len(model.models_) == 2
    rows = model.sample(2_000, seed=1)
    share = (rows.service == "Surgical").mean()
    assert share == pytest.approx((icu.service == "Surgical").mean(), abs=0.04)
    balanced = FairGenerator(base="independent", fair_by="service", balance=True).fit(icu)
    assert (balanced.sample(2_000).service == "Surgical").mean() == pytest.approx(0.5, abs=0.04)
    # a group-specific pattern survives: age by service as in the real data
    real_gap = icu.groupby("service").age.mean().diff().iloc[-1]
    synth_gap = rows.groupby("service").age.mean().diff().iloc[-1]
    assert np.sign(real_gap) == np.sign(synth_gap)
    only_women = model.sample(50, conditions=["sex=Female"])
    assert (only_women.sex == "Female").all()
    with pytest.raises(HealthForgeError, match="needs categories"):
        FairGenerator(base="independent", fair_by="age").fit(icu)
    with pytest.raises(HealthForgeError, match="fewer than min_group_rows"):
        FairGenerator(base="independent", fair_by="race", min_group_rows=30).fit(icu)
