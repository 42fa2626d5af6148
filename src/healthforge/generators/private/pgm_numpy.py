"""Private-pgm's estimation step in numpy: mirror descent on a junction tree.

AIM and MST measure noisy marginals and then fit the graphical model whose marginals
best match them (McKenna et al. 2019, "Graphical-model based estimation and
inference for differential privacy"). ``mbi`` 2.0 does this on jax; on a CPU its
compile of a new XLA program for every new set of cliques dominated the fit (a profile
of MST on NHEFS: 160 of 212 s in ``backend_compile``, ~290 programs). The tables here
are small (cliques of a few columns with at most ~11 levels each), so plain numpy
message passing costs milliseconds per iteration and nothing to compile.

The algorithm is private-pgm's ``MirrorDescent``: potentials ``theta_m`` on each
measured clique ``m``, marginals ``mu`` from belief propagation on a junction tree,
loss ``1/2 * sum_m ||mu_m - y_m||^2 / sigma_m^2``, step ``theta -= alpha * dL/dmu`` with
Armijo step control, stopped when the loss stops improving (relative ``tol`` over a
block of iterations, twice in a row) instead of after a fixed number of iterations.
Everything here is post-processing of the noisy measurements: it spends no budget.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

BLOCK = 25  # iterations between convergence checks


@dataclass(frozen=True)
class Measurement:
    """A noisy marginal: ``y`` (flattened, C order over ``clique``) with noise ``sigma``."""

    clique: tuple[int, ...]
    y: np.ndarray
    sigma: float


def _logsumexp(a: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    if not axes:
        return a
    peak = a.max(axis=axes, keepdims=True)
    out = np.log(np.exp(a - peak).sum(axis=axes)) + np.squeeze(peak, axis=axes)
    return out


class JunctionTree:
    """Maximal cliques of a triangulated graph over ``d`` columns, as a rooted tree.

    ``nodes[k]`` is a sorted tuple of columns; ``order`` lists nodes root first, each
    after its ``parent``; ``separators[k]`` is ``nodes[k] & nodes[parent[k]]``.
    Isolated columns become single-column nodes joined with empty separators.
    """

    def __init__(self, sizes: Sequence[int], cliques: Sequence[tuple[int, ...]]) -> None:
        self.sizes = tuple(int(s) for s in sizes)
        d = len(self.sizes)
        neighbours: list[set[int]] = [set() for _ in range(d)]
        for clique in cliques:
            for a, b in itertools.combinations(clique, 2):
                neighbours[a].add(b)
                neighbours[b].add(a)
        # greedy elimination, cheapest resulting table first: small cliques, fast passes
        remaining = set(range(d))
        found: list[frozenset[int]] = []
        while remaining:
            v = min(remaining, key=lambda u: (self._cells(neighbours[u] & remaining | {u}), u))
            around = neighbours[v] & remaining
            found.append(frozenset(around | {v}))
            for a, b in itertools.combinations(around, 2):
                neighbours[a].add(b)
                neighbours[b].add(a)
            remaining.remove(v)
        maximal = [c for c in set(found) if not any(c < other for other in found)]
        self.nodes = [tuple(sorted(c)) for c in sorted(maximal, key=lambda c: sorted(c))]
        self._link()

    def _cells(self, columns: set[int]) -> float:
        # floats: an int64 product of many columns' sizes overflows and misleads the choice
        return math.prod(float(self.sizes[j]) for j in columns)

    def _link(self) -> None:
        """Maximum spanning tree on separator size (Kruskal): a valid junction tree."""
        k = len(self.nodes)
        sets = [set(n) for n in self.nodes]
        edges = sorted(
            ((len(sets[a] & sets[b]), a, b) for a, b in itertools.combinations(range(k), 2)),
            key=lambda e: -e[0],
        )
        component = list(range(k))
        adjacent: list[list[int]] = [[] for _ in range(k)]
        for _, a, b in edges:
            if component[a] != component[b]:
                old, new = component[b], component[a]
                component = [new if c == old else c for c in component]
                adjacent[a].append(b)
                adjacent[b].append(a)
        self.parent = [-1] * k
        self.order = [0]
        seen = {0}
        for node in self.order:  # breadth first from node 0
            for other in adjacent[node]:
                if other not in seen:
                    seen.add(other)
                    self.parent[other] = node
                    self.order.append(other)
        self.separators = [
            tuple(sorted(set(self.nodes[i]) & set(self.nodes[p]))) if p >= 0 else ()
            for i, p in enumerate(self.parent)
        ]

    def home(self, clique: tuple[int, ...]) -> int:
        """A node containing ``clique`` (the smallest)."""
        holders = [i for i, n in enumerate(self.nodes) if set(clique) <= set(n)]
        return min(holders, key=lambda i: self._cells(set(self.nodes[i])))

    def shape_in(self, sub: tuple[int, ...], node: int) -> tuple[int, ...]:
        """Broadcast shape of a table over sorted ``sub`` inside ``nodes[node]``."""
        return tuple(self.sizes[j] if j in sub else 1 for j in self.nodes[node])

    def axes_outside(self, sub: tuple[int, ...], node: int) -> tuple[int, ...]:
        return tuple(i for i, j in enumerate(self.nodes[node]) if j not in sub)


class MarkovModel:
    """Calibrated model: log-potentials per measured clique and the node marginals.

    ``probs[k]`` has shape ``sizes[nodes[k]]`` and sums to 1; ``total`` is the
    estimated number of records.
    """

    def __init__(
        self, tree: JunctionTree, theta: dict[tuple[int, ...], np.ndarray], total: float
    ) -> None:
        self.tree = tree
        self.theta = theta
        self.total = float(total)
        self.homes = {c: tree.home(c) for c in theta}
        self.probs = self._calibrate()

    def _calibrate(self) -> list[np.ndarray]:
        tree = self.tree
        partial = [np.zeros(tuple(tree.sizes[j] for j in n)) for n in tree.nodes]
        for clique, values in self.theta.items():
            home = self.homes[clique]
            partial[home] = partial[home] + values.reshape(tree.shape_in(clique, home))
        up: dict[int, np.ndarray] = {}
        for node in reversed(tree.order[1:]):  # leaves to root
            sep, parent = tree.separators[node], tree.parent[node]
            up[node] = _logsumexp(partial[node], tree.axes_outside(sep, node))
            partial[parent] = partial[parent] + up[node].reshape(tree.shape_in(sep, parent))
        full = list(partial)
        for node in tree.order[1:]:  # root to leaves
            sep, parent = tree.separators[node], tree.parent[node]
            rest = full[parent] - up[node].reshape(tree.shape_in(sep, parent))
            down = _logsumexp(rest, tree.axes_outside(sep, parent))
            full[node] = partial[node] + down.reshape(tree.shape_in(sep, node))
        log_z = float(_logsumexp(full[tree.order[0]], tuple(range(full[tree.order[0]].ndim))))
        return [np.exp(b - log_z) for b in full]

    def marginal(self, clique: tuple[int, ...]) -> np.ndarray:
        """Estimated counts of ``clique`` (inside one node), flattened in C order."""
        home = self.homes.get(clique)
        if home is None:
            home = self.tree.home(clique)
        table = self.probs[home].sum(axis=self.tree.axes_outside(clique, home))
        return self.total * table.ravel()


def estimate(
    sizes: Sequence[int],
    measurements: list[Measurement],
    warm: MarkovModel | None = None,
    max_iters: int = 1000,
    tol: float = 1e-4,
) -> tuple[MarkovModel, int]:
    """Fit potentials to ``measurements`` by mirror descent; return the model and the
    iterations run. ``warm`` starts from a previous model's potentials."""
    cliques = sorted({m.clique for m in measurements})
    tree = JunctionTree(sizes, cliques)
    total = _total(measurements)
    by_clique: dict[tuple[int, ...], list[Measurement]] = {}
    for m in measurements:
        by_clique.setdefault(m.clique, []).append(m)
    theta = {
        c: (
            warm.theta[c].copy()
            if warm is not None and c in warm.theta
            else np.zeros(_cells(sizes, c))
        )
        for c in cliques
    }

    def loss_and_grad(model: MarkovModel) -> tuple[float, dict[tuple[int, ...], np.ndarray]]:
        loss, grad = 0.0, {}
        for clique, group in by_clique.items():
            mu = model.marginal(clique)
            g = np.zeros_like(mu)
            for m in group:
                diff = mu - m.y
                loss += 0.5 * float(diff @ diff) / m.sigma**2
                g += diff / m.sigma**2
            grad[clique] = g
        return loss, grad

    weight = max(1.0 / m.sigma**2 for m in measurements) * max(len(g) for g in by_clique.values())
    alpha = 1.0 / (weight * total)
    model = MarkovModel(tree, theta, total)
    loss, grad = loss_and_grad(model)
    previous, stalls, iterations = np.inf, 0, 0
    while iterations < max_iters:
        for _ in range(BLOCK):
            trial_theta = {c: theta[c] - alpha * grad[c] for c in cliques}
            trial = MarkovModel(tree, trial_theta, total)
            trial_loss, trial_grad = loss_and_grad(trial)
            decrease = sum(
                float(grad[c] @ (model.marginal(c) - trial.marginal(c))) for c in cliques
            )
            iterations += 1
            if loss - trial_loss >= 0.5 * alpha * decrease:
                theta, model, loss, grad = trial_theta, trial, trial_loss, trial_grad
                alpha *= 1.01
            else:
                alpha *= 0.5
        stalls = stalls + 1 if previous - loss <= tol * max(abs(loss), 1.0) else 0
        previous = loss
        if stalls >= 2:
            break
    return model, iterations


