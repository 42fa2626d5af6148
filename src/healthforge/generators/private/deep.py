"""Shared base of the DP-SGD deep generators (``dpctgan``, ``dptvae``).

What may touch the private rows, and how each piece is paid for:

* **the domain** (numeric bounds and bins, category lists, missing levels): the public
  schema, or :mod:`healthforge.generators.private.domain`'s DP release (zCDP, part of the
  budget). Each column becomes a one-hot block over its *public* levels (bins for
  numbers), so the network's representation reads nothing from the data: no
  mode-specific Gaussian mixtures, no observed-value lists;
* **a few noisy counts** (``COUNT_SHARE`` of the model budget; Gaussian mechanism,
  zCDP): the row total and, for ``dpctgan``, the frequencies of the conditional vector;
* **the network weights**: DP-SGD (:mod:`healthforge.generators.private.sgd`) with the noise
  calibrated so that domain release + counts + every planned step compose, in Rényi
  DP, to at most (epsilon, delta). Training runs a fixed number of epochs: early
  stopping or epoch selection on the private rows would be a further, unpaid query.

Decoding draws a value uniformly inside its bin (integers on one-per-value bins are
exact), as the other DP generators do. The model keeps no training row, hash or count
that is not noisy.
"""

from __future__ import annotations

import math
import time
from abc import abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

import numpy as np

from healthforge.generators.deep.base import DeepGenerator
from healthforge.generators.deep.transform import ColumnPlan, NeuralTransformer
from healthforge.generators.private.base import DPGenerator
from healthforge.generators.private.fit import PrivateFit
from healthforge.generators.private.sgd import (
    DPSGDBudget,
    PrivateTraining,
    check_dp_sgd_params,
    make_private,
)
from healthforge.privacy.accounting import budget_record
from healthforge.privacy.mechanisms import gaussian_measure, gaussian_sigma
from healthforge.progress import ProgressCallback

COUNT_SHARE = 0.05  # share of the model's zCDP budget spent on noisy counts


def public_transformer(sizes: np.ndarray) -> NeuralTransformer:
    """A transformer whose every column is a one-hot over ``0..sizes[j]-1`` (public codes).

    Built without looking at any row, unlike :meth:`NeuralTransformer.fit`.
    """
    transformer = NeuralTransformer()
    transformer.plans = []
    start = 0
    for size in sizes:
        plan = ColumnPlan("onehot", start, False, levels=np.arange(int(size), dtype=float))
        transformer.plans.append(plan)
        start += plan.width
    transformer.dim = start
    transformer.n_columns = len(sizes)
    return transformer


