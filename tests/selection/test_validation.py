"""Leave-one-dataset-out: the default is chosen without the held-out dataset's runs."""

from __future__ import annotations

import json
from pathlib import Path

from healthforge.selection import Priorities, load_evidence
from healthforge.selection.validation import leave_one_dataset_out
from tests.selection.conftest import FIGURES, harness_file


def test_default_and_policy_never_see_the_held_out_dataset(results_dir: Path) -> None:
    # on beta only, gaussian_copula is perfect and cart poor: a default that peeked at
    # beta would pick gaussian_copula there; on alpha alone cart is best
    doc = harness_file(FIGURES)
    for run in doc["runs"]:
        if run["dataset"] == "beta" and run["method"] == "gaussian_copula":
            run["metrics"].update(detection_auc=0.5, utility_ratio=1.0, mia_auc=0.5)
            run["fit_seconds"] = 0.01
        if run["dataset"] == "beta" and run["method"] == "cart":
            run["metrics"].update(detection_auc=0.99, utility_ratio=0.2)
    (results_dir / "bench.json").write_text(json.dumps(doc))
    folds = leave_one_dataset_out(
        load_evidence(results_dir), {"balanced": Priorities()}, ("none",), seeds=5
    )
    beta = next(f for f in folds if f.dataset == "beta")
    assert beta.oracle == "gaussian_copula"
    assert beta.default == "cart"  # chosen on alpha alone
    assert beta.default_score < beta.oracle_score
    assert sum(beta.policy_ts_picks.values()) == 5
