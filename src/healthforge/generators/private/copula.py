"""DPCopula (Li, Xiong & Jiang, EDBT 2014): a Gaussian copula with DP margins and correlations.

Fast DP baseline. On the discretised table (public or DP bins, see
:mod:`healthforge.generators.private.domain`) it releases, with the Gaussian mechanism:

* every column's histogram (half of the budget);
* the contingency table of every pair it models (the other half). Each pair's Kendall's
  tau-b is computed from its noisy, clipped-non-negative table (post-processing), turned
  into a correlation with ``sin(pi * tau / 2)`` and repaired to the nearest valid
  correlation matrix.

The paper noises Kendall's tau directly with sensitivity ``4 / (n + 1)``; that bound is for
untied data and fails on binned codes (one ICU record moved tau-b by 0.075, 3.8 times the
bound), so the tables are noised instead: their sensitivity holds for any data.

Adjacency is add/remove one record: a histogram or a pair table then has L2 sensitivity 1,
so ``d`` histograms have ``sqrt(d)`` and ``k`` pair tables ``sqrt(k)``; the two halves
compose in zCDP. The row count is private: the released total is the mean of the noisy
histograms' sums.

With a target column only the target's pairs are measured by default: noise grows with
the square root of the number of pairs, and the target's pairs are what a model trained
on the synthetic data needs most.
"""

from __future__ import annotations

import itertools
import math
from typing import Any, ClassVar

import numpy as np
from scipy.special import ndtr

from healthforge.errors import HealthForgeError
from healthforge.generators.private.base import DPGenerator
from healthforge.privacy.mechanisms import gaussian_measure, gaussian_sigma
from healthforge.progress import ProgressCallback, report

PAIR_MODES = ("target", "all")


class DPCopulaGenerator(DPGenerator):
    """Gaussian copula from noisy histograms and noisy pair tables (via Kendall's tau-b).

    Args (besides :class:`DPGenerator`'s):
        pairs: ``"target"`` (pairs with the target only; all pairs if there is no
            target) or ``"all"``.
    """

    name: ClassVar[str] = "dp_copula"
    summary: ClassVar[str] = "DP (ε, δ): Gaussian copula from noisy histograms and pair tables"
    mechanism: ClassVar[str] = "DPCopula (Gaussian histograms + Gaussian pair tables -> tau-b)"
    accountant: ClassVar[str] = "zCDP (Gaussian mechanism, add/remove-one adjacency), to (ε, δ)"

    # duplicates: parameters spelled out one by one, as every generator's are: get_params and
    # the registry read this signature (scikit-learn convention)
    def __init__(
        self,
        epsilon: float = 1.0,
        delta: float | None = None,
        bounds: str = "auto",
        max_bins: int = 10,
        pairs: str = "target",
        noise_seed: int | None = None,
        seed: int = 0,
    ) -> None:
        super().__init__(epsilon, delta, bounds, max_bins, noise_seed, seed)
        if pairs not in PAIR_MODES:
            raise HealthForgeError(f"pairs must be one of {', '.join(PAIR_MODES)}, not {pairs!r}")
        self.pairs = pairs

    # duplicates: the signature of DPGenerator._fit_codes, which every DP generator implements
    def _fit_codes(
        self,
        codes: np.ndarray,
        sizes: np.ndarray,
        rho: float,
        rng: np.random.Generator,
        progress: ProgressCallback | None,
    ) -> dict[str, Any]:
        d = codes.shape[1]
        # add/remove one record moves one cell of each histogram by 1: L2 sqrt(d) in all
        sigma_hist = gaussian_sigma(rho / 2, math.sqrt(d))
        self.cdfs_: list[np.ndarray] = []
        total = 0.0
        for j in range(d):
            counts = np.bincount(codes[:, j], minlength=int(sizes[j])).astype(float)
            noisy = np.maximum(gaussian_measure(counts, sigma_hist, rng), 0.0)
            total += noisy.sum() / d
            if noisy.sum() <= 0:
                noisy = np.ones_like(noisy)
            self.cdfs_.append(np.cumsum(noisy) / noisy.sum())
        self.total_ = total
        report(progress, "noisy histograms", 1, 2)

        target = self._target_index()
        if self.pairs == "target" and target >= 0:
            pairs = [(min(target, j), max(target, j)) for j in range(d) if j != target]
        else:
            pairs = list(itertools.combinations(range(d), 2))
        corr = np.eye(d)
        sigma_pairs = 0.0
        if pairs:
            # each pair's contingency table has L2 sensitivity 1 (one cell moves by 1):
            # sqrt(#pairs) for all; the correlation is post-processing of the noisy tables
            sigma_pairs = gaussian_sigma(rho / 2, math.sqrt(len(pairs)))
            for a, b in pairs:
                table = _pair_table(codes, sizes, a, b)
                noisy = np.maximum(gaussian_measure(table, sigma_pairs, rng), 0.0)
                tau = _kendall_tau_b(noisy)
                corr[a, b] = corr[b, a] = math.sin(math.pi * tau / 2)
        self.corr_ = _nearest_correlation(corr)
        self.chol_ = np.linalg.cholesky(self.corr_ + 1e-9 * np.eye(d))
        report(progress, "noisy correlations", 2, 2)
        return {
            "rho_histograms": rho / 2,
            "rho_pair_tables": rho / 2 if pairs else 0.0,
            "sigma_histograms": sigma_hist,
            "sigma_pair_tables": sigma_pairs,
            "pairs_measured": len(pairs),
        }

    def _sample_codes(self, n: int, rng: np.random.Generator) -> np.ndarray:
        z = rng.standard_normal((n, len(self.cdfs_))) @ self.chol_.T
        u = ndtr(z)
        return np.column_stack(
            [
                np.minimum(np.searchsorted(cdf, u[:, j], "right"), len(cdf) - 1)
                for j, cdf in enumerate(self.cdfs_)
            ]
        )

    def _noisy_total(self) -> float:
        return self.total_

    def _target_index(self) -> int:
        names = [c.name for c in self.columns_]
        target = self.schema_.target
        return names.index(target) if target in names else -1


