"""Constructed cases whose answers are known: copies, shuffled columns, fresh samples."""

from __future__ import annotations

import numpy as np
from tests.evaluation.cases import FAST, make_correlated, shuffle_columns

from healthforge.evaluation import evaluate, split_train_holdout


def test_copy_of_training_data_fails_privacy(copy_result):
    s = copy_result.summary
    privacy = s["privacy"]
    assert privacy["exact_match_rate"] == 1.0
    assert np.max(copy_result.details["dcr"]["synthetic_to_train"]) < 1e-6
    assert privacy["dcr_ratio"] < 1e-3
    assert privacy["dcr_share_below_holdout_p5"] == 1.0
    assert privacy["mia_auc"] > 0.65
    assert privacy["linkability_risk"] > 0.5
    assert privacy["inference_risk"] > 0.5
    assert privacy["singling_out_risk"] > 0.1
    assert s["fidelity"]["authenticity"] == 0.0
    for metric in ("exact_match_rate", "dcr_ratio", "mia_auc", "linkability_risk"):
        assert copy_result.status(f"privacy.{metric}") == "fail", metric


def test_fresh_sample_from_the_same_process_passes(fresh_result):
    s = fresh_result.summary
    assert s["fidelity"]["detection_auc"] < 0.6
    assert s["fidelity"]["column_similarity"] > 0.95
    assert s["fidelity"]["alpha_precision"] > 0.8 and s["fidelity"]["beta_recall"] > 0.8
    assert 0.4 < s["fidelity"]["authenticity"] < 0.7
    assert s["utility"]["metric"] == "auroc"
    assert s["utility"]["trtr"] > 0.65
    assert s["utility"]["ratio"] > 0.9
    assert s["utility"]["models"]["linear"]["ratio"] > 0.9
    assert s["privacy"]["exact_match_rate"] == 0.0
    assert 0.9 < s["privacy"]["dcr_ratio"] < 1.1
    assert abs(s["privacy"]["mia_auc"] - 0.5) < 0.08
    for metric in (
        "fidelity.detection_auc",
        "utility.ratio",
        "privacy.exact_match_rate",
        "privacy.dcr_ratio",
        "privacy.mia_auc",
        "privacy.linkability_risk",
    ):
        assert fresh_result.status(metric) == "pass", metric
    assert not [e for e in s["skipped"] if e["reason"].startswith(("failed", "not computed"))]


def test_shuffled_columns_lose_dependence_but_keep_marginals():
    full = make_correlated(3000, seed=3)
    train, holdout = split_train_holdout(full, target="outcome", seed=0)
    fresh = evaluate(
        train, make_correlated(len(train), seed=4), holdout, target="outcome", **FAST
    ).summary
    shuffled = evaluate(
        train, shuffle_columns(train, seed=5), holdout, target="outcome", **FAST
    ).summary
    assert shuffled["fidelity"]["column_similarity"] == 1.0  # marginals identical
    assert shuffled["fidelity"]["pair_similarity"] < fresh["fidelity"]["pair_similarity"] - 0.15
    assert fresh["fidelity"]["pair_similarity"] > 0.95
    assert shuffled["fidelity"]["detection_auc"] > 0.9
    assert fresh["fidelity"]["detection_auc"] < 0.6
    assert shuffled["utility"]["ratio"] < 0.8  # the outcome no longer follows the features
