"""A numeric encoding of a table shared by generators and evaluation.

Each modelled column becomes one float64 column of a matrix:

* discrete kinds (categorical, ordinal, boolean): the index into ``categories``;
* continuous and integer: the value;
* datetime: days since 1970-01-01;

with ``NaN`` for a missing value. :meth:`TableEncoder.decode` maps a matrix back to a
DataFrame that honours the schema: category spellings and types, bounds, decimals
and dtypes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from healthforge.data.infer import from_days, to_days
from healthforge.data.schema import ColumnSchema, Schema
from healthforge.errors import HealthForgeError

_PANDAS_3 = int(pd.__version__.split(".")[0]) >= 3


def category_codes(series: pd.Series, categories: list[Any]) -> tuple[np.ndarray, list[Any]]:
    """Codes of ``series`` in ``categories`` (NaN if missing) and the values not found."""
    values = series.to_numpy(dtype=object)
    missing = pd.isna(values)
    numeric_categories = all(
        isinstance(c, int | float | np.number) and not isinstance(c, bool) for c in categories
    )
    if numeric_categories:
        keys = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float)
        levels = np.asarray(categories, dtype=float)
        order = np.argsort(levels)
        pos = np.clip(np.searchsorted(levels[order], keys), 0, len(levels) - 1)
        found = levels[order][pos] == keys
        codes = np.where(found, order[pos], np.nan).astype(float)
        unknown_mask = ~missing & ~found
    else:
        keys = pd.Series(values).astype(str).str.strip()
        lookup = {str(c): i for i, c in enumerate(categories)}
        codes = np.array(keys.map(lookup), dtype=float)  # writable copy
        unknown_mask = ~missing & np.isnan(codes)
    codes[missing] = np.nan
    unknown = list(pd.unique(values[unknown_mask]))[:5]
    return codes, unknown


class TableEncoder:
    """Encode/decode the modelled columns of ``schema`` (identifiers and text excluded)."""

    def __init__(self, schema: Schema) -> None:
        self.schema = schema
        self.columns: list[ColumnSchema] = schema.modelled

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def discrete(self) -> np.ndarray:
        """Boolean mask of discrete columns in the encoded matrix."""
        return np.array([c.is_discrete for c in self.columns], dtype=bool)

    @property
    def cardinalities(self) -> np.ndarray:
        """Number of categories per column (0 for numeric columns)."""
        return np.array([len(c.categories or []) if c.is_discrete else 0 for c in self.columns])

    def encode(self, df: pd.DataFrame, strict: bool = True) -> np.ndarray:
        """``(n_rows, n_modelled)`` float matrix; unknown categories raise when ``strict``."""
        missing = [c.name for c in self.columns if c.name not in df.columns]
        if missing:
            raise HealthForgeError(
                f"data lacks columns the schema describes: {', '.join(missing[:10])}"
            )
        out = np.empty((len(df), len(self.columns)), dtype=float)
        for j, column in enumerate(self.columns):
            out[:, j] = self._encode_column(df[column.name], column, strict)
        return out

    def _encode_column(self, series: pd.Series, column: ColumnSchema, strict: bool) -> np.ndarray:
        if column.is_discrete:
            codes, unknown = category_codes(series, column.categories or [])
            if unknown and strict:
                raise HealthForgeError(
                    f"column '{column.name}' has values not in the schema's categories: "
                    + ", ".join(repr(u) for u in unknown),
                    "add them to the schema's categories or fix the data",
                )
            return codes
        if column.kind == "datetime":
            return to_days(series, column.datetime_format).to_numpy(dtype=float)
        values = pd.to_numeric(series, errors="coerce")
        bad = values.isna() & series.notna()
        if bad.any() and strict:
            examples = ", ".join(repr(v) for v in series[bad].unique()[:3])
            raise HealthForgeError(
                f"column '{column.name}' is {column.kind} in the schema but holds text: {examples}",
                "fix the data or change the column's kind in the schema",
            )
        return values.to_numpy(dtype=float, na_value=np.nan)

    def decode(self, matrix: np.ndarray) -> pd.DataFrame:
        """DataFrame with the schema's columns, types, spellings, bounds and decimals."""
        data = {c.name: self._decode_column(matrix[:, j], c) for j, c in enumerate(self.columns)}
        return pd.DataFrame(data)

    def _decode_column(self, values: np.ndarray, column: ColumnSchema) -> pd.Series:
        missing = ~np.isfinite(values)
        if column.is_discrete:
            categories = np.asarray(column.categories, dtype=object)
            idx = np.clip(np.nan_to_num(values, nan=0).round().astype(int), 0, len(categories) - 1)
            decoded = categories[idx]
            decoded[missing] = None
            return _as_dtype(pd.Series(decoded), column.dtype, missing)
        values = values.copy()
        if column.decimals is not None:
            values = np.round(values, column.decimals)
        if column.minimum is not None or column.maximum is not None:
            values = np.clip(values, column.minimum, column.maximum)
        values[missing] = np.nan
        if column.kind == "datetime":
            dates = from_days(values, column.datetime_format, column.dtype)
            return (
                dates if column.dtype.startswith("datetime64") else _as_dtype(dates, "str", missing)
            )
        return _as_dtype(pd.Series(values), column.dtype, missing)


def _as_dtype(series: pd.Series, dtype: str, missing: np.ndarray) -> pd.Series:
    if dtype in {"str", "object", "string"}:
        # pandas < 3 turns None into the text "None" under astype(str): keep objects there.
        return series.astype("str") if _PANDAS_3 else series.astype(object)
    if missing.any() and dtype.lower().startswith(("int", "uint", "bool")):
        # numpy ints/bools cannot hold missing values; fall back to the nullable twins.
        dtype = {"bool": "boolean"}.get(dtype, dtype.capitalize() if dtype.islower() else dtype)
    try:
        return series.astype(dtype)
    except (TypeError, ValueError):
        return series.astype(object)
