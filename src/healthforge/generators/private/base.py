"""The base of the marginal and deep DP generators: (epsilon, delta), codes, budget record.

A DP generator may only learn from the private rows through its noisy mechanism. The
fit starts, as every generator's does, in ``Generator.fit``, which for a private instance
runs :func:`~healthforge.generators.private.fit.private_fit`: the public schema (only one
passed explicitly), the budget split and the domain release. What is easy to leak "for
free" around the mechanism is handled there and in ``Generator.fit``: numeric bounds and
category lists come from the public schema or a noisy release
(:mod:`~healthforge.generators.private.domain`), and the model file keeps only the released
domain, a noisy row count and no hashes of training rows. Adjacency is add/remove one
record throughout (the row count is private unless a mechanism states otherwise).

Subclasses implement ``_fit_codes(codes, sizes, rho, rng, progress)`` on the discretised
table (integers ``0..sizes[j]-1``, one
:class:`~healthforge.generators.private.discrete.DiscreteColumn` per column),
``_sample_codes(n, rng)`` and ``_noisy_total()``.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Any, ClassVar

import numpy as np

from healthforge.errors import HealthForgeError
from healthforge.generators.core.base import Generator
from healthforge.generators.private.fit import PrivateFit
from healthforge.privacy.accounting import budget_record, check_delta, check_epsilon
from healthforge.progress import ProgressCallback

BOUNDS_MODES = ("auto", "schema", "dp")


class DPGenerator(Generator):
    """Base of the DP generators: (epsilon, delta), public domain, budget record.

    Args:
        epsilon: privacy-loss budget, > 0 (smaller is more private).
        delta: failure probability in (0, 1/n); default ``min(1/n^2, 1e-6)``.
        bounds: where numeric bounds and category lists come from. ``"auto"``: the
            schema passed to ``fit`` is public, gaps are estimated with DP; an inferred
            schema is never trusted. ``"schema"`` (strict): every numeric column needs
            ``minimum``/``maximum`` in a schema you supply. ``"dp"``: ignore the schema's
            bounds and categories and estimate them all with DP.
        max_bins: bins per numeric column (fewer bins, less noise per cell).
        noise_seed: seed of the privacy noise. ``None`` (default) draws it from the OS:
            noise regenerated from a known seed could be subtracted, so only tests set it.
        seed: seed of sampling.
    """

    family: ClassVar[str] = "privacy"
    differential_privacy: ClassVar[bool] = True
    high_dimensional: ClassVar[bool] = False
    mechanism: ClassVar[str] = ""
    accountant: ClassVar[str] = "zCDP (Gaussian and exponential mechanisms), converted to (ε, δ)"

    # duplicates: parameters spelled out one by one, as every generator's are: get_params and
    # the registry read this signature (scikit-learn convention)
    def __init__(
        self,
        epsilon: float = 1.0,
        delta: float | None = None,
        bounds: str = "auto",
        max_bins: int = 10,
        noise_seed: int | None = None,
        seed: int = 0,
    ) -> None:
        super().__init__(seed=seed)
        self.epsilon = epsilon
        self.delta = delta
        self.bounds = bounds
        self.max_bins = max_bins
        self.noise_seed = noise_seed
        check_epsilon(epsilon)
        if delta is not None:
            check_delta(delta)
        if bounds not in BOUNDS_MODES:
            raise HealthForgeError(
                f"bounds must be one of {', '.join(BOUNDS_MODES)}, not {bounds!r}",
                "'schema' needs minimum/maximum in your schema; 'auto' estimates gaps with DP",
            )
        if isinstance(max_bins, bool) or not isinstance(max_bins, int) or max_bins < 2:
            raise HealthForgeError(f"max_bins must be a whole number >= 2, not {max_bins!r}")

    # -- fitting --------------------------------------------------------------------
    # duplicates: private_fit's keywords, as Generator._privacy asks; the lm's _privacy
    # names the same settings (its max_bins is n_bins)
    def _privacy(self) -> dict[str, Any]:
        return {
            "bounds": self.bounds,
            "epsilon": self.epsilon,
            "delta": self.delta,
            "noise_seed": self.noise_seed,
            "max_bins": self.max_bins,
        }

    def _fit(self, X: np.ndarray, progress: ProgressCallback | None) -> None:
        """Fit on the released domain's codes of ``X`` with the model's share of rho
        (``Generator.fit`` has released the domain: ``self._private_run``)."""
        run = self._private_run
        assert run is not None  # is_private: Generator.fit went through private_fit
        self.columns_ = run.columns
        codes = np.column_stack([c.encode(X[:, j]) for j, c in enumerate(run.columns)])
        sizes = np.array([c.size for c in run.columns])
        self.discrete_ = np.array([c.discrete for c in run.columns])
        self.cardinalities_ = sizes
        # DP-SGD subclasses compose the domain release with their own (RDP) accountant
        delta_model = run.delta - run.delta_select
        self.budget_context_ = {"rho_domain": run.rho_domain, "delta_model": delta_model}
        split_model = self._fit_codes(codes, sizes, run.rho - run.rho_domain, run.rng, progress)
        self.n_train_ = max(2, round(self._noisy_total()))
        self.dp_budget_ = self._budget_record(run, split_model)

    def _budget_record(self, run: PrivateFit, split_model: dict[str, Any]) -> dict[str, Any]:
        """What the fit spent: the domain release and the model's split (``_fit_codes``)."""
        return budget_record(
            self.mechanism,
            run.epsilon,
            run.delta,
            {
                "rho_total": run.rho,
                "domain": run.split_domain,
                "model": split_model,
                "delta_zcdp_conversion": run.delta - run.delta_select,
                "delta_category_selection": run.delta_select,
            },
            self.accountant,
            public_schema=run.public,
        )

    # duplicates: the interface each DP generator implements with this same signature
    @abstractmethod
    def _fit_codes(
        self,
        codes: np.ndarray,
        sizes: np.ndarray,
        rho: float,
        rng: np.random.Generator,
        progress: ProgressCallback | None,
    ) -> dict[str, Any]:
        """Fit on ``codes`` ``(n_rows, n_cols)`` ints with ``rho``-zCDP; return the split."""

    @abstractmethod
    def _sample_codes(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``(n, n_cols)`` integer codes drawn from the fitted model."""

    @abstractmethod
    def _noisy_total(self) -> float:
        """The model's (noisy) estimate of the number of training rows."""

    def _sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        codes = self._sample_codes(n, rng)
        return np.column_stack([c.decode(codes[:, j], rng) for j, c in enumerate(self.columns_)])
