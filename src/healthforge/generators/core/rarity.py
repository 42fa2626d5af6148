"""How rare a condition was in the training data: the shares kept with a model (not a DP
one) so that "too rare" can say how many training rows matched."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from healthforge.data.schema import Schema, as_float
from healthforge.generators.core.conditions import COMPARE, Condition

MAX_PROFILE_LEVELS = 200  # columns with more distinct values keep percentiles instead


def training_profile(frame: pd.DataFrame, schema: Schema) -> dict[str, dict[str, Any]]:
    """Per-column marginals of the training data, enough to say how rare a condition is.

    Discrete columns and numeric columns with few distinct values keep their value
    shares (as the schema keeps their categories); other numeric columns keep 101
    percentiles. No row is kept.
    """
    profile: dict[str, dict[str, Any]] = {}
    for column in schema.modelled:
        if column.name not in frame.columns or column.kind == "datetime":
            continue
        series = frame[column.name]
        missing = float(series.isna().mean())
        present = series.dropna()
        if column.is_discrete or present.nunique() <= MAX_PROFILE_LEVELS:
            shares = present.value_counts(normalize=False) / max(len(series), 1)
            profile[column.name] = {
                "missing": missing,
                "shares": {_profile_key(k): float(v) for k, v in shares.items()},
            }
        else:
            values = pd.to_numeric(present, errors="coerce").dropna().to_numpy(dtype=float)
            if values.size:
                profile[column.name] = {
                    "missing": missing,
                    "percentiles": np.percentile(values, np.arange(101)).tolist(),
                }
    return profile


def training_share(condition: Condition, profile: dict[str, dict[str, Any]]) -> float | None:
    """Share of training rows satisfying ``condition`` (percentiles: to about 1%)."""
    entry = profile.get(condition.column)
    if entry is None or condition.derived is not None:
        return None
    present = 1.0 - entry["missing"]
    if "shares" in entry:
        shares = entry["shares"]
        if condition.op in COMPARE:
            return float(
                sum(
                    v
                    for k, v in shares.items()
                    if as_float(k) is not None
                    and COMPARE[condition.op](as_float(k), condition.value)
                )
            )
        wanted = condition.value if isinstance(condition.value, list) else [condition.value]
        keys = {_profile_key(w) for w in wanted}
        hit = float(sum(v for k, v in shares.items() if k in keys))
        return present - hit if condition.op in {"!=", "not in"} else hit
    percentiles = np.asarray(entry["percentiles"])
    if condition.op in COMPARE:
        below = float(np.searchsorted(percentiles, condition.value, side="left")) / 100.0
        below = min(max(below, 0.0), 1.0)
        share = 1.0 - below if condition.op in {">=", ">"} else below
        return present * share
    return None  # equality on a continuous column: no meaningful share


def describe_rarity(conditions: list[Condition], profile: dict[str, dict[str, Any]] | None) -> str:
    """``" In the training data: age >= 65: 2.9% of rows; ..."``, or ``""`` if unknown."""
    if not profile:
        return ""
    parts = []
    joint = 1.0
    for condition in conditions:
        share = training_share(condition, profile)
        if share is None:
            return ""
        joint *= share
        parts.append(f"{condition}: {share:.2%} of rows")
    text = " In the training data: " + "; ".join(parts)
    if len(parts) > 1:
        text += f" (about {joint:.3%} together if they were independent)"
    return text + "."


def _profile_key(value: Any) -> Any:
    number = as_float(value)
    return number if number is not None else str(value)
