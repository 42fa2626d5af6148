"""Gaussian copula: empirical marginals joined by a correlation matrix of normal scores."""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr, ndtri

from healthforge.generators.core.base import Generator
from healthforge.generators.core.marginals import Marginal
from healthforge.progress import ProgressCallback, report

_EPS = 1e-6


class GaussianCopulaGenerator(Generator):
    """Gaussian copula with proper marginals for every kind of column.

    Each column is mapped to normal scores through its empirical distribution
    (categories occupy intervals of the uniform scale; ties are broken at random),
    and missingness of a column is its own binary variable in the copula, so it can
    depend on other columns. The correlation matrix is estimated from pairwise
    complete observations and shrunk towards the identity (Ledoit-Wolf), which keeps
    it positive definite on wide tables (p >> n).

    Args:
        shrinkage: fixed shrinkage in [0, 1]; ``None`` estimates it (Ledoit-Wolf).
        seed: seed for fitting and the default seed for sampling.
    """

    name = "gaussian_copula"
    summary = "Empirical marginals joined by a Gaussian copula; missingness modelled."

    def __init__(self, shrinkage: float | None = None, seed: int = 0) -> None:
        super().__init__(seed=seed)
        self.shrinkage = shrinkage

    def _fit(self, X: np.ndarray, progress: ProgressCallback | None) -> None:
        rng = np.random.default_rng(self.seed)
        n, d = X.shape
        finite = np.isfinite(X)
        self.missing_rate_ = 1.0 - finite.mean(axis=0)
        self.missing_cols_ = np.flatnonzero(self.missing_rate_ > 0)
        self.marginals_ = []
        scores = np.full((n, d + len(self.missing_cols_)), np.nan)
        for j in range(d):
            marginal = Marginal(X[finite[:, j], j])
            self.marginals_.append(marginal)
            u = marginal.to_uniform(X[finite[:, j], j], rng)
            scores[finite[:, j], j] = ndtri(np.clip(u, _EPS, 1 - _EPS))
            report(progress, "fitting marginals", j + 1, d)
        for k, j in enumerate(self.missing_cols_):
            # missing <=> uniform below the missing rate
            p = self.missing_rate_[j]
            u = np.where(finite[:, j], p + (1 - p) * rng.random(n), p * rng.random(n))
            scores[:, d + k] = ndtri(np.clip(u, _EPS, 1 - _EPS))
        corr = _pairwise_correlation(scores)
        lam = self.shrinkage if self.shrinkage is not None else _ledoit_wolf(scores)
        self.shrinkage_ = float(lam)
        self.cholesky_ = np.linalg.cholesky(
            _nearest_correlation((1 - lam) * corr + lam * np.eye(len(corr)))
        )

    def _sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        z = rng.standard_normal((n, self.cholesky_.shape[0])) @ self.cholesky_.T
        u = ndtr(z)
        d = len(self.marginals_)
        out = np.empty((n, d))
        for j, marginal in enumerate(self.marginals_):
            out[:, j] = marginal.ppf(u[:, j])
        for k, j in enumerate(self.missing_cols_):
            out[u[:, d + k] < self.missing_rate_[j], j] = np.nan
        return out


def _pairwise_correlation(scores: np.ndarray) -> np.ndarray:
    """Correlation of columns of ``scores`` (n, d) over rows where both are observed."""
    observed = np.isfinite(scores).astype(float)
    filled = np.where(observed > 0, scores, 0.0)
    cross = filled.T @ filled
    squares = (filled**2).T @ observed  # [i, j]: sum of z_i^2 where z_j observed too
    denom = np.sqrt(squares * squares.T)
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = np.where(denom > 0, cross / denom, 0.0)
    np.fill_diagonal(corr, 1.0)
    return np.clip(corr, -1.0, 1.0)


def _ledoit_wolf(scores: np.ndarray) -> float:
    from sklearn.covariance import ledoit_wolf_shrinkage

    filled = np.nan_to_num(scores, nan=0.0)
    return float(np.clip(ledoit_wolf_shrinkage(filled, assume_centered=True), 0.0, 1.0))


def _nearest_correlation(matrix: np.ndarray, floor: float = 1e-6) -> np.ndarray:
    """Clip eigenvalues at ``floor`` and rescale to a unit diagonal."""
    sym = (matrix + matrix.T) / 2
    values, vectors = np.linalg.eigh(sym)
    fixed = (vectors * np.maximum(values, floor)) @ vectors.T
    scale = np.sqrt(np.diag(fixed))
    fixed = fixed / np.outer(scale, scale)
    return fixed + floor * np.eye(len(fixed))
