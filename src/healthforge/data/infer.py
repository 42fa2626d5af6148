"""Infer a :class:`Schema` from a DataFrame: kinds, domains, missing rates and roles."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from healthforge.data.phi import guess_role, identifier_reason
from healthforge.data.schema import ColumnSchema, Schema
from healthforge.errors import HealthForgeError

MAX_CATEGORIES = 200  # more distinct strings than this is not a categorical column
MAX_ORDINAL_LEVELS = 10  # integer columns with at most this many levels are ordinal codes
MAX_DECIMALS = 12
_DATE_LIKE = re.compile(r"^\s*\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}([ T]\d{1,2}:\d{2}(:\d{2})?)?\s*$")
_DATE_FORMATS = (
    "%Y-%m-%d",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d",
    "%d/%m/%Y",
    "%m/%d/%Y",
    "%d.%m.%Y",
    "%d-%m-%Y",
)
_EPOCH = np.datetime64("1970-01-01T00:00:00", "ns")
_NS_PER_DAY = 86_400 * 10**9


def infer_schema(
    df: pd.DataFrame,
    target: str | None = None,
    source: str | None = None,
    max_categories: int = MAX_CATEGORIES,
) -> Schema:
    """Describe every column of ``df``.

    Raises :class:`HealthForgeError` for columns that cannot be described without the
    user's help (text mixed into a numeric column, strings with too many levels).
    """
    columns = [_infer_column(str(name), df[name], max_categories) for name in df.columns]
    schema = Schema(columns=columns, source=source)
    identifiers = [c.name for c in schema.identifiers]
    if identifiers:
        schema.notes.append("direct identifiers excluded from modelling: " + ", ".join(identifiers))
    if source is not None and source.startswith("bundled:"):
        from healthforge.data.derived import bundled_demographics

        # bundled data comes with the age groups and regions users condition on
        from healthforge.data.labels import bundled_labels

        schema = bundled_demographics(schema, source.removeprefix("bundled:"))
        # and the value labels their documentation defines (sex: 0 male, 1 female)
        schema = bundled_labels(schema, source.removeprefix("bundled:"))
    return schema.with_target(target)


def to_days(values: pd.Series, fmt: str | None) -> pd.Series:
    """Datetimes (or date strings in ``fmt``) as float days since 1970-01-01; NaN if missing."""
    if pd.api.types.is_datetime64_any_dtype(values):
        stamps = values
    else:
        stamps = pd.to_datetime(values, format=fmt, errors="coerce")
    ns = stamps.to_numpy(dtype="datetime64[ns]")
    days = (ns - _EPOCH).astype("timedelta64[ns]").astype("int64") / _NS_PER_DAY
    return pd.Series(np.where(np.isnat(ns), np.nan, days), index=values.index)


def from_days(days: np.ndarray, fmt: str | None, dtype: str) -> pd.Series:
    """Inverse of :func:`to_days`: datetime64 values, or strings in ``fmt``."""
    ns = np.round(np.asarray(days, dtype=float) * _NS_PER_DAY)
    missing = ~np.isfinite(ns)
    stamps = _EPOCH + np.where(missing, 0, ns).astype("int64").astype("timedelta64[ns]")
    series = pd.Series(stamps).where(~missing, pd.NaT)
    if dtype.startswith("datetime64"):
        return series.astype(dtype)
    return series.dt.strftime(fmt or "%Y-%m-%d").astype(object).where(~missing, np.nan)


def decimals_of(values: np.ndarray) -> int | None:
    """Fewest decimals that reproduce every value, or ``None`` if more than MAX_DECIMALS."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return None
    sample = np.unique(finite)[:20000]
    scale = np.maximum(1.0, np.abs(sample))
    for d in range(MAX_DECIMALS + 1):
        if np.all(np.abs(sample - np.round(sample, d)) <= 1e-12 * scale):
            return d
    return None


