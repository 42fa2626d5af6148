"""One-dimensional empirical distributions shared by the statistical generators.

A :class:`Marginal` keeps either the exact support of a column with few distinct values
(so coarse rounding in real data - a strong tell for detectors - is reproduced) or a
quantile grid of a continuous column (so no training value needs to be stored). It
maps values to uniforms (probability integral transform, ties broken at random) and
uniforms back to values (``ppf``).
"""

from __future__ import annotations

import numpy as np

MAX_SUPPORT = 64  # at most this many distinct values: keep the exact support
GRID_SIZE = 1001  # quantile grid of a continuous column


class Marginal:
    """Empirical distribution of the finite values of one column.

    Args:
        values: 1-D array of observed (finite) values, shape ``(n,)``.
        max_support: keep the exact support when there are at most this many values.
    """

    def __init__(self, values: np.ndarray, max_support: int = MAX_SUPPORT) -> None:
        values = np.asarray(values, dtype=float)
        values = values[np.isfinite(values)]
        if values.size == 0:
            values = np.zeros(1)
        support, counts = np.unique(values, return_counts=True)
        self.discrete = len(support) <= max_support
        if self.discrete:
            self.support = support
            self.cdf = np.cumsum(counts) / counts.sum()
        else:
            self.levels = np.linspace(0.0, 1.0, GRID_SIZE)
            self.quantiles = np.quantile(values, self.levels)

    @property
    def n_support(self) -> int:
        return len(self.support) if self.discrete else 0

    def to_uniform(self, values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Probability integral transform of ``values`` (shape ``(n,)``) into (0, 1)."""
        values = np.asarray(values, dtype=float)
        if self.discrete:
            idx = np.clip(np.searchsorted(self.support, values), 0, len(self.support) - 1)
            high = self.cdf[idx]
            low = np.where(idx > 0, self.cdf[np.maximum(idx - 1, 0)], 0.0)
            return low + (high - low) * rng.random(values.shape)
        # Rank-based transform of the data itself, ties broken at random.
        order = np.lexsort((rng.random(values.shape), values))
        ranks = np.empty(len(values))
        ranks[order] = np.arange(len(values))
        return (ranks + rng.random(values.shape)) / len(values)

    def ppf(self, u: np.ndarray) -> np.ndarray:
        """Values at uniform quantiles ``u`` (shape ``(n,)``)."""
        u = np.asarray(u, dtype=float)
        if self.discrete:
            idx = np.searchsorted(self.cdf, u, side="right")
            return self.support[np.clip(idx, 0, len(self.support) - 1)]
        return np.interp(u, self.levels, self.quantiles)

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return self.ppf(rng.random(n))
