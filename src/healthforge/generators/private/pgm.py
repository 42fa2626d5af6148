"""AIM and MST (McKenna et al. 2021, 2022): noisy marginals, then private-pgm's estimation.

Both measure noisy marginals of the discretised table with the Gaussian mechanism and
fit a graphical model to them with private-pgm's mirror descent, stopped by a
convergence check rather than a fixed 5,000 iterations. The estimation runs in numpy
(:mod:`healthforge.generators.private.pgm_numpy`, checked against ``mbi`` 2.0 in the tests):
``mbi``'s jax programs cost more to compile on a CPU than these small models cost to
fit. Sampling is ancestral sampling through the model's junction tree: fast and seeded.

* ``mst``: one third of the budget on all 1-way marginals (used to compress rare levels),
  one third on selecting a maximum spanning tree of pairs with the exponential
  mechanism, one third on measuring those pairs.
* ``aim``: 1-way marginals first, then rounds that pick the worst-approximated pair
  (exponential mechanism, model size limited) and measure it, every measurement at one
  sigma (0.9 of the budget; selection 0.1), the model refitted between three batches of
  picks; pairs with the target column are weighted up.
"""

from __future__ import annotations

import itertools
import math
from typing import Any, ClassVar

import numpy as np

from healthforge.generators.private.base import DPGenerator
from healthforge.generators.private.pgm_numpy import Measurement, TreeSampler, estimate
from healthforge.privacy.mechanisms import exponential_mechanism, gaussian_measure, gaussian_sigma
from healthforge.progress import ProgressCallback, report

MAX_ITERS = 1000  # mirror-descent iterations at most; the tolerance usually stops earlier
TOL = 1e-4
SAMPLER_ROWS = 20_000  # synthetic rows AIM uses to score candidate pairs against the model
BATCHES = 3  # AIM model refits
TREE_SCORE_SENSITIVITY = 1.0  # max change of an MST score under add/remove (see _mst_scores)