def _pair_table(codes: np.ndarray, sizes: np.ndarray, a: int, b: int) -> np.ndarray:
    """Contingency table ``(sizes[a], sizes[b])`` of the codes of columns ``a`` and ``b``."""
    shape = (int(sizes[a]), int(sizes[b]))
    flat = np.ravel_multi_index((codes[:, a], codes[:, b]), shape)
    return np.bincount(flat, minlength=shape[0] * shape[1]).astype(float).reshape(shape)


def _kendall_tau_b(table: np.ndarray) -> float:
    """Kendall's tau-b of the ordered codes behind a non-negative ``(r, c)`` table.

    Counts may be fractional (a noisy table): concordant minus discordant pair mass over
    the geometric mean of the pairs not tied on each side. 0 when a side has no spread.
    """
    # mass strictly below-right and below-left of every cell, by 2-D cumulative sums
    below = np.cumsum(table[::-1], axis=0)[::-1]  # rows >= i
    below = np.vstack([below[1:], np.zeros((1, table.shape[1]))])  # rows > i
    right = np.cumsum(below[:, ::-1], axis=1)[:, ::-1]
    right = np.hstack([right[:, 1:], np.zeros((table.shape[0], 1))])  # columns > j
    left = np.cumsum(below, axis=1)
    left = np.hstack([np.zeros((table.shape[0], 1)), left[:, :-1]])  # columns < j
    concordant = float((table * right).sum())
    discordant = float((table * left).sum())
    n = table.sum()
    rows, cols = table.sum(axis=1), table.sum(axis=0)
    # pairs of records not tied on the row code: (n^2 - sum of squared row totals) / 2
    untied_rows = (n * n - float(np.sum(rows * rows))) / 2
    untied_cols = (n * n - float(np.sum(cols * cols))) / 2
    if untied_rows <= 0 or untied_cols <= 0:
        return 0.0
    return float(np.clip((concordant - discordant) / math.sqrt(untied_rows * untied_cols), -1, 1))


def _nearest_correlation(matrix: np.ndarray) -> np.ndarray:
    """Clip negative eigenvalues of the symmetric ``(d, d)`` matrix and rescale to unit diagonal."""
    values, vectors = np.linalg.eigh((matrix + matrix.T) / 2)
    fixed = vectors @ np.diag(np.maximum(values, 1e-6)) @ vectors.T
    scale = np.sqrt(np.diag(fixed))
    return fixed / np.outer(scale, scale)
