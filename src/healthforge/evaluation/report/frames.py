"""What the plots draw: column kinds and choice, binned shares, dependence matrices, DCR."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from healthforge.errors import HealthForgeError
from healthforge.evaluation.report.text import (
    _DCR_HOLDOUT_KEYS,
    _DCR_SYNTHETIC_KEYS,
    MAX_BINS,
    MAX_CATEGORIES_SHOWN,
    MAX_HEATMAP_COLUMNS,
    MAX_INTEGER_LEVELS,
    MAX_PLOTTED_COLUMNS,
    MAX_POINTS,
    _float,
)

# -- choosing and describing columns ---------------------------------------------------


def _column_kinds(real: pd.DataFrame, details: Mapping[str, Any]) -> dict[str, str]:
    """How to draw each column: numeric, datetime, ordered, binary, nominal or skip."""
    schema = details.get("schema")
    if schema is None:
        try:
            from healthforge.data.infer import infer_schema

            schema = infer_schema(real)
        except HealthForgeError:
            schema = None  # odd columns: fall back on dtypes below
    kinds: dict[str, str] = {}
    for name in real.columns:
        column = schema[name] if schema is not None and name in schema else None
        kinds[name] = _kind_of(real[name], column)
    return kinds


def _kind_of(values: pd.Series, column: Any) -> str:
    if column is not None:
        if not column.modelled:
            return "skip"
        if column.kind == "datetime":
            return "datetime"
        if column.kind == "boolean" or (column.is_discrete and len(column.categories or []) <= 2):
            return "binary"
        if column.kind == "ordinal":
            return "ordered"
        if column.kind == "categorical":
            return "nominal"
        return "numeric"
    # duplicates: a dtype dispatch like partner/context.py's _kind, with the report's own kinds
    if pd.api.types.is_bool_dtype(values) or values.nunique(dropna=True) <= 2:
        return "binary"
    if pd.api.types.is_datetime64_any_dtype(values):
        return "datetime"
    if pd.api.types.is_numeric_dtype(values):
        return "numeric"
    return "nominal"


def _column_similarities(summary: Mapping[str, Any]) -> dict[str, tuple[str, float | None]]:
    columns = (summary.get("fidelity") or {}).get("columns") or {}
    out: dict[str, tuple[str, float | None]] = {}
    for name, info in columns.items():
        if isinstance(info, Mapping):
            out[str(name)] = (str(info.get("metric", "")), _float(info.get("similarity")))
    return out


def _choose_columns(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    summary: Mapping[str, Any],
    kinds: Mapping[str, str],
) -> tuple[list[str], str]:
    """Columns to plot, at most MAX_PLOTTED_COLUMNS, and a note on what was left out.

    The target and the subgroup column come first because readers look for them; then,
    when there are too many, the least similar columns, where problems show.
    """
    candidates = [c for c in real.columns if c in synthetic.columns and kinds.get(c) != "skip"]
    not_plotted = [c for c in real.columns if kinds.get(c) == "skip"]
    missing = [c for c in real.columns if c not in synthetic.columns and kinds.get(c) != "skip"]
    settings = summary.get("settings") or {}
    first = [
        c
        for c in (settings.get("target"), settings.get("time_column"), settings.get("fairness_by"))
        if c in candidates
    ]
    first = list(dict.fromkeys(first))
    rest = [c for c in candidates if c not in first]
    notes = []
    if len(candidates) > MAX_PLOTTED_COLUMNS:
        sims = _column_similarities(summary)
        # Unknown similarity sorts last; ties keep the table's order (stable sort).
        rest.sort(key=lambda c: s if (s := sims.get(c, ("", None))[1]) is not None else math.inf)
        rest = rest[: MAX_PLOTTED_COLUMNS - len(first)]
        chosen = set(first) | set(rest)
        ordered = [c for c in candidates if c in chosen]
        notes.append(
            f"Showing {len(ordered)} of {len(candidates)} columns: the target/subgroup columns "
            "and those least similar between real and synthetic data, in table order."
        )
    else:
        ordered = candidates
    if not_plotted:
        notes.append(
            "Not plotted (identifiers or free text, never modelled): " + ", ".join(not_plotted)
        )
    if missing:
        notes.append("Missing from the synthetic data: " + ", ".join(missing))
    return ordered, " ".join(notes)


@dataclass
class _Panel:
    """What one marginal panel draws: bar labels, shares of rows, axis type, missingness."""

    labels: list[Any]
    real: np.ndarray
    synthetic: np.ndarray
    axis: str  # plotly axis type: "linear", "date" or "category"
    missing: str = ""


def _shares(real: pd.Series, synthetic: pd.Series, kind: str) -> _Panel:
    """Share of rows per bin (numbers, dates) or per level (everything else)."""
    if kind in {"numeric", "datetime"}:
        r = _to_number(real, kind)
        s = _to_number(synthetic, kind)
        both = np.concatenate([r[np.isfinite(r)], s[np.isfinite(s)]])
        distinct = np.unique(both[: MAX_POINTS * 4])
        few_integers = (
            kind == "numeric"
            and 0 < distinct.size <= MAX_INTEGER_LEVELS
            and bool(np.all(np.mod(distinct, 1) == 0))
        )
        if not few_integers:
            return _binned(r, s, kind)
    return _categorical_shares(real, synthetic)


def _to_number(values: pd.Series, kind: str) -> np.ndarray:
    """Numbers as floats, datetimes as float nanoseconds since the epoch; NaN if missing."""
    if kind == "datetime":
        stamps = pd.to_datetime(values, errors="coerce", format="mixed")
        out = stamps.to_numpy(dtype="datetime64[ns]").astype("int64").astype(float)
        out[stamps.isna().to_numpy()] = np.nan
        return out
    return pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)


def _bin_edges(values: np.ndarray) -> np.ndarray:
    """At most MAX_BINS equal bins over the central 99%, aligned to the data's resolution.

    Rounded data (ages in years, BMI to 0.1) binned on an arbitrary width gives bins that
    hold one or two distinct values in turn - a comb that looks like a generator defect.
    """
    low, high = np.quantile(values, [0.005, 0.995])
    if high <= low:
        low, high = float(values.min()), float(values.max())
    if high <= low:
        return np.array([low - 0.5, low + 0.5])
    sample = np.unique(values[: MAX_POINTS * 4])
    gaps = np.diff(sample)
    step = float(gaps[gaps > 0].min()) if gaps.size and np.any(gaps > 0) else 0.0
    on_grid = step > 0 and np.allclose(np.round(gaps / step), gaps / step, atol=1e-6)
    if on_grid and (high - low) / step < 1e6:
        width = step * max(1, math.ceil((high - low) / step / MAX_BINS))
        start = low - step / 2
        n = max(1, math.ceil((high + step / 2 - start) / width))
        return start + width * np.arange(n + 1)
    return np.linspace(low, high, MAX_BINS + 1)


def _binned(r: np.ndarray, s: np.ndarray, kind: str) -> _Panel:
    finite_r, finite_s = r[np.isfinite(r)], s[np.isfinite(s)]
    both = np.concatenate([finite_r, finite_s])
    if both.size == 0:
        return _Panel(["(missing)"], np.ones(1), np.ones(1), "category")
    edges = _bin_edges(both)
    centres = (edges[:-1] + edges[1:]) / 2

    def share(x: np.ndarray) -> np.ndarray:
        # Values beyond the central 99% land in the end bins rather than vanish.
        counts, _ = np.histogram(np.clip(x, edges[0], edges[-1]), bins=edges)
        return counts / max(x.size, 1)

    labels: list[Any]
    if kind == "datetime":
        labels = [pd.Timestamp(int(c)).isoformat() for c in centres]
    else:
        labels = [float(f"{c:.6g}") for c in centres]
    miss_r, miss_s = float(np.mean(~np.isfinite(r))), float(np.mean(~np.isfinite(s)))
    missing = ""
    if miss_r > 0 or miss_s > 0:
        missing = f"missing: real {miss_r:.1%}, synthetic {miss_s:.1%}"
    axis = "date" if kind == "datetime" else "linear"
    return _Panel(labels, share(finite_r), share(finite_s), axis, missing)


def _categorical_shares(real: pd.Series, synthetic: pd.Series) -> _Panel:
    r, s = _levels(real), _levels(synthetic)
    r_counts = r.value_counts(dropna=True)
    s_counts = s.value_counts(dropna=True)
    try:  # numeric codes read best in numeric order
        order = sorted(r_counts.index, key=float)
        numeric_levels = True
    except (TypeError, ValueError):
        order = list(r_counts.index)
        numeric_levels = False
    if len(order) > MAX_CATEGORIES_SHOWN:
        order = list(r_counts.index[:MAX_CATEGORIES_SHOWN])
        if numeric_levels:
            order = sorted(order, key=float)
    extra = [v for v in s_counts.index if v not in r_counts.index]
    labels = [str(v) for v in order]
    real_share = np.array([r_counts.get(v, 0) for v in order], dtype=float)
    synth_share = np.array([s_counts.get(v, 0) for v in order], dtype=float)
    other_r = r_counts.sum() - real_share.sum()
    other_s = s_counts.sum() - synth_share.sum() - sum(s_counts[v] for v in extra)
    if other_r > 0 or other_s > 0:
        labels.append("(other)")
        real_share = np.append(real_share, other_r)
        synth_share = np.append(synth_share, other_s)
    if extra:
        # Values the real data never had are invalid: show them, they matter.
        labels.append("(not in real)")
        real_share = np.append(real_share, 0)
        synth_share = np.append(synth_share, sum(s_counts[v] for v in extra))
    miss_r, miss_s = int(r.isna().sum()), int(s.isna().sum())
    if miss_r or miss_s:
        labels.append("(missing)")
        real_share = np.append(real_share, miss_r)
        synth_share = np.append(synth_share, miss_s)
    return _Panel(labels, real_share / max(len(r), 1), synth_share / max(len(s), 1), "category")


def _levels(values: pd.Series) -> pd.Series:
    """Values as level strings; numbers spelt alike whatever their dtype (1, 1.0 -> "1")."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        numbers = values.astype(float)
        text = numbers.map(lambda v: f"{v:.10g}", na_action="ignore")
        return text.astype("string")
    return values.astype("string").str.strip()