def _cells(sizes: Sequence[int], clique: tuple[int, ...]) -> int:
    return int(np.prod([sizes[j] for j in clique]))


def _total(measurements: list[Measurement]) -> float:
    """Minimum-variance estimate of the record count from the measured tables' sums."""
    sums = np.array([m.y.sum() for m in measurements])
    variances = np.array([m.sigma**2 * m.y.size for m in measurements])
    return max(1.0, float(np.average(sums, weights=1.0 / variances)))


class TreeSampler:
    """Ancestral sampler through the junction tree: root node first, then each node's
    new columns given its separator with its parent. ``(n, d)`` integer codes."""

    def __init__(self, model: MarkovModel) -> None:
        tree = model.tree
        self.total = model.total
        self.d = len(tree.sizes)
        self.steps: list[
            tuple[list[int], tuple[int, ...], list[int], tuple[int, ...], np.ndarray]
        ] = []
        for node in tree.order:
            columns, sep = tree.nodes[node], tree.separators[node]
            new = [j for j in columns if j not in sep]
            if not new:
                continue
            order = [columns.index(j) for j in sep] + [columns.index(j) for j in new]
            table = np.transpose(model.probs[node], order)
            sep_shape = tuple(tree.sizes[j] for j in sep)
            new_shape = tuple(tree.sizes[j] for j in new)
            rows = table.reshape(int(np.prod(sep_shape)), int(np.prod(new_shape)))
            rows = np.maximum(rows, 0.0)
            mass = rows.sum(axis=1, keepdims=True)
            width = rows.shape[1]
            cond = np.divide(rows, mass, out=np.full_like(rows, 1.0 / width), where=mass > 0)
            self.steps.append((list(sep), sep_shape, new, new_shape, np.cumsum(cond, axis=1)))

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        out = np.zeros((n, self.d), dtype=np.int64)
        for sep, sep_shape, new, new_shape, cdf in self.steps:
            row = np.ravel_multi_index(tuple(out[:, j] for j in sep), sep_shape) if sep else 0
            u = rng.random(n)
            flat = np.empty(n, dtype=np.int64)
            for start in range(0, n, 4096):  # bounded memory for wide nodes
                part = slice(start, min(start + 4096, n))
                rows = cdf[row[part]] if sep else cdf[np.zeros(part.stop - part.start, int)]
                flat[part] = (u[part, None] > rows).sum(axis=1)
            flat = np.minimum(flat, cdf.shape[1] - 1)
            for j, values in zip(new, np.unravel_index(flat, new_shape), strict=True):
                out[:, j] = values
        return out
