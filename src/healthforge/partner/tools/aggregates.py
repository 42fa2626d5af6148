"""Aggregates of the real table that are safe to show a language model.

No figure here is a cell value: numbers are rounded to three significant figures,
ranges are widened outward to a coarse step, and a category seen in fewer than
:data:`MIN_CELL` rows is counted only within "other" (a rare level can single a person
out). Identifier columns get no values at all.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

MIN_CELL = 5  # categories seen in fewer rows are merged into "other"


def sig(value: Any, digits: int = 3) -> float | None:
    """``value`` rounded to ``digits`` significant figures (None for missing)."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    number = float(value)
    return float(f"{number:.{digits}g}")


def outward(low: float, high: float) -> tuple[float, float]:
    """A range containing [low, high] whose ends are multiples of half the range's order
    of magnitude (16..92 -> 15..95; 0.013..0.98 -> 0..1): the extremes, each one
    person's value, are not shown exactly."""
    spread = abs(high - low) or abs(high) or 1.0
    step = 10 ** math.floor(math.log10(spread)) / 2
    return math.floor(low / step) * step, math.ceil(high / step) * step


def numeric_summary(series: pd.Series) -> dict[str, Any]:
    values = pd.to_numeric(series, errors="coerce").dropna()
    if values.empty:
        return {"count": 0}
    low, high = outward(float(values.min()), float(values.max()))
    q = values.quantile([0.25, 0.5, 0.75])
    return {
        "count": len(values),
        "mean": sig(values.mean()),
        "sd": sig(values.std()) if len(values) > 1 else None,
        "quartiles": [sig(q.iloc[0]), sig(q.iloc[1]), sig(q.iloc[2])],
        "range_rounded": [sig(low), sig(high)],
    }


def date_summary(series: pd.Series) -> dict[str, Any]:
    """Count and the span in whole years (a date itself can single a person out)."""
    dates = pd.to_datetime(series, errors="coerce", format="mixed").dropna()
    if dates.empty:
        return {"count": 0}
    return {"count": len(dates), "years": [int(dates.min().year), int(dates.max().year)]}


def category_counts(series: pd.Series, labels: dict[Any, str] | None = None) -> dict[str, Any]:
    """Counts of levels seen in at least MIN_CELL rows; the rest only as a total."""
    counts = series.dropna().astype(str).value_counts()
    shown = counts[counts >= MIN_CELL]
    names = {str(k): v for k, v in (labels or {}).items()}
    out: dict[str, Any] = {
        "levels": len(counts),
        "counts": {
            (f"{k} ({names[k]})" if k in names else str(k)): int(v) for k, v in shown.items()
        },
    }
    rare = counts[counts < MIN_CELL]
    if len(rare):
        out["other"] = {"levels": len(rare), "rows": int(rare.sum())}
    return out


def column_summary(series: pd.Series, column: Any) -> dict[str, Any]:
    """Kind, role, missing share and safe figures of one column (``column``: its
    ColumnSchema)."""
    out: dict[str, Any] = {
        "kind": column.kind,
        "role": column.role,
        "missing_share": sig(float(series.isna().mean())),
    }
    if column.role == "identifier":
        out["not_shown"] = "direct identifier: values are never summarised"
        return out
    if column.kind == "text":
        out["not_shown"] = "free text: values are never summarised"
        return out
    if column.kind == "datetime":
        out.update(date_summary(series))
    elif column.is_numeric and not column.is_discrete:
        out.update(numeric_summary(series))
    else:
        out.update(category_counts(series, column.labels))
    return out
