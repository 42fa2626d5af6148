"""A cheap, model-free distance between a reference table and generated rows (to pick the
best epoch of a GAN, whose losses say little about sample quality)."""

from __future__ import annotations

import numpy as np


class FidelitySignal:
    """A cheap, model-free distance between a reference table and generated rows.

    Used to pick the best epoch of a GAN, whose losses say little about sample
    quality. Each column is binned (categories; numeric: at most ``n_bins`` quantile
    bins of the reference; missing: its own bin). The signal is the mean total
    variation distance of the column marginals plus the mean absolute difference of
    the pairwise correlation of bin indices (a rank correlation that also sees
    missingness). 0 = identical summaries.

    Args:
        X: reference encoded rows ``(n, d)``.
        discrete: ``(d,)`` bool mask of discrete columns.
        n_bins: quantile bins per numeric column.
    """

    def __init__(self, X: np.ndarray, discrete: np.ndarray, n_bins: int = 20) -> None:
        self.discrete = np.asarray(discrete, dtype=bool)
        self.edges: list[np.ndarray] = []
        for j in range(X.shape[1]):
            col = X[np.isfinite(X[:, j]), j]
            if self.discrete[j] or col.size == 0:
                self.edges.append(np.unique(col) if col.size else np.zeros(1))
            else:
                inner = np.quantile(col, np.linspace(0, 1, n_bins + 1)[1:-1])
                self.edges.append(np.unique(inner))
        self.ref_bins = self._bins(X)
        self.ref_hist = self._hists(self.ref_bins)
        self.ref_corr = _corr(self.ref_bins)

    def _bins(self, X: np.ndarray) -> np.ndarray:
        out = np.empty(X.shape, dtype=np.int64)
        for j, edges in enumerate(self.edges):
            col = X[:, j]
            finite = np.isfinite(col)
            side = "left" if self.discrete[j] else "right"
            idx = np.searchsorted(edges, np.where(finite, col, 0.0), side=side)
            out[:, j] = np.where(finite, idx, len(edges) + 1)
        return out

    def _hists(self, bins: np.ndarray) -> list[np.ndarray]:
        return [
            np.bincount(bins[:, j], minlength=len(e) + 2) / len(bins)
            for j, e in enumerate(self.edges)
        ]

    def __call__(self, X: np.ndarray) -> float:
        """Distance of generated encoded rows ``X`` ``(m, d)`` to the reference."""
        bins = self._bins(X)
        tv = [
            0.5 * np.abs(h - r).sum() for h, r in zip(self._hists(bins), self.ref_hist, strict=True)
        ]
        pairs = np.abs(_corr(bins) - self.ref_corr)
        d = len(self.edges)
        pair_err = pairs[np.triu_indices(d, 1)].mean() if d > 1 else 0.0
        return float(np.mean(tv) + pair_err)


def _corr(bins: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = np.corrcoef(bins.astype(float), rowvar=False)
    return np.nan_to_num(np.atleast_2d(corr), nan=0.0)
