"""Small tables and a contract-shaped evaluation result for report and CLI tests.

The summary follows docs/evaluation-contract.md key for key, so the report is tested
against the contract rather than against whatever the engine happens to return.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


@dataclass
class FakeResult:
    summary: dict[str, Any]
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self, path: str | Path) -> None:
        from healthforge.data.io import atomic_write_text

        atomic_write_text(path, json.dumps(self.summary, indent=2))


def make_table(n: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    """A mixed-type health-like table; ``shift`` moves the synthetic version away."""
    rng = np.random.default_rng(seed)
    age = rng.normal(55 + shift, 12, n).round()
    sex = rng.choice(["female", "male"], n)
    bmi = rng.normal(27, 4, n).round(1)
    bmi[rng.random(n) < 0.05] = np.nan
    sbp = (110 + 0.5 * age + rng.normal(0, 10, n)).round().astype(int)
    diagnosis = rng.choice(["copd", "asthma", "diabetes", "heart failure", "none"], n)
    admitted = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 900, n), unit="D")
    risk = 1 / (1 + np.exp(-(age - 60) / 8))
    death = (rng.random(n) < risk).astype(int)
    return pd.DataFrame(
        {
            "patient_id": [f"P{seed}-{i:05d}" for i in range(n)],
            "age": age,
            "sex": sex,
            "bmi": bmi,
            "sbp": sbp,
            "diagnosis": diagnosis,
            "admitted": admitted.strftime("%Y-%m-%d"),
            "smoker": rng.random(n) < 0.3,
            "death": death,
        }
    )


def make_tables() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """real (train), synthetic, holdout."""
    return make_table(800, 1), make_table(800, 2, shift=3.0), make_table(200, 3)


def make_summary(holdout: bool = True, fairness: bool = True) -> dict[str, Any]:
    scores = [
        {
            "metric": "fidelity.column_similarity",
            "value": 0.91,
            "status": "pass",
            "threshold": ">= 0.90 pass, >= 0.80 warn",
            "higher_is_better": True,
        },
        {
            "metric": "fidelity.detection_auc",
            "value": 0.71,
            "status": "warn",
            "threshold": "<= 0.60 pass, <= 0.80 warn",
            "higher_is_better": False,
        },
    ]
    skipped: list[dict[str, str]] = []
    if holdout:
        scores += [
            {
                "metric": "utility.ratio",
                "value": 0.62,
                "status": "fail",
                "threshold": ">= 0.90 pass, >= 0.75 warn",
                "higher_is_better": True,
            },
            {
                "metric": "privacy.dcr_ratio",
                "value": 1.04,
                "status": "pass",
                "threshold": ">= 0.95 pass, >= 0.80 warn",
                "higher_is_better": True,
            },
        ]
    else:
        skipped += [
            {
                "metric": "utility.tstr",
                "reason": "no holdout: needs real rows the generator never saw",
            },
            {
                "metric": "privacy.dcr_ratio",
                "reason": "no holdout: needs real rows the generator never saw",
            },
        ]
    skipped.append(
        {"metric": "privacy.dp_budget", "reason": "generator is not differentially private"}
    )
    privacy = {
        "exact_match_rate": 0.0,
        "dcr_ratio": 1.04 if holdout else None,
        "dcr_share_below_holdout_p5": 0.05 if holdout else None,
        "nndr_ratio": 0.98 if holdout else None,
        "mia_auc": 0.52 if holdout else None,
        "singling_out_risk": 0.01,
        "linkability_risk": 0.0,
        "inference_risk": 0.02,
        "k_anonymity": {"quasi_identifiers": ["age", "sex"], "k_min": 3, "share_k_below_5": 0.04},
        "dp_budget": None,
    }
    utility = {
        "metric": "auroc",
        "trtr": 0.80 if holdout else None,
        "tstr": 0.50 if holdout else None,
        "ratio": 0.62 if holdout else None,
        "models": {
            "xgboost": {"trtr": 0.80, "tstr": 0.50, "ratio": 0.62},
            "linear": {"trtr": 0.78, "tstr": 0.55, "ratio": 0.70},
        }
        if holdout
        else {},
        "importance_rank_agreement": 0.6 if holdout else None,
    }
    return {
        "healthforge_version": "0.1.0",
        "versions": {
            "python": "3.11",
            "numpy": "2",
            "pandas": "3",
            "scikit-learn": "1",
            "xgboost": "3",
        },
        "settings": {
            "target": "death",
            "task": "classification",
            "fairness_by": "sex" if fairness else None,
            "seed": 0,
            "holdout_given": holdout,
            "time_column": None,
        },
        "rows_real": 800,
        "rows_synthetic": 800,
        "rows_holdout": 200 if holdout else None,
        "fidelity": {
            "column_similarity": 0.91,
            "columns": {
                "age": {"metric": "ks", "similarity": 0.88},
                "sex": {"metric": "tv", "similarity": 0.99},
            },
            "pair_similarity": 0.93,
            "pmse": 0.03,
            "detection_auc": 0.71,
            "alpha_precision": 0.9,
            "beta_recall": 0.8,
            "authenticity": 0.7,
            "validity": {"invalid_rate": 0.0, "problems": {}},
        },
        "utility": utility,
        "privacy": privacy,
        "fairness": {
            "by": "sex",
            "groups": {
                "female": {
                    "share_real": 0.5,
                    "share_synthetic": 0.48,
                    "column_similarity": 0.9,
                    "detection_auc": 0.7,
                    "tstr": 0.5,
                    "trtr": 0.8,
                    "ratio": 0.62,
                },
                "male": {
                    "share_real": 0.5,
                    "share_synthetic": 0.52,
                    "column_similarity": 0.92,
                    "detection_auc": 0.72,
                    "tstr": 0.55,
                    "trtr": 0.79,
                    "ratio": 0.7,
                },
            },
            "worst_gap": {"ratio": 0.08},
        }
        if fairness
        else None,
        "scores": scores,
        "skipped": skipped,
    }


def make_result(holdout: bool = True, fairness: bool = True) -> FakeResult:
    rng = np.random.default_rng(0)
    details: dict[str, Any] = {}
    if holdout:
        details["dcr"] = {
            "synthetic_to_train": rng.gamma(2.0, 0.5, 800),
            "holdout_to_train": rng.gamma(2.0, 0.5, 200),
        }
    return FakeResult(make_summary(holdout, fairness), details)
