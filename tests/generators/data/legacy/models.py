"""The legacy models: which generator, with which parameters, fitted on what."""

from __future__ import annotations

from typing import Any

import pandas as pd

from healthforge.data import load_table
from healthforge.data.infer import infer_schema
from healthforge.data.schema import Schema

# file stem -> (generator, parameters, whether the schema is passed as public)
LEGACY: dict[str, tuple[str, dict[str, Any], bool]] = {
    "cart": ("cart", {"seed": 2}, False),
    "gaussian_copula": ("gaussian_copula", {"seed": 2}, False),
    "bayesian_network": ("bayesian_network", {"seed": 2}, False),
    "dp_copula": ("dp_copula", {"epsilon": 2.0, "noise_seed": 4, "seed": 2}, True),
    "mst": ("mst", {"epsilon": 2.0, "noise_seed": 4, "seed": 2}, True),
    "tvae": (
        "tvae",
        {
            "epochs": 2,
            "embedding_dim": 4,
            "compress_dims": (8,),
            "decompress_dims": (8,),
            "seed": 2,
        },
        False,
    ),
}

COLUMNS = ["died", "age", "sex", "service", "systolic", "hrtrate", "admit"]


def training_data() -> tuple[pd.DataFrame, Schema]:
    """120 rows of the bundled ICU table, seven mixed columns, and their schema."""
    frame = load_table("bundled:icu")[COLUMNS].head(120)
    return frame, infer_schema(frame)
