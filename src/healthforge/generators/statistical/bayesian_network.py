"""Bayesian network over discretised columns, mapped back to the original values.

Structure: a Chow-Liu tree (maximum mutual information spanning tree) gives an
ordering and each node's first parent; further parents are added greedily among
earlier nodes while the BIC score improves. Conditional tables are smoothed towards
the child's marginal, so unseen parent configurations fall back to it. Numeric
columns are discretised into equal-probability bins of their empirical distribution
and mapped back by drawing within the bin, so marginals stay exact; missing values
are a state of their own, so missingness depends on the parents too.
"""

from __future__ import annotations

from collections import deque

import numpy as np
from scipy.sparse.csgraph import minimum_spanning_tree

from healthforge.generators.core.base import Generator
from healthforge.generators.core.constraints import EncodedConstraint
from healthforge.generators.core.marginals import Marginal
from healthforge.progress import ProgressCallback, report


class BayesianNetworkGenerator(Generator):
    """Discrete Bayesian network (Chow-Liu skeleton + greedy BIC parents).

    Args:
        max_parents: most parents per node.
        n_bins: bins per numeric column; ``None`` picks from the number of rows.
        candidates: earlier nodes with the highest mutual information considered as
            extra parents (bounds the search on wide tables).
        alpha: strength of smoothing of conditional tables towards the marginal.
        seed: seed for fitting and the default seed for sampling.
    """

    name = "bayesian_network"
    summary = "Bayesian network (Chow-Liu + greedy BIC) over discretised columns."
    conditioning = "native"

    # duplicates: parameters spelled out one by one, as every generator's are: get_params and
    # the registry read this signature (scikit-learn convention)
    def __init__(
        self,
        max_parents: int = 3,
        n_bins: int | None = None,
        candidates: int = 8,
        alpha: float = 1.0,
        seed: int = 0,
    ) -> None:
        super().__init__(seed=seed)
        self.max_parents = max_parents
        self.n_bins = n_bins
        self.candidates = candidates
        self.alpha = alpha

    # -- discretisation ----------------------------------------------------------------
    def _fit(self, X: np.ndarray, progress: ProgressCallback | None) -> None:
        rng = np.random.default_rng(self.seed)
        n, d = X.shape
        bins = self.n_bins or int(np.clip(np.sqrt(n) / 2, 4, 20))
        discrete = self.discrete_
        self.marginals_: list[Marginal | None] = []
        self.bins_ = np.zeros(d, dtype=int)
        states = np.zeros((n, d), dtype=np.int64)
        self.cards_ = np.zeros(d, dtype=int)
        self.has_missing_ = ~np.isfinite(X).all(axis=0)
        for j in range(d):
            col = X[:, j]
            ok = np.isfinite(col)
            if discrete[j]:
                self.marginals_.append(None)
                k = int(self.cardinalities_[j])
                states[ok, j] = col[ok].astype(int)
            else:
                marginal = Marginal(col[ok])
                self.marginals_.append(marginal)
                if marginal.discrete and marginal.n_support <= bins:
                    k = marginal.n_support
                    states[ok, j] = np.searchsorted(marginal.support, col[ok])
                    self.bins_[j] = -1  # states index the exact support
                else:
                    k = bins
                    u = marginal.to_uniform(col[ok], rng)
                    states[ok, j] = np.minimum((u * k).astype(int), k - 1)
                    self.bins_[j] = k
            states[~ok, j] = k  # missing is its own state (unused when none missing)
            self.cards_[j] = k + int(self.has_missing_[j])
        self._learn(states, progress)

    def _learn(self, states: np.ndarray, progress: ProgressCallback | None) -> None:
        d = states.shape[1]
        mi = _mutual_information(states, self.cards_, progress)
        self.order_, tree_parent = _chow_liu_order(mi)
        self.parents_: list[list[int]] = [[] for _ in range(d)]
        self.cpts_: list[np.ndarray] = [np.empty(0)] * d
        seen: list[int] = []
        for step, node in enumerate(self.order_):
            parents = [] if tree_parent[node] < 0 else [int(tree_parent[node])]
            best = _bic(states, self.cards_, node, parents)
            pool = sorted((p for p in seen if p not in parents), key=lambda p: -mi[node, p])
            for candidate in pool[: self.candidates]:
                if len(parents) >= self.max_parents:
                    break
                score = _bic(states, self.cards_, node, [*parents, candidate])
                if score > best:
                    parents, best = [*parents, candidate], score
            self.parents_[node] = parents
            self.cpts_[node] = _cpt(states, self.cards_, node, parents, self.alpha)
            seen.append(int(node))
            report(progress, "learning network", step + 1, d)

    # -- sampling -------------------------------------------------------------------------
    def _sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        d = len(self.cards_)
        states = np.zeros((n, d), dtype=np.int64)
        for node in self.order_:
            config = _config_index(states, self.cards_, self.parents_[node])
            cumulative = np.cumsum(self.cpts_[node], axis=1)[config]
            draws = (rng.random((n, 1)) > cumulative).sum(axis=1)
            states[:, node] = np.minimum(draws, self.cards_[node] - 1)
        return self._to_values(states, rng)

    def _sample_given(
        self, n: int, rng: np.random.Generator, constraints: dict[int, EncodedConstraint]
    ) -> np.ndarray:
        """Evidence by clamped ancestral sampling with exact rejection on the weights.

        Each constrained node draws only allowed states; a row's weight is the probability
        its parents gave to the allowed states. Accepting a row with probability
        weight / (largest possible weight) turns these draws into exact samples from the
        network given the evidence - no duplicated rows, unlike importance resampling -
        and accepts far more often than rejection on unconstrained draws.
        """
        allowed = {j: self._allowed_states(j, c) for j, c in constraints.items()}
        bound = 1.0
        for j, mask in allowed.items():
            bound *= float((self.cpts_[j] * mask).sum(axis=1).max())
        if bound <= 0:
            return self._sample(n, rng)  # impossible under the model: the mask will say so
        kept: list[np.ndarray] = []
        have, drawn = 0, 0
        while have < n and drawn < 50 * n:
            batch = max(n - have, 256)
            states, weight = self._clamped_states(batch, rng, allowed)
            accepted = states[rng.random(batch) * bound < weight]
            kept.append(self._to_values(accepted, rng))
            have += len(accepted)
            drawn += batch
        if have < n:  # too rare even for the model: unconstrained rows, rejected later
            kept.append(self._sample(n - have, rng))
        return np.concatenate(kept)[:n]

    def _clamped_states(
        self, n: int, rng: np.random.Generator, allowed: dict[int, np.ndarray]
    ) -> tuple[np.ndarray, np.ndarray]:
        d = len(self.cards_)
        states = np.zeros((n, d), dtype=np.int64)
        weight = np.ones(n)
        for node in self.order_:
            probs = self.cpts_[node][_config_index(states, self.cards_, self.parents_[node])]
            if node in allowed:
                probs = probs * allowed[node]
                mass = probs.sum(axis=1)
                weight *= mass
                probs = probs / np.where(mass > 0, mass, 1.0)[:, None]
            draws = (rng.random((n, 1)) > np.cumsum(probs, axis=1)).sum(axis=1)
            states[:, node] = np.minimum(draws, self.cards_[node] - 1)
        return states, weight

    def _allowed_states(self, j: int, constraint: EncodedConstraint) -> np.ndarray:
        """Boolean mask over node ``j``'s states that can satisfy ``constraint``."""
        marginal = self.marginals_[j]
        if marginal is None:
            values_ok = constraint.codes
        elif self.bins_[j] < 0:
            support = marginal.support
            values_ok = (support >= constraint.low) & (support <= constraint.high)
        else:  # a bin is allowed when its value range meets the interval
            k = self.bins_[j]
            edges = marginal.ppf(np.linspace(0.0, 1.0, k + 1))
            values_ok = (edges[1:] >= constraint.low) & (edges[:-1] <= constraint.high)
        mask = np.asarray(values_ok, dtype=bool)
        if self.has_missing_[j]:
            mask = np.append(mask, constraint.missing_allowed)
        return mask.astype(float)

    def _to_values(self, states: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        n, d = states.shape
        out = np.empty((n, d))
        for j in range(d):
            s = states[:, j]
            missing = self.has_missing_[j] & (s == self.cards_[j] - 1)
            marginal = self.marginals_[j]
            if marginal is None:
                values = s.astype(float)
            elif self.bins_[j] < 0:
                values = marginal.support[np.minimum(s, marginal.n_support - 1)]
            else:
                k = self.bins_[j]
                values = marginal.ppf((np.minimum(s, k - 1) + rng.random(n)) / k)
            out[:, j] = np.where(missing, np.nan, values)
        return out


def _mutual_information(
    states: np.ndarray, cards: np.ndarray, progress: ProgressCallback | None
) -> np.ndarray:
    """Pairwise mutual information (nats), shape ``(d, d)``."""
    n, d = states.shape
    mi = np.zeros((d, d))
    marginals = [np.bincount(states[:, j], minlength=cards[j]) / n for j in range(d)]
    for i in range(d):
        for j in range(i + 1, d):
            joint = np.bincount(
                states[:, i] * cards[j] + states[:, j], minlength=cards[i] * cards[j]
            )
            p = joint.reshape(cards[i], cards[j]) / n
            outer = np.outer(marginals[i], marginals[j])
            nz = p > 0
            mi[i, j] = mi[j, i] = float(np.sum(p[nz] * np.log(p[nz] / outer[nz])))
        report(progress, "mutual information", i + 1, d)
    return mi


def _chow_liu_order(mi: np.ndarray) -> tuple[list[int], np.ndarray]:
    """Breadth-first order of the maximum spanning tree, and each node's tree parent."""
    d = len(mi)
    parent = np.full(d, -1)
    if d == 1:
        return [0], parent
    weights = (mi.max() + 1.0) - mi  # positive weights: minimum tree == maximum MI tree
    np.fill_diagonal(weights, 0)
    tree = minimum_spanning_tree(weights).toarray()
    adjacency = (tree + tree.T) > 0
    root = int(np.argmax(mi.sum(axis=1)))
    order, queue, visited = [], deque([root]), {root}
    while queue:
        node = queue.popleft()
        order.append(node)
        for nxt in np.flatnonzero(adjacency[node]):
            if nxt not in visited:
                visited.add(int(nxt))
                parent[nxt] = node
                queue.append(int(nxt))
    for node in range(d):  # disconnected pieces (zero MI) go last, parentless
        if node not in visited:
            order.append(node)
    return order, parent


def _config_index(states: np.ndarray, cards: np.ndarray, parents: list[int]) -> np.ndarray:
    index = np.zeros(len(states), dtype=np.int64)
    for p in parents:
        index = index * cards[p] + states[:, p]
    return index


def _counts(states: np.ndarray, cards: np.ndarray, node: int, parents: list[int]) -> np.ndarray:
    n_configs = int(np.prod([cards[p] for p in parents])) if parents else 1
    config = _config_index(states, cards, parents)
    flat = np.bincount(config * cards[node] + states[:, node], minlength=n_configs * cards[node])
    return flat.reshape(n_configs, cards[node]).astype(float)


def _bic(states: np.ndarray, cards: np.ndarray, node: int, parents: list[int]) -> float:
    counts = _counts(states, cards, node, parents)
    totals = counts.sum(axis=1, keepdims=True)
    nz = counts > 0
    loglik = float(np.sum(counts[nz] * np.log((counts / np.maximum(totals, 1))[nz])))
    observed_configs = int((totals[:, 0] > 0).sum())
    penalty = 0.5 * np.log(len(states)) * (cards[node] - 1) * max(observed_configs, 1)
    return loglik - penalty


def _cpt(
    states: np.ndarray, cards: np.ndarray, node: int, parents: list[int], alpha: float
) -> np.ndarray:
    counts = _counts(states, cards, node, parents)
    marginal = counts.sum(axis=0) / counts.sum()
    table = counts + alpha * marginal
    return table / table.sum(axis=1, keepdims=True)