def _infer_column(name: str, series: pd.Series, max_categories: int) -> ColumnSchema:
    nonnull = series.dropna()
    missing_rate = float(series.isna().mean()) if len(series) else 0.0
    dtype = str(series.dtype)
    if nonnull.empty:
        return ColumnSchema(name=name, kind="continuous", dtype=dtype, missing_rate=missing_rate)
    if pd.api.types.is_bool_dtype(series):
        return _finish(name, series, "boolean", dtype, missing_rate, categories=_sorted(nonnull))
    if pd.api.types.is_datetime64_any_dtype(series):
        return _datetime_column(name, series, dtype, missing_rate, fmt=None)
    if pd.api.types.is_numeric_dtype(series):
        return _numeric_column(name, series, dtype, missing_rate)

    text = nonnull.astype(str).str.strip()
    numeric = pd.to_numeric(text, errors="coerce")
    share_numeric = float(numeric.notna().mean())
    if share_numeric == 1.0:
        return _numeric_column(
            name, pd.to_numeric(series, errors="coerce"), "float64", missing_rate
        )
    fmt = _date_format(text)
    if fmt is not None:
        return _datetime_column(name, series, "str", missing_rate, fmt=fmt)
    n_unique = text.nunique()
    kind = "text" if _looks_like_free_text(text) else "categorical"
    reason = identifier_reason(name, series, kind)
    if reason:
        return ColumnSchema(
            name=name,
            kind=kind,
            role="identifier",
            dtype="str",
            missing_rate=missing_rate,
            reason=reason,
        )
    if share_numeric >= 0.5:
        examples = text[numeric.isna()].unique()[:3]
        raise HealthForgeError(
            f"column '{name}' mixes numbers ({share_numeric:.0%}) with text such as "
            + ", ".join(repr(x) for x in examples),
            f"clean the column, drop it with --drop {name}, or declare its kind in a schema file",
        )
    if kind == "text":
        return ColumnSchema(name=name, kind="text", dtype="str", missing_rate=missing_rate)
    if n_unique > max_categories:
        raise HealthForgeError(
            f"column '{name}' has {n_unique:,} distinct values, too many to model as categories",
            f"drop it with --drop {name}, group its values, or mark it 'role: identifier' "
            "in a schema file",
        )
    return _finish(name, series, "categorical", "str", missing_rate, categories=_sorted(text))


def _numeric_column(name: str, series: pd.Series, dtype: str, missing_rate: float) -> ColumnSchema:
    values = series.to_numpy(dtype=float, na_value=np.nan)
    finite = values[np.isfinite(values)]
    decimals = decimals_of(finite)
    levels = np.unique(finite)
    if decimals == 0:
        if len(levels) <= 2 and set(levels.tolist()) <= {0.0, 1.0}:
            kind = "boolean"
        elif len(levels) <= MAX_ORDINAL_LEVELS:
            kind = "ordinal"
        else:
            kind = "integer"
    else:
        kind = "continuous"
    reason = identifier_reason(name, series, "integer" if decimals == 0 else kind)
    if kind in {"boolean", "ordinal"} and reason is None:
        cast = int if dtype.lower().startswith(("int", "uint")) else float
        return _finish(
            name, series, kind, dtype, missing_rate, categories=[cast(v) for v in levels]
        )
    column = _finish(name, series, kind, dtype, missing_rate)
    column.minimum, column.maximum = float(finite.min()), float(finite.max())
    column.decimals = decimals
    if reason:
        column.role, column.reason = "identifier", reason
    return column


def _datetime_column(
    name: str, series: pd.Series, dtype: str, missing_rate: float, fmt: str | None
) -> ColumnSchema:
    days = to_days(series, fmt).dropna()
    column = _finish(name, series, "datetime", dtype, missing_rate)
    column.datetime_format = fmt
    column.minimum, column.maximum = float(days.min()), float(days.max())
    has_time = fmt is not None and "%H" in fmt
    if fmt is None and pd.api.types.is_datetime64_any_dtype(series):
        has_time = bool((series.dropna().dt.normalize() != series.dropna()).any())
    column.decimals = None if has_time else 0
    reason = identifier_reason(name, series, "datetime")
    if reason:
        column.role, column.reason = "identifier", reason
    return column


def _finish(
    name: str,
    series: pd.Series,
    kind: str,
    dtype: str,
    missing_rate: float,
    categories: list[Any] | None = None,
) -> ColumnSchema:
    return ColumnSchema(
        name=name,
        kind=kind,  # type: ignore[arg-type]
        role=guess_role(name),  # type: ignore[arg-type]
        dtype=dtype,
        missing_rate=round(missing_rate, 6),
        categories=categories,
    )


def _sorted(values: pd.Series) -> list[Any]:
    uniques = pd.unique(values)
    try:
        ordered = sorted(uniques)
    except TypeError:
        ordered = sorted(uniques, key=str)
    return [v.item() if isinstance(v, np.generic) else v for v in ordered]


def _date_format(text: pd.Series) -> str | None:
    sample = text.head(2000)
    if sample.str.match(_DATE_LIKE).mean() < 0.95:
        return None
    for fmt in _DATE_FORMATS:
        parsed = pd.to_datetime(sample, format=fmt, errors="coerce")
        if parsed.notna().mean() >= 0.99:
            return fmt
    return None


def _looks_like_free_text(text: pd.Series) -> bool:
    sample = text.head(2000)
    unique_share = sample.nunique() / max(len(sample), 1)
    return (
        unique_share > 0.5
        and sample.str.len().mean() > 30
        and sample.str.contains(" ").mean() > 0.5
    )