@contextmanager
def isolated_rng(torch: Any, rng: np.random.Generator) -> Iterator[None]:
    """Run a DP-SGD step on torch's global RNG freshly seeded from ``rng``, then restore it.

    A Poisson batch's size is private; the step's random draws (dropout masks, the VAE's
    reparameterisation noise) grow with it. Without this, the draws of every later step
    would shift with past batch sizes - a channel the accountant does not cover.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(rng.integers(2**62)))
        yield


class DeepDPGenerator(DPGenerator, DeepGenerator):
    """(epsilon, delta)-DP network trained with DP-SGD on the public one-hot codes.

    Subclasses implement ``_train(data, codes, transformer, prior_rho, delta, progress)``
    returning the opacus run's :class:`DPSGDBudget`, and ``_sample_codes(n, rng)``.
    """

    accountant: ClassVar[str] = (
        "RDP (opacus; sampled Gaussian mechanism) composed with the zCDP domain release "
        "and noisy counts, converted to (ε, δ)"
    )
    count_columns: ClassVar[bool] = False  # release noisy histograms of discrete columns

    def _check_dp_sgd(self) -> None:
        check_dp_sgd_params(
            self.epochs, self.batch_size, self.max_grad_norm, self.accounting, f"{self.name}: "
        )

    def _before_fit(self) -> None:
        self._check_dp_sgd()

    def _make_private(
        self, module: Any, optimizer: Any, rows: Any, prior_rho: float, delta: float
    ) -> PrivateTraining:
        """:func:`make_private` with this generator's DP-SGD settings (epsilon, epochs,
        batch size, clipping norm, accountant, noise seed), after ``prior_rho`` spent."""
        # duplicates: the settings passed keyword by keyword; alike in shape to other lists
        return make_private(
            module,
            optimizer,
            rows,
            target_epsilon=self.epsilon,
            delta=delta,
            epochs=self.epochs,
            batch_size=self.batch_size,
            max_grad_norm=self.max_grad_norm,
            accountant=self.accounting,
            prior_rho=prior_rho,
            seed=self.noise_seed,
            mechanism=self.mechanism,
        )

    def _budget_record(self, run: PrivateFit, split_model: dict[str, Any]) -> dict[str, Any]:
        """The accountant's epsilon of the DP-SGD run, composed with the domain release and
        the noisy counts."""
        sgd: DPSGDBudget = self.sgd_budget_
        return budget_record(
            self.mechanism,
            sgd.epsilon_spent,
            run.delta,
            {
                "epsilon_target": float(self.epsilon),
                "rho_domain": run.rho_domain,
                "domain": run.split_domain,
                "rho_counts": split_model["rho_counts"],
                "counts": split_model["counts"],
                "dp_sgd": sgd.as_dict(),
                "delta_dp_sgd_and_zcdp_rdp": run.delta - run.delta_select,
                "delta_category_selection": run.delta_select,
            },
            self.accountant,
            public_schema=run.public,
            row_count="public (DP-SGD's sampling rate uses n; add/remove-one adjacency)",
        )

    # duplicates: the signature of DPGenerator._fit_codes, which every DP generator implements
    def _fit_codes(
        self,
        codes: np.ndarray,
        sizes: np.ndarray,
        rho: float,
        rng: np.random.Generator,
        progress: ProgressCallback | None,
    ) -> dict[str, Any]:
        started = time.perf_counter()
        rho_domain = self.budget_context_["rho_domain"]
        delta = self.budget_context_["delta_model"]
        rho_counts = COUNT_SHARE * rho
        counts = self._release_counts(codes, sizes, rho_counts, rng)
        transformer = public_transformer(sizes)
        self.transformer_ = transformer
        onehot = transformer.transform(codes.astype(float), rng)
        self.sgd_budget_ = self._train(
            onehot, codes, transformer, rho_domain + rho_counts, delta, progress
        )
        self.timing_ = {"training_s": time.perf_counter() - started}
        return {"rho_counts": rho_counts, "counts": counts}

    def _release_counts(
        self, codes: np.ndarray, sizes: np.ndarray, rho: float, rng: np.random.Generator
    ) -> dict[str, Any]:
        """Noisy row total and (``count_columns``) noisy histograms of discrete columns.

        Adding or removing a row changes the total by 1 and one cell per histogram:
        L2 sensitivity ``sqrt(1 + k)`` for ``k`` histograms.
        """
        columns = [j for j in range(codes.shape[1]) if self.count_columns and self.discrete_[j]]
        sigma = gaussian_sigma(rho, math.sqrt(1 + len(columns)))
        self.noisy_total_ = float(gaussian_measure(np.array(len(codes)), sigma, rng))
        self.noisy_histograms_: dict[int, np.ndarray] = {}
        for j in columns:
            counts = np.bincount(codes[:, j], minlength=int(sizes[j]))
            self.noisy_histograms_[j] = gaussian_measure(counts, sigma, rng)
        return {
            "sigma": sigma,
            "histograms": len(columns),
            "l2_sensitivity": math.sqrt(1 + len(columns)),
        }

    def _noisy_total(self) -> float:
        return self.noisy_total_

    # duplicates: the interface dpctgan and dptvae implement with this same signature
    @abstractmethod
    def _train(
        self,
        onehot: np.ndarray,
        codes: np.ndarray,
        transformer: NeuralTransformer,
        prior_rho: float,
        delta: float,
        progress: ProgressCallback | None,
    ) -> DPSGDBudget:
        """Train under DP-SGD on ``onehot`` ``(n, dim)``; return the accountant's budget."""