def _encode_for_correlation(values: pd.Series, kind: str, reference: pd.Series) -> pd.Series:
    if kind in {"numeric", "datetime"}:
        return pd.Series(_to_number(values, kind), index=values.index)
    # Ordered and two-level columns: codes in the real data's level order carry meaning.
    ref = _levels(reference).dropna()
    try:
        levels = sorted(ref.unique(), key=float)
    except (TypeError, ValueError):
        levels = sorted(ref.unique())
    lookup = {v: i for i, v in enumerate(levels)}
    mapped = _levels(values).map(lookup)
    return pd.to_numeric(mapped, errors="coerce").astype(float)


def _correlation_matrix(
    frame: pd.DataFrame,
    reference: pd.DataFrame,
    columns: Sequence[str],
    kinds: Mapping[str, str],
) -> pd.DataFrame:
    if len(frame) > MAX_POINTS * 2:
        # Rank correlations are stable on a sample; this keeps big tables quick.
        frame = frame.sample(MAX_POINTS * 2, random_state=0)
    encoded = pd.DataFrame(
        {c: _encode_for_correlation(frame[c], kinds[c], reference[c]) for c in columns}
    )
    return encoded.corr(method="spearman", min_periods=10)


def _dependence_matrices(
    details: Mapping[str, Any],
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    columns: Sequence[str],
    kinds: Mapping[str, str],
) -> tuple[pd.DataFrame, pd.DataFrame, str, str] | None:
    """Real and synthetic pair matrices over the plotted columns, a note and the help key.

    The engine's matrices are preferred: they are what pair similarity scored, and they
    cover categorical columns. Without them, rank correlation of the ordered columns.
    """
    corr = details.get("correlation")
    if isinstance(corr, Mapping) and corr.get("real") is not None:
        names = [str(c) for c in corr.get("columns") or []]
        keep = [c for c in columns if c in names][:MAX_HEATMAP_COLUMNS]
        if len(keep) >= 2:
            index = [names.index(c) for c in keep]
            frames = [
                pd.DataFrame(np.asarray(corr[k], dtype=float)[np.ix_(index, index)], keep, keep)
                for k in ("real", "synthetic")
            ]
            note = ""
            if np.isnan(frames[0].to_numpy()).any():
                note = "Wide table: blank cells are pairs the engine did not sample."
            return frames[0], frames[1], note, "dependence"
    heat_columns = [c for c in columns if kinds.get(c) in {"numeric", "ordered", "binary"}]
    heat_columns = heat_columns[:MAX_HEATMAP_COLUMNS]
    if len(heat_columns) < 2:
        return None
    left_out = [c for c in columns if c not in heat_columns]
    note = (
        f"Left out of the heat maps ({len(left_out)}): categorical columns with more than "
        "two unordered levels, whose codes have no order to correlate."
        if left_out
        else ""
    )
    return (
        _correlation_matrix(real, real, heat_columns, kinds),
        _correlation_matrix(synthetic, real, heat_columns, kinds),
        note,
        "correlation",
    )


def _dcr_arrays(details: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray | None] | None:
    """Synthetic→train and holdout→train distances, wherever the engine keeps them."""
    source: Mapping[str, Any] = details
    for key in ("dcr", "privacy"):
        value = details.get(key)
        if isinstance(value, Mapping):
            source = value
            break

    def pick(keys: Iterable[str], prefix: str = "") -> np.ndarray | None:
        for key in keys:
            for name in (f"{prefix}{key}", key):
                value = source.get(name)
                if value is not None:
                    arr = np.asarray(value, dtype=float).ravel()
                    return arr[np.isfinite(arr)]
        return None

    synth = pick(_DCR_SYNTHETIC_KEYS, "dcr_")
    if synth is None or synth.size == 0:
        return None
    return synth, pick(_DCR_HOLDOUT_KEYS, "dcr_")
