"""The protocol around the metrics: contract keys, skips, errors, odd inputs, tasks."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from tests.evaluation.cases import FAST, make_patients

from healthforge.data import load_table
from healthforge.errors import HealthForgeError
from healthforge.evaluation import evaluate, split_train_holdout
from healthforge.evaluation.common import NEEDS_HOLDOUT

TOP_KEYS = {
    "healthforge_version", "versions", "settings", "rows_real", "rows_synthetic",
    "rows_holdout", "fidelity", "utility", "privacy", "fairness", "scores", "skipped",
}  # fmt: skip
FIDELITY_KEYS = {
    "column_similarity", "columns", "pair_similarity", "pmse", "detection_auc",
    "alpha_precision", "beta_recall", "authenticity", "validity",
}  # fmt: skip
PRIVACY_KEYS = {
    "exact_match_rate", "dcr_ratio", "dcr_share_below_holdout_p5", "nndr_ratio", "mia_auc",
    "mia_auc_ci", "singling_out_risk", "linkability_risk", "inference_risk", "k_anonymity",
    "dp_budget",
}  # fmt: skip


def null_paths(node, path=""):
    if isinstance(node, dict):
        for key, value in node.items():
            yield from null_paths(value, f"{path}.{key}" if path else key)
    elif node is None:
        yield path


def explained(summary, path):
    return any(
        path == e["metric"] or path.startswith(e["metric"] + ".") for e in summary["skipped"]
    )


def test_summary_has_the_contract_keys_and_is_json(fresh_result, tmp_path):
    s = fresh_result.summary
    assert set(s) == TOP_KEYS
    assert set(s["versions"]) == {"python", "numpy", "pandas", "scikit-learn", "xgboost"}
    assert set(s["settings"]) == {
        "target", "task", "fairness_by", "seed", "holdout_given", "time_column",
    }  # fmt: skip
    assert set(s["fidelity"]) == FIDELITY_KEYS
    assert set(s["fidelity"]["validity"]) == {"invalid_rate", "problems"}
    assert {c["metric"] for c in s["fidelity"]["columns"].values()} == {"ks", "tv"}
    assert set(s["utility"]) == {
        "metric", "trtr", "tstr", "ratio", "models", "importance_rank_agreement",
    }  # fmt: skip
    assert {"trtr", "tstr", "ratio"} <= set(s["utility"]["models"]["xgboost"])
    assert {"trtr", "tstr", "ratio"} <= set(s["utility"]["models"]["linear"])
    assert set(s["privacy"]) == PRIVACY_KEYS
    assert set(s["privacy"]["k_anonymity"]) == {
        "quasi_identifiers",
        "k_min",
        "share_k_below_5",
        "share_k_below_5_real",
        "excess_share_k_below_5",
    }
    assert s["privacy"]["dp_budget"] is None
    assert set(s["fairness"]) == {"by", "groups", "worst_gap"}
    for entry in s["scores"]:
        assert set(entry) - {"lower_threshold", "interval"} == {
            "metric", "value", "status", "threshold", "higher_is_better", "verdict",
        }  # fmt: skip
        assert entry["status"] in {"pass", "warn", "fail"}
    for path in null_paths({k: s[k] for k in ("fidelity", "utility", "privacy", "fairness")}):
        assert explained(s, path), path
    fresh_result.to_json(tmp_path / "summary.json")
    assert json.loads((tmp_path / "summary.json").read_text()) == s
    assert not list(tmp_path.glob(".*part"))  # atomic: no temporary left behind


def test_details_hold_plot_arrays(fresh_result, patients):
    d = fresh_result.details
    n_train, n_holdout = len(patients["train"]), len(patients["holdout"])
    assert d["dcr"]["synthetic_to_train"].shape == (n_train,)
    assert d["dcr"]["holdout_to_train"].shape == (n_holdout,)
    p = len(d["correlation"]["columns"])
    assert d["correlation"]["real"].shape == d["correlation"]["synthetic"].shape == (p, p)
    assert set(d["columns"]) == set(patients["train"].columns)
    assert d["columns"]["sex"]["levels"][:2] == ["F", "M"]
    assert np.isclose(d["columns"]["sex"]["real_share"].sum(), 1.0)
    assert d["columns"]["glucose"]["real"].shape == (n_train,)
    assert len(d["utility"]["importance_real"]) == len(d["utility"]["features"])


def test_without_holdout_the_holdout_metrics_are_skipped_with_the_reason(patients):
    s = evaluate(patients["train"], patients["fresh"], target="died", **FAST).summary
    assert s["rows_holdout"] is None and s["settings"]["holdout_given"] is False
    reasons = {e["metric"]: e["reason"] for e in s["skipped"]}
    for metric in (
        "utility.trtr", "utility.tstr", "utility.ratio", "privacy.dcr_ratio", "privacy.mia_auc",
    ):  # fmt: skip
        assert s[metric.split(".")[0]][metric.split(".")[1]] is None
        assert reasons[metric] == NEEDS_HOLDOUT
    assert s["fidelity"]["detection_auc"] is not None
    assert s["privacy"]["exact_match_rate"] == 0.0
    assert s["utility"]["importance_rank_agreement"] is not None  # needs no holdout
    for path in null_paths({k: s[k] for k in ("fidelity", "utility", "privacy")}):
        assert explained(s, path), path


def test_no_target_skips_utility_with_a_reason():
    df = make_patients(600, seed=7).drop(columns=["died"])
    s = evaluate(df, make_patients(600, seed=8).drop(columns=["died"]), **FAST).summary
    assert s["utility"]["tstr"] is None
    assert any(e["metric"] == "utility" and "no target" in e["reason"] for e in s["skipped"])


def test_missing_values_and_unseen_categories_never_crash(patients, fresh_result):
    real = patients["train"]
    synth = patients["fresh"].copy()
    synth.loc[:99, "region"] = "atlantis"  # a category the real data never had
    synth.loc[100:199, "sex"] = None  # missing where the real data never is
    synth["sbp"] = synth["sbp"].astype(object)
    synth.loc[200:209, "sbp"] = "n/a"  # text in a numeric column
    synth.loc[210:219, "age"] = 500.0  # beyond the schema's bounds
    result = evaluate(real, synth, patients["holdout"], target="died", **FAST)
    s = result.summary
    problems = s["fidelity"]["validity"]["problems"]
    before = fresh_result.summary["fidelity"]["validity"]["problems"]  # a few new extremes
    added = {c: problems.get(c, 0) - before.get(c, 0) for c in set(problems) | set(before)}
    assert {c: n for c, n in added.items() if n} == {"region": 100, "sbp": 10, "age": 10}
    assert s["fidelity"]["validity"]["invalid_rate"] >= 120 / len(synth)
    cols = s["fidelity"]["columns"]
    assert cols["region"]["similarity"] < 0.97 and cols["sex"]["similarity"] < 0.97
    assert result.details["columns"]["region"]["synthetic_share"][-1] == pytest.approx(
        100 / len(synth)
    )  # the "other" level
    assert not [e for e in s["skipped"] if e["reason"].startswith(("failed", "not computed"))]


def test_user_errors_name_the_problem(patients):
    train, fresh = patients["train"], patients["fresh"]
    with pytest.raises(HealthForgeError, match="glucose"):
        evaluate(train, fresh.drop(columns=["glucose"]), **FAST)
    with pytest.raises(HealthForgeError, match=r"holdout.*bmi"):
        evaluate(train, fresh, patients["holdout"].drop(columns=["bmi"]), **FAST)
    with pytest.raises(HealthForgeError, match="target column 'nope'"):
        evaluate(train, fresh, target="nope", **FAST)
    with pytest.raises(HealthForgeError, match="fairness column 'nope'"):
        evaluate(train, fresh, fairness_by="nope", **FAST)
    with pytest.raises(HealthForgeError, match="time column"):
        evaluate(train, fresh, target="died", task="survival", **FAST)


def test_fairness_groups_by_category_and_by_quartile(fresh_result, patients):
    fairness = fresh_result.summary["fairness"]
    assert fairness["by"] == "sex"
    groups = fairness["groups"]
    assert set(groups) == {"F", "M"}
    assert sum(g["share_real"] for g in groups.values()) == pytest.approx(1.0)
    for g in groups.values():
        assert g["detection_auc"] < 0.65 and g["ratio"] > 0.8
    assert set(fairness["worst_gap"]) == {
        "column_similarity",
        "detection_auc",
        "trtr",
        "tstr",
        "ratio",
    }
    assert fairness["worst_gap"]["ratio"] == pytest.approx(
        abs(groups["F"]["ratio"] - groups["M"]["ratio"])
    )
    s = evaluate(
        make_patients(900, seed=13), make_patients(900, seed=14), make_patients(300, seed=15),
        target="died", fairness_by="age", n_estimators=20,
    ).summary  # fmt: skip
    assert [k.split(" ")[0] for k in s["fairness"]["groups"]] == ["Q1", "Q2", "Q3", "Q4"]


def test_small_fairness_groups_are_skipped_with_a_reason():
    real = make_patients(800, seed=11)
    synth = make_patients(800, seed=12)
    real.loc[:9, "region"] = "island"  # 10 real rows, none synthetic
    s = evaluate(real, synth, target="died", fairness_by="region", n_estimators=20).summary
    reasons = {e["metric"]: e["reason"] for e in s["skipped"]}
    assert "fewer than" in reasons["fairness.groups.island.detection_auc"]
    assert s["fairness"]["groups"]["island"]["share_synthetic"] == 0.0
    for path in null_paths(s["fairness"]):
        assert explained(s, f"fairness.{path}"), path


def test_split_train_holdout_is_seeded_and_stratified():
    df = make_patients(1000, seed=5)
    train, holdout = split_train_holdout(df, target="died", holdout_fraction=0.2, seed=3)
    assert len(train) + len(holdout) == 1000 and abs(len(holdout) - 200) <= 2
    share = (df["died"] == "yes").mean()
    assert (holdout["died"] == "yes").mean() == pytest.approx(share, abs=0.01)
    again, _ = split_train_holdout(df, target="died", holdout_fraction=0.2, seed=3)
    pd.testing.assert_frame_equal(train, again)
    other, _ = split_train_holdout(df, target="died", holdout_fraction=0.2, seed=4)
    assert not train.equals(other)
    with pytest.raises(HealthForgeError):
        split_train_holdout(df, target="died", holdout_fraction=1.5)


def test_regression_task_scores_r2():
    full = make_patients(2000, seed=21)
    train, holdout = split_train_holdout(full, seed=0)
    s = evaluate(train, make_patients(len(train), seed=22), holdout, target="sbp", **FAST).summary
    u = s["utility"]
    assert s["settings"]["task"] == "regression" and u["metric"] == "r2"
    assert u["trtr"] > 0.3 and u["ratio"] > 0.85
    assert {"mae_trtr", "mae_tstr"} <= set(u["models"]["xgboost"])


def test_survival_task_scores_harrell_c():
    def cohort(n, seed):
        rng = np.random.default_rng(seed)
        age = rng.normal(60, 10, n)
        hazard = np.exp(0.06 * (age - 60))
        time = rng.exponential(10 / hazard)
        censor = rng.exponential(15, n)
        return pd.DataFrame(
            {
                "age": age.round(1),
                "stage": rng.choice(["I", "II"], n),
                "time": np.minimum(time, censor).round(2),
                "event": (time <= censor).astype(int),
            }
        )

    train, holdout = cohort(1500, 1), cohort(500, 2)
    s = evaluate(
        train, cohort(1500, 3), holdout, target="event", time_column="time", **FAST
    ).summary
    u = s["utility"]
    assert s["settings"]["task"] == "survival" and u["metric"] == "c_index"
    assert u["models"]["linear"]["trtr"] > 0.6 and u["trtr"] > 0.55
    assert u["ratio"] > 0.9


def test_multiclass_target_with_a_class_missing_in_synthetic():
    real, holdout = make_patients(900, seed=16), make_patients(300, seed=17)
    synth = make_patients(900, seed=18)
    synth = synth[synth["region"] != "west"].reset_index(drop=True)
    s = evaluate(real, synth, holdout, target="region", n_estimators=20).summary
    assert s["utility"]["metric"] == "auroc"
    assert s["utility"]["tstr"] is not None and s["utility"]["trtr"] is not None


def test_constant_target_in_synthetic_is_skipped():
    real, holdout = make_patients(900, seed=19), make_patients(300, seed=20)
    synth = make_patients(900, seed=21).assign(died="no")
    s = evaluate(real, synth, holdout, target="died", n_estimators=20).summary
    assert s["utility"]["tstr"] is None and s["utility"]["trtr"] is not None
    reasons = {e["metric"]: e["reason"] for e in s["skipped"]}
    assert "single class in the synthetic data" in reasons["utility.tstr"]


def test_bundled_icu_half_against_half():
    icu = load_table("bundled:icu")
    first, second = split_train_holdout(icu, target="died", holdout_fraction=0.5, seed=0)
    calls = []
    result = evaluate(
        first, second, target="died", n_estimators=20, progress=lambda *a: calls.append(a)
    )
    s = result.summary
    assert s["rows_real"] + s["rows_synthetic"] == len(icu)
    assert s["fidelity"]["column_similarity"] > 0.85
    assert s["fidelity"]["detection_auc"] < 0.75
    assert s["privacy"]["k_anonymity"]["quasi_identifiers"] == ["age", "sex", "race", "white"]
    assert not [e for e in s["skipped"] if e["reason"].startswith(("failed", "not computed"))]
    assert calls and all(isinstance(stage, str) for stage, _, _ in calls)
