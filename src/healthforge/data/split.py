"""The seeded train/holdout split every evaluation and the privacy filter rely on.

It lives with the data, not the workflow or the evaluation, because both use it: the
pipeline splits before fitting, and ``evaluate`` users split their own tables.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from healthforge.errors import HealthForgeError


def split_train_holdout(
    df: pd.DataFrame, target: str | None = None, holdout_fraction: float = 0.2, seed: int = 0
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split real data into rows to train a generator on and a holdout it never sees.

    Seeded; stratified on ``target`` when it looks categorical (text, boolean, or at most
    20 distinct values), with missing target values as a class of their own, so that
    every class keeps its share in both parts. Returns ``(train, holdout)`` with fresh
    indices.
    """
    if not 0.0 < holdout_fraction < 1.0:
        raise HealthForgeError(f"holdout fraction {holdout_fraction} must be between 0 and 1")
    if len(df) < 2:
        raise HealthForgeError("need at least 2 rows to set some aside as a holdout")
    if target is not None and target not in df.columns:
        raise HealthForgeError(f"target column '{target}' is not in the data")
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(df))
    if target is not None and _categorical(df[target]):
        keys = df[target].astype(str).where(df[target].notna(), "\0missing").to_numpy()[order]
        grouped = pd.Series(keys)
        rank = grouped.groupby(grouped, sort=False).cumcount().to_numpy()
        size = grouped.map(grouped.value_counts()).to_numpy()
        in_holdout = rank < np.round(size * holdout_fraction)
    else:
        in_holdout = np.arange(len(df)) < round(len(df) * holdout_fraction)
    if in_holdout.all() or not in_holdout.any():  # tiny data: keep at least one row each side
        in_holdout = np.arange(len(df)) < max(
            1, min(len(df) - 1, round(len(df) * holdout_fraction))
        )
    train = df.iloc[np.sort(order[~in_holdout])].reset_index(drop=True)
    hold = df.iloc[np.sort(order[in_holdout])].reset_index(drop=True)
    return train, hold


def _categorical(series: pd.Series) -> bool:
    if not pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
        return True
    return series.nunique(dropna=True) <= 20
