"""DPCopula (Li, Xiong & Jiang, EDBT 2014): a Gaussian copula with DP margins and correlations.

Fast DP baseline. On the discretised table (public or DP bins, see
:mod:`healthforge.generators.dp_base`) it releases, with the Gaussian mechanism:

* every column's histogram (half of the budget);
* Kendall's tau of the pairs it models (the other half), turned into a correlation
  with ``sin(pi * tau / 2)`` and repaired to the nearest valid correlation matrix.

With a target column only the target's pairs are measured by default: noise grows with
the square root of the number of pairs, and the target's pairs are what a model trained
on the synthetic data needs most. Adjacency is replace-one-record (``n`` public).
"""

from __future__ import annotations

import itertools
import math
from typing import Any, ClassVar

import numpy as np
from scipy.special import ndtr
from scipy.stats import kendalltau

from healthforge.errors import HealthForgeError
from healthforge.generators.dp_base import DPGenerator
from healthforge.progress import ProgressCallback, report

PAIR_MODES = ("target", "all")


class DPCopulaGenerator(DPGenerator):
    """Gaussian copula with noisy histograms and noisy Kendall's tau.

    Args (besides :class:`DPGenerator`'s):
        pairs: ``"target"`` (pairs with the target only; all pairs if there is no
            target) or ``"all"``.
    """

    name: ClassVar[str] = "dp_copula"
    summary: ClassVar[str] = "DP (ε, δ): Gaussian copula, noisy histograms and Kendall's tau"
    mechanism: ClassVar[str] = "DPCopula (Gaussian histograms + Gaussian Kendall's tau)"
    accountant: ClassVar[str] = "zCDP (Gaussian mechanism, replace-one adjacency), to (ε, δ)"

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

    def _fit_codes(
        self,
        codes: np.ndarray,
        sizes: np.ndarray,
        rho: float,
        rng: np.random.Generator,
        progress: ProgressCallback | None,
    ) -> dict[str, Any]:
        n, d = codes.shape
        # replace-one changes two cells of each histogram: L2 sensitivity sqrt(2 d)
        sigma_hist = math.sqrt(2 * d / (2 * rho / 2))
        self.cdfs_: list[np.ndarray] = []
        total = 0.0
        for j in range(d):
            counts = np.bincount(codes[:, j], minlength=int(sizes[j])).astype(float)
            noisy = np.maximum(counts + rng.normal(0, sigma_hist, len(counts)), 0.0)
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
        # Kendall's tau moves by at most 4 / (n + 1) when one record is replaced
        sigma_tau = math.sqrt(len(pairs)) * 4 / (n + 1) / math.sqrt(2 * rho / 2)
        corr = np.eye(d)
        for a, b in pairs:
            tau = kendalltau(codes[:, a], codes[:, b]).statistic
            tau = 0.0 if not np.isfinite(tau) else tau
            noisy = float(np.clip(tau + rng.normal(0, sigma_tau), -1, 1))
            corr[a, b] = corr[b, a] = math.sin(math.pi * noisy / 2)
        self.corr_ = _nearest_correlation(corr)
        self.chol_ = np.linalg.cholesky(self.corr_ + 1e-9 * np.eye(d))
        report(progress, "noisy correlations", 2, 2)
        return {
            "rho_histograms": rho / 2,
            "rho_correlations": rho / 2,
            "sigma_histograms": sigma_hist,
            "sigma_kendall_tau": sigma_tau,
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


def _nearest_correlation(matrix: np.ndarray) -> np.ndarray:
    """Clip negative eigenvalues of the symmetric ``(d, d)`` matrix and rescale to unit diagonal."""
    values, vectors = np.linalg.eigh((matrix + matrix.T) / 2)
    fixed = vectors @ np.diag(np.maximum(values, 1e-6)) @ vectors.T
    scale = np.sqrt(np.diag(fixed))
    return fixed / np.outer(scale, scale)