class _PgmGenerator(DPGenerator):
    """Shared parts: measuring marginals, estimating, sampling."""

    def _measure(
        self,
        codes: np.ndarray,
        sizes: np.ndarray,
        clique: tuple[int, ...],
        sigma: float,
        rng: np.random.Generator,
    ) -> Measurement:
        x = _marginal(codes, sizes, clique)
        return Measurement(clique, gaussian_measure(x, sigma, rng), sigma)

    def _estimate(
        self, sizes: np.ndarray, measurements: list[Measurement], warm: Any = None
    ) -> Any:
        model, iterations = estimate(sizes, measurements, warm, MAX_ITERS, TOL)
        self.iterations_ = [*getattr(self, "iterations_", []), iterations]
        return model

    def _finish(self, model: Any, d: int) -> None:
        self.sampler_ = TreeSampler(model)
        self.n_cols_ = d

    def _sample_codes(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return self.sampler_.sample(n, rng)

    def _noisy_total(self) -> float:
        return self.sampler_.total


def _marginal(codes: np.ndarray, sizes: np.ndarray, clique: tuple[int, ...]) -> np.ndarray:
    """Flattened contingency table of ``codes[:, clique]`` (C order)."""
    shape = tuple(int(sizes[j]) for j in clique)
    flat = np.ravel_multi_index(tuple(codes[:, j] for j in clique), shape)
    return np.bincount(flat, minlength=int(np.prod(shape))).astype(float)


class MSTGenerator(_PgmGenerator):
    """MST: 1-way marginals, a DP maximum spanning tree of pairs, then its 2-way marginals."""

    name: ClassVar[str] = "mst"
    summary: ClassVar[str] = "DP (ε, δ): noisy pair marginals on a spanning tree (private-pgm)"
    mechanism: ClassVar[str] = "MST (Gaussian marginals + exponential-mechanism tree)"

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
        self.iterations_: list[int] = []
        # add/remove one record moves one cell of each of the d tables by 1: L2 sqrt(d)
        sigma1 = gaussian_sigma(rho / 3, math.sqrt(d))
        report(progress, "measuring 1-way marginals", 0, 3)
        one_way = [self._measure(codes, sizes, (j,), sigma1, rng) for j in range(d)]
        model = self._estimate(sizes, one_way)
        pairs = list(itertools.combinations(range(d), 2))
        report(progress, "selecting a spanning tree", 1, 3)
        tree: list[tuple[int, int]] = []
        if d > 1:
            # score each pair by how badly the 1-way model explains it: sensitivity 1 (L1)
            sampler = TreeSampler(model)
            synth = sampler.sample(SAMPLER_ROWS, rng)
            scores = _mst_scores(codes, sizes, pairs, synth, sampler.total)
            eps_select = math.sqrt(8 * (rho / 3) / (d - 1))
            tree = _dp_spanning_tree(pairs, scores, d, eps_select, rng)
        sigma2 = gaussian_sigma(rho / 3, math.sqrt(max(len(tree), 1)))
        report(progress, "measuring the tree's pairs", 2, 3)
        two_way = [self._measure(codes, sizes, p, sigma2, rng) for p in tree]
        model = self._estimate(sizes, one_way + two_way, warm=model)
        self._finish(model, d)
        self.pairs_ = [tuple(self.columns_[j].name for j in p) for p in tree]
        report(progress, "fitted", 3, 3)
        return {
            "rho_one_way": rho / 3,
            "rho_tree_selection": rho / 3,
            "rho_pair_measurements": rho / 3,
            "sigma_one_way": sigma1,
            "sigma_pairs": sigma2,
            "pairs_measured": len(tree),
        }


def _mst_scores(
    codes: np.ndarray,
    sizes: np.ndarray,
    pairs: list[tuple[int, int]],
    synth: np.ndarray,
    model_total: float,
) -> np.ndarray:
    """Per pair, the L1 distance between its true marginal and the 1-way model's.

    The model's table is scaled to the model's own total (released by the noisy 1-way
    marginals), not to the true row count: only the true marginal then depends on the
    data, so under add/remove a score moves by at most 1, the sensitivity the
    exponential mechanism is told. (Scaling by ``len(codes)`` moved scores by up to 2.)
    """
    scale = model_total / len(synth)
    return np.array(
        [
            np.abs(_marginal(codes, sizes, p) - scale * _marginal(synth, sizes, p)).sum()
            for p in pairs
        ]
    )


def _dp_spanning_tree(
    pairs: list[tuple[int, int]], scores: np.ndarray, d: int, epsilon: float, rng: Any
) -> list[tuple[int, int]]:
    """Kruskal-like tree where each edge is picked by the exponential mechanism."""
    component = list(range(d))
    tree: list[tuple[int, int]] = []
    for _ in range(d - 1):
        options = [i for i, (a, b) in enumerate(pairs) if component[a] != component[b]]
        if not options:
            break
        chosen = options[
            exponential_mechanism(scores[options], epsilon, TREE_SCORE_SENSITIVITY, rng)
        ]
        a, b = pairs[chosen]
        old, new = component[b], component[a]
        component = [new if c == old else c for c in component]
        tree.append((a, b))
    return tree


class AIMGenerator(_PgmGenerator):
    """AIM: adaptive, workload-aware selection of pair marginals under a model-size cap.

    Args (besides :class:`DPGenerator`'s):
        rounds: selection rounds planned (default: number of columns); AIM may stop
            earlier when the budget is used up.
        max_model_size: cap on the model's cells (megabytes of float64 / 8), keeping
            fitting fast.
        target_weight: weight of pairs with the target column in the workload.
    """

    name: ClassVar[str] = "aim"
    summary: ClassVar[str] = "DP (ε, δ): adaptively chosen noisy marginals (AIM, private-pgm)"
    mechanism: ClassVar[str] = "AIM (Gaussian marginals + exponential-mechanism selection)"

    # duplicates: parameters spelled out one by one, as every generator's are: get_params and
    # the registry read this signature (scikit-learn convention)
    def __init__(
        self,
        epsilon: float = 1.0,
        delta: float | None = None,
        bounds: str = "auto",
        max_bins: int = 10,
        rounds: int | None = None,
        max_model_size: float = 5.0,
        target_weight: float = 3.0,
        noise_seed: int | None = None,
        seed: int = 0,
    ) -> None:
        super().__init__(epsilon, delta, bounds, max_bins, noise_seed, seed)
        self.rounds = rounds
        self.max_model_size = max_model_size
        self.target_weight = target_weight

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
        self.iterations_: list[int] = []
        target = self._target_index()
        pairs = list(itertools.combinations(range(d), 2))
        weights = np.array([self.target_weight if target in p else 1.0 for p in pairs], dtype=float)
        rounds = self.rounds or max(d // 2, 8)
        # every selection costs 0.1 of a round's budget, every measurement 0.9
        sigma = gaussian_sigma(0.9 * rho, math.sqrt(rounds + d))
        epsilon = math.sqrt(8 * 0.1 * rho / rounds)
        measurements = [self._measure(codes, sizes, (j,), sigma, rng) for j in range(d)]
        used = d * 0.5 / sigma**2
        model = self._estimate(sizes, measurements)
        chosen: list[tuple[int, int]] = []
        max_cells = self.max_model_size * 2**20 / 8
        # pairs are chosen in a few batches between model refits: each refit is a full
        # estimation, and scoring against a stale model costs little accuracy
        per_batch = math.ceil(rounds / BATCHES)
        t = 0
        for batch in range(BATCHES):
            sampler = TreeSampler(model)
            synth = sampler.sample(SAMPLER_ROWS, rng)
            scores_all = _aim_scores(codes, sizes, pairs, synth, sampler.total, weights, sigma)
            for _ in range(per_batch):
                if t >= rounds:
                    break
                limit = max_cells * (t + 1) / rounds
                options = [
                    i
                    for i, p in enumerate(pairs)
                    if p not in chosen and _model_cells(sizes, [*chosen, p]) <= limit
                ]
                if not options:
                    break
                t += 1
                used += 0.5 / sigma**2 + epsilon**2 / 8
                scores = scores_all[options]
                clique = pairs[
                    options[exponential_mechanism(scores, epsilon, float(weights.max()), rng)]
                ]
                measurements.append(self._measure(codes, sizes, clique, sigma, rng))
                chosen.append(clique)
            report(progress, "AIM batches", batch + 1, BATCHES)
            model = self._estimate(sizes, measurements, warm=model)
        self._finish(model, d)
        self.pairs_ = [tuple(self.columns_[j].name for j in p) for p in chosen]
        return {
            "rho_one_way_and_pairs": 0.9 * rho,
            "rho_selection": 0.1 * rho,
            "sigma_measurements": sigma,
            "rounds_run": t,
            "rounds_planned": rounds,
            "pairs_measured": len(chosen),
            "rho_used": used,
        }

    def _target_index(self) -> int:
        names = [c.name for c in self.columns_]
        target = self.schema_.target
        return names.index(target) if target in names else -1


def _aim_scores(
    codes: np.ndarray,
    sizes: np.ndarray,
    pairs: list[tuple[int, int]],
    synth: np.ndarray,
    model_total: float,
    weights: np.ndarray,
    sigma: float,
) -> np.ndarray:
    """AIM's quality score per pair: weighted L1 error of the model minus the expected noise.

    The model's table is scaled to its own (released) total, so only the true marginal
    depends on the data: each error moves by at most 1 under add/remove, each score by at
    most its weight, and the exponential mechanism is told ``weights.max()``. The
    subtracted noise term is data-independent.
    """
    scale = model_total / len(synth)
    scores = np.empty(len(pairs))
    for i, p in enumerate(pairs):
        error = np.abs(_marginal(codes, sizes, p) - scale * _marginal(synth, sizes, p)).sum()
        bias = math.sqrt(2 / math.pi) * sigma * int(np.prod([sizes[j] for j in p]))
        scores[i] = weights[i] * (error - bias)
    return scores


def _model_cells(sizes: np.ndarray, cliques: list[tuple[int, ...]]) -> float:
    """Cells of the cliques themselves: a cheap stand-in for the junction-tree size."""
    return float(sum(np.prod([sizes[j] for j in c]) for c in cliques))
