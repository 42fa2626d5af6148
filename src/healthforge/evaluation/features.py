"""The numeric views of tables that every metric shares, fitted on the real data only.

Two views of the modelled columns (identifiers and free text are never compared):

* **codes** ``(n_rows, n_columns)``: one float per column. Discrete columns hold the
  index into the schema's categories, ``-1`` for a value the schema does not know
  (unseen category) and ``NaN`` when missing; numeric columns hold the value (days
  since 1970 for datetimes) or ``NaN``. Tree models (XGBoost handles ``NaN``), column
  tests, exact matching and predicates run on this view.
* **matrix** ``(n_rows, n_features)``: dense, no ``NaN``. Discrete columns are one-hot
  over the schema's categories plus a "missing" level when the real data has missing
  values, scaled by ``1/sqrt(2)`` so that two different categories are at distance 1;
  an unseen category is the all-zero "other" vector. Numeric columns are centred on the
  real median and divided by the real robust scale (IQR / 1.349), clipped to
  ``+-CLIP`` scale units so one wild synthetic value cannot dominate a distance, with
  missing values at 0 plus a 0/1 missing indicator when the real data has missing
  values. Distances, nearest neighbours, linear models and density estimates use it.

Nothing is fitted on the synthetic data, so a bad generator cannot move the yardstick.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from healthforge.data.encoding import category_codes
from healthforge.data.infer import to_days
from healthforge.data.schema import ColumnSchema
from healthforge.errors import HealthForgeError

CLIP = 10.0  # robust scale units; beyond this a value is simply "far"
UNSEEN = -1.0  # code of a category the schema does not list
_ONEHOT_SCALE = 1.0 / np.sqrt(2.0)


def encode_codes(df: pd.DataFrame, columns: list[ColumnSchema]) -> np.ndarray:
    """The codes view ``(len(df), len(columns))``: never raises on unknown values."""
    out = np.empty((len(df), len(columns)), dtype=float)
    for j, column in enumerate(columns):
        series = df[column.name].reset_index(drop=True)
        if column.is_discrete:
            codes, _ = category_codes(series, column.categories or [])
            unseen = np.isnan(codes) & ~series.isna().to_numpy()
            codes[unseen] = UNSEEN
            out[:, j] = codes
        elif column.kind == "datetime":
            out[:, j] = to_days(series, column.datetime_format).to_numpy(dtype=float)
        else:
            values = pd.to_numeric(series, errors="coerce")
            out[:, j] = values.to_numpy(dtype=float, na_value=np.nan)
    return out


@dataclass
class FeatureSpace:
    """Encodings fitted on the real data; ``columns`` are the schema's modelled columns."""

    columns: list[ColumnSchema]
    center: np.ndarray  # (n_columns,) real median of numeric columns, 0 for discrete
    scale: np.ndarray  # (n_columns,) real robust scale of numeric columns, 1 for discrete
    has_missing: np.ndarray  # (n_columns,) bool: the real data has missing values here
    groups: list[np.ndarray] = field(default_factory=list)  # matrix columns of each column

    @classmethod
    def fit(cls, real_codes: np.ndarray, columns: list[ColumnSchema]) -> FeatureSpace:
        """Fit on the codes view of the real data, shape ``(n_rows, n_columns)``."""
        p = len(columns)
        center, scale = np.zeros(p), np.ones(p)
        has_missing = np.isnan(real_codes).any(axis=0)
        for j, column in enumerate(columns):
            if column.is_discrete:
                continue
            values = real_codes[:, j]
            values = values[np.isfinite(values)]
            if values.size == 0:
                continue
            center[j] = np.median(values)
            q75, q25 = np.percentile(values, [75, 25])
            spread = (q75 - q25) / 1.349
            if not spread > 0:  # e.g. mostly one value: fall back to the standard deviation
                spread = float(np.std(values))
            scale[j] = spread if spread > 0 else 1.0
        space = cls(columns=columns, center=center, scale=scale, has_missing=has_missing)
        space.groups = space._groups()
        return space

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def index(self, name: str) -> int:
        return self.names.index(name)

    def width(self, j: int) -> int:
        """Number of matrix columns that column ``j`` occupies."""
        column = self.columns[j]
        base = len(column.categories or []) if column.is_discrete else 1
        return base + int(self.has_missing[j])

    def _groups(self) -> list[np.ndarray]:
        groups, start = [], 0
        for j in range(len(self.columns)):
            groups.append(np.arange(start, start + self.width(j)))
            start += self.width(j)
        return groups

    def feature_columns(self, keep: list[int]) -> np.ndarray:
        """Matrix column indices of the codes columns ``keep``."""
        if not keep:
            return np.zeros(0, dtype=int)
        return np.concatenate([self.groups[j] for j in keep])

    def matrix(self, codes: np.ndarray) -> np.ndarray:
        """The dense matrix view ``(n_rows, n_features)`` of a codes view."""
        n = codes.shape[0]
        blocks: list[np.ndarray] = []
        for j, column in enumerate(self.columns):
            values = codes[:, j]
            missing = np.isnan(values)
            if column.is_discrete:
                k = len(column.categories or [])
                block = np.zeros((n, self.width(j)))
                known = ~missing & (values >= 0) & (values < k)
                block[np.flatnonzero(known), values[known].astype(int)] = _ONEHOT_SCALE
                if self.has_missing[j]:
                    block[missing, k] = _ONEHOT_SCALE
            else:
                z = np.clip((values - self.center[j]) / self.scale[j], -CLIP, CLIP)
                z = np.where(missing, 0.0, z)
                block = z[:, None] if not self.has_missing[j] else np.column_stack([z, missing])
            blocks.append(block)
        return np.hstack(blocks) if blocks else np.zeros((n, 0))


def check_columns(df: pd.DataFrame, columns: list[ColumnSchema], what: str) -> None:
    """Raise when ``df`` lacks a modelled column, naming the columns."""
    absent = [c.name for c in columns if c.name not in df.columns]
    if absent:
        shown = ", ".join(absent[:10]) + (" ..." if len(absent) > 10 else "")
        raise HealthForgeError(
            f"the {what} data lacks column{'s' if len(absent) > 1 else ''} the real data has: "
            f"{shown}",
            "evaluate tables with the same columns (identifiers may be left out)",
        )
    if len(df) == 0:
        raise HealthForgeError(f"the {what} data has no rows")


def discrete_levels(codes: np.ndarray, n_categories: int) -> np.ndarray:
    """Integer levels of a discrete codes column: categories, then missing, then unseen.

    Shape ``(n_rows,)`` with values in ``0 .. n_categories + 1``.
    """
    levels = np.where(np.isnan(codes), n_categories, codes)
    levels = np.where(levels == UNSEEN, n_categories + 1, levels)
    return levels.astype(np.int64)
