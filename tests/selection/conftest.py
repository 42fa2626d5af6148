"""A small results folder in the benchmark harness's format, written per test."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

# per generator: (detection AUC, TSTR/TRTR, MIA AUC, DCR ratio, fit seconds)
FIGURES: dict[str, tuple[float, float, float, float, float]] = {
    "cart": (0.55, 0.97, 0.52, 1.0, 1.0),
    "gaussian_copula": (0.75, 0.80, 0.50, 1.1, 2.0),
    "bayesian_network": (0.60, 0.90, 0.55, 1.0, 1.0),
    "aim": (0.90, 0.80, 0.50, 1.3, 60.0),
    "dp_copula": (0.95, 0.90, 0.50, 1.4, 1.0),
}
DATASETS = {"alpha": (800, 12), "beta": (5000, 30)}


def harness_file(figures: dict[str, tuple[float, ...]], splits: int = 3) -> dict[str, Any]:
    runs = []
    for dataset in DATASETS:
        for name, (det, util, mia, dcr, fit) in figures.items():
            for split in range(splits):
                runs.append(
                    {
                        "dataset": dataset,
                        "method": name,
                        "source": "healthforge",
                        "status": "ok",
                        "split_seed": split,
                        "epsilon": 1.0 if name in ("aim", "dp_copula") else None,
                        "fit_seconds": fit * DATASETS[dataset][0] / 800,
                        "metrics": {
                            "detection_auc": det,
                            "utility_ratio": util,
                            "mia_auc": mia,
                            "dcr_ratio": dcr,
                            "exact_match_rate": 0.0,
                        },
                    }
                )
    declared = {k: {"rows": r, "columns": c, "target": "y"} for k, (r, c) in DATASETS.items()}
    return {"command": "test", "datasets": declared, "runs": runs}


@pytest.fixture
def results_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "results"
    folder.mkdir()
    (folder / "bench.json").write_text(json.dumps(harness_file(FIGURES)))
    return folder
