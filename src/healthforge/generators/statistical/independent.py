"""Independent marginals: each column drawn on its own. The baseline every report beats."""

from __future__ import annotations

import numpy as np

from healthforge.generators.core.base import Generator
from healthforge.generators.core.marginals import Marginal
from healthforge.progress import ProgressCallback, report


class IndependentGenerator(Generator):
    """Samples each column from its own empirical distribution and missing rate.

    Keeps every marginal and no dependence at all: a floor for fidelity and utility and
    a reference for privacy.
    """

    name = "independent"
    summary = "Each column from its own distribution; no dependence (baseline)."

    def _fit(self, X: np.ndarray, progress: ProgressCallback | None) -> None:
        finite = np.isfinite(X)
        self.missing_rate_ = 1.0 - finite.mean(axis=0)
        self.marginals_ = []
        for j in range(X.shape[1]):
            self.marginals_.append(Marginal(X[finite[:, j], j]))
            report(progress, "fitting marginals", j + 1, X.shape[1])

    def _sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        out = np.empty((n, len(self.marginals_)))
        for j, marginal in enumerate(self.marginals_):
            out[:, j] = marginal.sample(n, rng)
            out[rng.random(n) < self.missing_rate_[j], j] = np.nan
        return out
