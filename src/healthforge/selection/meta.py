"""Dataset meta-features: what the selection policy knows about a table.

Only aggregate shape is kept - rows, modelled columns, the share of discrete columns,
the share of missing cells, p/n and the minority share of the target - never a value of
any row. These are the context of the bandit (:mod:`healthforge.selection.policy`) and
what a user's store records next to each run.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import pandas as pd

from healthforge.errors import HealthForgeError

# kernel bandwidths: how far apart two tables may be on each feature and still inform
# each other (a decade of rows or columns, a third of the column mix, ...)
BANDWIDTHS: dict[str, float] = {
    "log_rows": 0.5,
    "log_columns": 0.5,
    "share_categorical": 0.3,
    "missingness": 0.15,
    "target_minority": 0.2,
}


@dataclass(frozen=True)
class MetaFeatures:
    """Aggregate shape of one table (no row values)."""

    rows: int
    columns: int
    share_categorical: float | None = None
    missingness: float | None = None
    target: str | None = None
    target_minority: float | None = None  # share of the rarest class; None: no/numeric target
    name: str = ""

    @property
    def p_over_n(self) -> float:
        return self.columns / max(self.rows, 1)

    @property
    def wide(self) -> bool:
        """More modelled columns than rows (p >> n): some generators refuse these."""
        return self.columns > self.rows

    def vector(self) -> dict[str, float | None]:
        """The features the similarity kernel compares (None: unknown, not compared)."""
        return {
            "log_rows": math.log10(max(self.rows, 1)),
            "log_columns": math.log10(max(self.columns, 1)),
            "share_categorical": self.share_categorical,
            "missingness": self.missingness,
            "target_minority": self.target_minority,
        }

    def similarity(self, other: MetaFeatures) -> float:
        """Gaussian kernel in [0, 1] over the features both tables know (1: same shape)."""
        a, b = self.vector(), other.vector()
        total = 0.0
        for key, width in BANDWIDTHS.items():
            x, y = a[key], b[key]
            if x is None or y is None:
                continue
            total += ((x - y) / width) ** 2
        return math.exp(-0.5 * total)

    def describe(self) -> str:
        """The table's kind in words: 'mixed tables of 1-10k rows'."""
        return f"{self.mix_words()} tables of {self.size_words()}"

    def mix_words(self) -> str:
        share = self.share_categorical
        if self.wide:
            kind = "wide (more columns than rows)"
        elif share is None:
            kind = "unknown-mix"
        elif share < 0.2:
            kind = "mostly numeric"
        elif share > 0.8:
            kind = "mostly categorical"
        else:
            kind = "mixed"
        return kind

    def size_words(self) -> str:
        bands = ((1_000, "under 1k rows"), (10_000, "1-10k rows"), (100_000, "10-100k rows"))
        return next((words for limit, words in bands if self.rows < limit), "100k+ rows")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MetaFeatures:
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**known)


def meta_features(
    frame: pd.DataFrame, schema: Any = None, target: str | None = None, name: str = ""
) -> MetaFeatures:
    """The meta-features of ``frame`` (kinds from ``schema``, else inferred).

    Identifiers and free text are not counted (they are never modelled).
    """
    if frame.shape[0] == 0:
        raise HealthForgeError("the data has no rows", "a table with rows is needed")
    if schema is None:
        from healthforge.data import infer_schema

        if target is not None and target not in frame.columns:
            raise HealthForgeError(
                f"target column '{target}' is not in the data",
                f"columns are: {', '.join(map(str, frame.columns[:25]))}",
            )
        schema = infer_schema(frame, target=target)
    modelled = [c for c in schema.modelled if c.name in frame.columns]
    if not modelled:
        raise HealthForgeError("no modelled columns in the data", "check the schema's roles")
    names = [c.name for c in modelled]
    discrete = sum(1 for c in modelled if c.is_discrete)
    target = target if target is not None else getattr(schema, "target", None)
    minority = None
    if target is not None and target in frame.columns:
        column = next((c for c in modelled if c.name == target), None)
        values = frame[target].dropna()
        if column is not None and column.is_discrete and len(values):
            minority = float(values.value_counts(normalize=True).min())
    return MetaFeatures(
        rows=int(frame.shape[0]),
        columns=len(names),
        share_categorical=discrete / len(names),
        missingness=float(frame[names].isna().to_numpy().mean()),
        target=target,
        target_minority=minority,
        name=name,
    )
