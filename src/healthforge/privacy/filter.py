"""Post-generation privacy filter for any generator.

Drops synthetic rows that

* **copy** a training record (identical on every modelled column);
* lie **too close** to a training record: nearer than the ``percentile``-th (5th by
  default) distance from real holdout records to their nearest training record - closer
  than real people who were *not* in the training data typically are;
* carry a **quasi-identifier combination that is unique** in the real data the filter is
  given - training and holdout rows together (that combination singles out one real
  person, whether or not the generator saw them).

Distances reuse the evaluation suite's encoding and nearest-neighbour code, so the
filter and ``privacy.dcr_*`` measure the same thing. The filter reads the private
training data: it is an empirical safeguard, not part of any DP guarantee.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from healthforge.data.infer import infer_schema
from healthforge.data.schema import Schema
from healthforge.errors import HealthForgeError
from healthforge.evaluation.features import FeatureSpace, encode_codes
from healthforge.evaluation.privacy import nearest_distances, row_hashes

DEFAULT_PERCENTILE = 5.0
MAX_ROUNDS = 10  # top-up rounds of filtered_sample before giving up


@dataclass
class FilterReport:
    """How many synthetic rows the filter removed, and why (each row counted once)."""

    rows_in: int
    rows_kept: int
    removed_copies: int
    removed_too_close: int
    removed_unique_quasi_identifiers: int
    distance_threshold: float | None
    percentile: float
    quasi_identifiers: list[str] = field(default_factory=list)

    @property
    def removed(self) -> int:
        return self.rows_in - self.rows_kept

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "removed": self.removed}

    def merge(self, other: FilterReport) -> FilterReport:
        """Totals of two filter passes with the same settings."""
        return FilterReport(
            self.rows_in + other.rows_in,
            self.rows_kept + other.rows_kept,
            self.removed_copies + other.removed_copies,
            self.removed_too_close + other.removed_too_close,
            self.removed_unique_quasi_identifiers + other.removed_unique_quasi_identifiers,
            self.distance_threshold,
            self.percentile,
            self.quasi_identifiers,
        )


class PrivacyFilter:
    """The filter fitted on the training rows (and holdout rows for the distance threshold).

    Args:
        train: the rows the generator was fitted on, ``(n_train, n_columns)``.
        holdout: real rows the generator never saw; they set the distance threshold and
            count toward quasi-identifier uniqueness. Without them only copies and
            combinations unique in ``train`` are removed.
        schema: the schema of the data (inferred from ``train`` when not given).
        percentile: percentile of holdout-to-train distances used as the threshold.
        quasi_identifiers: columns whose combination may single someone out (default:
            the schema's ``quasi_identifier`` roles).
    """

    def __init__(
        self,
        train: pd.DataFrame,
        holdout: pd.DataFrame | None = None,
        schema: Schema | None = None,
        percentile: float = DEFAULT_PERCENTILE,
        quasi_identifiers: list[str] | None = None,
    ) -> None:
        if not 0 <= percentile < 50:
            raise HealthForgeError(
                f"the filter percentile must be in [0, 50), not {percentile}",
                "the default, 5, removes rows closer than 95% of unseen real records are",
            )
        schema = infer_schema(train) if schema is None else schema
        self.columns = [c for c in schema.modelled if c.name in train.columns]
        self.percentile = float(percentile)
        train_codes = encode_codes(train, self.columns)
        self.space = FeatureSpace.fit(train_codes, self.columns)
        self.train_dense = self.space.matrix(train_codes)
        self.train_hashes = np.unique(row_hashes(train_codes))
        self.threshold: float | None = None
        real_codes = train_codes  # every real row: quasi-identifier uniqueness is over these
        if holdout is not None and len(holdout):
            holdout_codes = encode_codes(holdout, self.columns)
            holdout_d = nearest_distances(self.train_dense, self.space.matrix(holdout_codes), k=1)
            self.threshold = float(np.percentile(holdout_d[:, 0], percentile))
            real_codes = np.vstack([train_codes, holdout_codes])
        names = [c.name for c in self.columns]
        qi = schema.quasi_identifiers() if quasi_identifiers is None else list(quasi_identifiers)
        unknown = [q for q in qi if q not in names]
        if unknown:
            raise HealthForgeError(
                f"quasi-identifiers not among the modelled columns: {', '.join(unknown)}"
            )
        self.quasi_identifiers = qi
        self._qi_index = [names.index(q) for q in qi]
        self.unique_qi = np.empty(0, dtype=np.uint64)
        if qi:
            # a combination held by one training row and one holdout row singles out no one;
            # one held by a single holdout patient does, though the generator never saw them
            hashes = row_hashes(real_codes[:, self._qi_index])
            values, counts = np.unique(hashes, return_counts=True)
            self.unique_qi = values[counts == 1]

    def apply(self, synthetic: pd.DataFrame) -> tuple[pd.DataFrame, FilterReport]:
        """The kept rows of ``synthetic`` (index reset) and the report."""
        codes = encode_codes(synthetic, self.columns)
        copies = np.isin(row_hashes(codes), self.train_hashes)
        close = np.zeros(len(codes), dtype=bool)
        if self.threshold is not None and len(codes):
            d = nearest_distances(self.train_dense, self.space.matrix(codes), k=1)[:, 0]
            close = (d < self.threshold) & ~copies
        unique = np.zeros(len(codes), dtype=bool)
        if self._qi_index and len(codes):
            unique = np.isin(row_hashes(codes[:, self._qi_index]), self.unique_qi)
            unique &= ~copies & ~close
        keep = ~(copies | close | unique)
        report = FilterReport(
            rows_in=len(codes),
            rows_kept=int(keep.sum()),
            removed_copies=int(copies.sum()),
            removed_too_close=int(close.sum()),
            removed_unique_quasi_identifiers=int(unique.sum()),
            distance_threshold=self.threshold,
            percentile=self.percentile,
            quasi_identifiers=list(self.quasi_identifiers),
        )
        return synthetic[keep].reset_index(drop=True), report


def privacy_filter(
    synthetic: pd.DataFrame,
    train: pd.DataFrame,
    holdout: pd.DataFrame | None = None,
    schema: Schema | None = None,
    percentile: float = DEFAULT_PERCENTILE,
    quasi_identifiers: list[str] | None = None,
) -> tuple[pd.DataFrame, FilterReport]:
    """Filter ``synthetic`` against ``train`` (see the module docstring)."""
    return PrivacyFilter(train, holdout, schema, percentile, quasi_identifiers).apply(synthetic)


def filtered_sample(
    model: Any,
    n: int,
    privacy: PrivacyFilter,
    seed: int | None = None,
    conditions: Any = None,
) -> tuple[pd.DataFrame, FilterReport]:
    """``n`` rows from a fitted ``model`` that pass ``privacy``: removed rows are redrawn."""
    base = model.seed if seed is None else seed
    kept: list[pd.DataFrame] = []
    total: FilterReport | None = None
    have, want = 0, n
    for round_ in range(MAX_ROUNDS):
        share = 1.0 if total is None else max(total.rows_kept / max(total.rows_in, 1), 0.05)
        batch = int(np.ceil(want / share * (1.0 if total is None else 1.2)))
        frame = model.sample(batch, seed=(int(base) + 7919 * round_), conditions=conditions)
        rows, report = privacy.apply(frame)
        total = report if total is None else total.merge(report)
        kept.append(rows.head(want))
        have += len(kept[-1])
        want = n - have
        if want <= 0:
            return pd.concat(kept, ignore_index=True), total
    raise HealthForgeError(
        f"the privacy filter removed too many rows: {have} of {n} kept after {MAX_ROUNDS} rounds",
        "the generator copies the training data closely; try a DP generator or more data",
    )
