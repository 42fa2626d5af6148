"""Adversarial random forests for density estimation and generation.

Watson DS, Blesch K, Kapar J, Wright MN (2023). Adversarial random forests for
density estimation and generative modelling. AISTATS 2023 (R package ``arf``).

A random forest learns to tell real rows from synthetic ones; synthetic rows are
redrawn from the forest's leaves (columns independent within a leaf) until the
forest can no longer tell them apart. The final forest's leaves then partition the
data into regions where the columns are roughly independent, and sampling is: pick a
tree, a leaf with probability proportional to its real rows, then every column
independently from the real values of that leaf (FORDE/FORGE with empirical leaf
marginals instead of truncated normals, so rounding and heaping survive).

One extension: columns tied by logical constraints are never independent in any
region - "not asked" codes shared by several questions, ``sex`` and
``birthcontrol``, ``age`` and ``older`` - and drawing them independently produces
impossible combinations that a detector spots at once. Such columns are found before
fitting (pairs with structural zeros: combinations that never occur although
independence would put many rows there) and are drawn jointly, from one donor row of
the region, in blocks of at most ``max_block`` columns.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.ensemble import RandomForestClassifier

from healthforge.errors import HealthForgeError
from healthforge.generators.core.base import Generator
from healthforge.generators.core.params import auto_or_positive_int
from healthforge.generators.tree.leaf_donors import make_smoother
from healthforge.progress import ProgressCallback, report


class ArfGenerator(Generator):
    """Adversarial random forest with empirical leaf marginals (Watson et al., 2023).

    Regions with too few real rows are not used as they are: a leaf with fewer than
    ``min_samples_leaf`` real rows is replaced by its nearest ancestor that has enough,
    so every column of a synthetic row has at least that many possible donors (the
    privacy knob, as ``minbucket`` in CART). Missing values are donors like any other
    value, so missingness follows the leaf; missing predictors are routed natively.

    Args:
        n_estimators: trees per forest.
        min_samples_leaf: fewest rows per leaf while fitting, and fewest real rows per
            region used for sampling. ``"auto"`` (default): :func:`arf_min_leaf` of the
            number of training rows - 20 on a 160-row table, synthpop's 5 from 640 rows.
        max_iters: most adversarial rounds after the first forest.
        delta: stop once out-of-bag accuracy is at most ``0.5 + delta``.
        early_stop: stop when accuracy fails to improve from one round to the next.
        max_features: features tried per split (scikit-learn's meaning).
        smoothing: Gaussian smoothing of draws of continuous columns (values that
            rarely repeat), bandwidth from the region's values.
        max_block: most columns drawn jointly as one constrained block; 1 draws every
            column independently within a region, as the original method does.
        n_jobs: parallel jobs for fitting the forests.
        seed: seed for fitting and the default seed for sampling.
    """

    name = "arf"
    summary = "Adversarial random forest: columns drawn independently within forest leaves."
    family = "tree"
    high_dimensional = True

    # duplicates: parameters spelled out one by one, as every generator's are: get_params and
    # the registry read this signature (scikit-learn convention)
    def __init__(
        self,
        n_estimators: int = 30,
        min_samples_leaf: int | str = "auto",
        max_iters: int = 10,
        delta: float = 0.0,
        early_stop: bool = True,
        max_features: str | float | int | None = "sqrt",
        smoothing: bool = True,
        max_block: int = 8,
        n_jobs: int | None = 2,
        seed: int = 0,
    ) -> None:
        super().__init__(seed=seed)
        self.n_estimators = n_estimators
        self.min_samples_leaf = min_samples_leaf
        self.max_iters = max_iters
        self.delta = delta
        self.early_stop = early_stop
        self.max_features = max_features
        self.smoothing = smoothing
        self.max_block = max_block
        self.n_jobs = n_jobs

    # -- fitting ----------------------------------------------------------------------
    def _fit(self, X: np.ndarray, progress: ProgressCallback | None) -> None:
        n, d = X.shape
        if int(self.n_estimators) < 1:
            raise HealthForgeError("n_estimators must be at least 1")
        self.min_leaf_ = auto_or_positive_int(
            self.min_samples_leaf, arf_min_leaf(n), "min_samples_leaf"
        )
        rng = np.random.default_rng([int(self.seed) & 0xFFFFFFFF, 1])
        self.X_ = X.copy()  # the donors (inherent to leaf-donor synthesis, as in CART)
        self.smoothers_ = [
            make_smoother(X[:, j]) if self.smoothing and not self.discrete_[j] else None
            for j in range(d)
        ]
        self.block_ = _constrained_blocks(X, self.discrete_, int(self.max_block))
        n_blocks = int(self.block_.max()) + 1
        # round 0: independent columns (blocks), each a bootstrap of the real ones
        synthetic = X[rng.integers(n, size=(n, n_blocks))[:, self.block_], np.arange(d)]
        labels = np.r_[np.ones(n), np.zeros(n)]
        self.accuracy_: list[float] = []
        total = int(self.max_iters) + 1
        for it in range(total):
            forest = RandomForestClassifier(
                n_estimators=int(self.n_estimators),
                min_samples_leaf=self.min_leaf_,
                max_features=self.max_features,
                oob_score=True,
                n_jobs=self.n_jobs,
                random_state=(int(self.seed) + it) & 0xFFFFFFFF,
            )
            with warnings.catch_warnings():
                # few trees: some rows lack out-of-bag votes; the accuracy is still usable
                warnings.filterwarnings("ignore", message="Some inputs do not have OOB")
                forest.fit(np.vstack([X, synthetic]), labels)
            self.accuracy_.append(float(forest.oob_score_))
            self._forde(forest, X)
            report(progress, "adversarial iterations", it + 1, total)
            acc = self.accuracy_
            if acc[-1] <= 0.5 + float(self.delta) or it + 1 == total:
                break
            if self.early_stop and len(acc) > 1 and acc[-1] >= acc[-2]:
                break
            synthetic = self._generate(n, rng)
        self.iterations_ = len(self.accuracy_) - 1
        report(progress, "adversarial iterations", total, total)

    def _forde(self, forest: RandomForestClassifier, X: np.ndarray) -> None:
        """Regions of ``forest`` and their real rows (forest density estimation).

        Sets ``region_`` ``(n_real, n_trees)``: the region of each real row in each tree
        (its leaf, or the nearest ancestor with ``min_samples_leaf`` real rows), and
        per region the slice ``starts_``/``counts_`` of ``rows_`` holding its real rows.
        """
        m = self.min_leaf_
        paths, offsets = forest.decision_path(X)  # (n, all nodes), node offsets per tree
        members = paths.tocsc()
        coverage = np.diff(members.indptr)  # real rows through each node
        parent = np.full(offsets[-1], -1, dtype=np.int64)
        for t, est in enumerate(forest.estimators_):
            tree = est.tree_
            for child in (tree.children_left, tree.children_right):
                inner = np.flatnonzero(child >= 0)
                parent[offsets[t] + child[inner]] = offsets[t] + inner
        # nearest ancestor-or-self with enough real rows (roots hold all n >= m rows)
        region = np.arange(offsets[-1])
        for _ in range(max(est.tree_.max_depth for est in forest.estimators_) + 1):
            small = (coverage[region] < m) & (parent[region] >= 0)
            if not small.any():
                break
            region = np.where(small, parent[region], region)
        leaves = forest.apply(X) + offsets[:-1]  # (n, n_trees) global node ids
        used, local = np.unique(region[leaves], return_inverse=True)
        sub = members[:, used]
        self.region_ = local.reshape(leaves.shape).astype(np.int32)
        self.starts_ = sub.indptr[:-1].astype(np.int64)
        self.counts_ = np.diff(sub.indptr).astype(np.int64)
        self.rows_ = sub.indices.astype(np.int32)
        # per region and smoothed column: bandwidth 0.9 sd m^(-1/5) of its real values
        smooth_cols = [j for j, s in enumerate(self.smoothers_) if s is not None]
        self.smooth_cols_ = np.asarray(smooth_cols, dtype=np.int64)
        self.bandwidth_ = np.zeros((len(used), len(smooth_cols)))
        if smooth_cols:
            V = X[:, smooth_cols]
            ok = np.isfinite(V)
            filled = np.where(ok, V, 0.0)
            cnt = sub.T @ ok.astype(float)
            s1 = sub.T @ filled
            s2 = sub.T @ (filled * filled)
            with np.errstate(invalid="ignore", divide="ignore"):
                var = (s2 - s1 * s1 / cnt) / (cnt - 1)
                bw = 0.9 * np.sqrt(np.maximum(var, 0.0)) * cnt ** (-0.2)
            self.bandwidth_ = np.where(cnt >= 2, bw, 0.0)

    # -- sampling -----------------------------------------------------------------------
    def _generate(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` encoded rows ``(n, n_modelled)`` from the current regions."""
        n_real, n_trees = self.region_.shape
        d = self.X_.shape[1]
        # a leaf with probability proportional to its real rows = the leaf of a random
        # real row in a random tree
        region = self.region_[rng.integers(n_real, size=n), rng.integers(n_trees, size=n)]
        counts = self.counts_[region][:, None]
        # one uniform per block: columns of a constrained block share their donor row
        u = rng.random((n, int(self.block_.max()) + 1))[:, self.block_]
        pos = self.starts_[region][:, None] + (u * counts).astype(np.int64)
        donors = self.rows_[np.minimum(pos, len(self.rows_) - 1)]
        out = self.X_[donors, np.arange(d)]
        for k, j in enumerate(self.smooth_cols_):
            smoother = self.smoothers_[j]
            if smoother is not None:
                col = out[:, j].copy()
                smoother.apply(col, self.bandwidth_[region, k], rng)
                out[:, j] = col
        return out

    def _sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return self._generate(n, rng)


SMALL_TABLE_ROWS = 3200  # leaves of SMALL_TABLE_ROWS / n rows below 640 rows
MAX_SMALL_TABLE_LEAF = 20


def arf_min_leaf(n: int) -> int:
    """Default fewest rows per leaf for ``n`` training rows: ``3200 / n`` within [5, 20].

    With 5-row leaves on ICU (160 training rows) every column of a synthetic row came
    from a handful of people, and rows came back nearly whole: detection AUC 0.32, below
    the 0.5 of indistinguishable data. 20-row leaves there measured 0.41. Unlike cart,
    the forest draws columns independently within a leaf, so larger leaves also weaken
    dependence: on NHEFS (1,252 rows) 20-row leaves lowered TSTR/TRTR from 0.90 to 0.81
    and raised detection to 0.61 - hence the rule shrinks to synthpop's 5 as tables
    grow instead of growing with them (benchmarks/results/tree_generators.md).
    """
    return int(np.clip(round(SMALL_TABLE_ROWS / max(n, 1)), 5, MAX_SMALL_TABLE_LEAF))


MAX_BLOCK_SEARCH = 200  # wider tables: no block search (levels^2 co-occurrence matrix)
BLOCK_BINS = 10  # numeric columns are cut into this many quantile bins for the search
MIN_EXPECTED = 10.0  # a combination is a structural zero if absent though expected >= this
MIN_VIOLATION = 0.01  # link two columns if independence puts >= 1% of rows in such zeros


def _constrained_blocks(X: np.ndarray, discrete: np.ndarray, max_block: int) -> np.ndarray:
    """Block id of every column, shape ``(d,)``; columns in one block are drawn jointly.

    Every column is coded into at most ``BLOCK_BINS`` levels (categories, or quantile
    bins; missing is a level). For each pair, the violation mass is the share of rows
    that independent draws would put into combinations never observed although
    expected at least ``MIN_EXPECTED`` times. Pairs are merged greedily, strongest
    first, while a block stays within ``max_block`` columns.
    """
    n, d = X.shape
    block = np.arange(d)
    if max_block < 2 or d < 2 or d > MAX_BLOCK_SEARCH:
        return block
    level_cols = []
    for j in range(d):
        col = X[:, j]
        ok = np.isfinite(col)
        if discrete[j]:
            codes = np.where(ok, col, -1)
        else:
            edges = np.unique(np.quantile(col[ok], np.linspace(0, 1, BLOCK_BINS + 1)[1:-1]))
            codes = np.where(ok, np.searchsorted(edges, col, side="right"), -1)
        _, codes = np.unique(codes, return_inverse=True)
        level_cols.append(codes.ravel())
    sizes = np.array([c.max() + 1 for c in level_cols])
    offsets = np.r_[0, np.cumsum(sizes)]
    onehot = np.zeros((n, offsets[-1]), dtype=np.float32)
    for j, codes in enumerate(level_cols):
        onehot[np.arange(n), offsets[j] + codes] = 1.0
    together = onehot.T @ onehot  # (levels, levels) co-occurrence counts
    share = onehot.mean(axis=0)
    expected = n * np.outer(share, share)
    zeros = np.where((together == 0) & (expected >= MIN_EXPECTED), expected, 0.0)
    owner = np.repeat(np.arange(d), sizes)
    membership = np.zeros((offsets[-1], d))
    membership[np.arange(offsets[-1]), owner] = 1.0
    violation = membership.T @ zeros @ membership / n  # (d, d)
    np.fill_diagonal(violation, 0.0)
    rows, cols = np.nonzero(np.triu(violation) >= MIN_VIOLATION)
    for k in np.argsort(-violation[rows, cols], kind="stable"):
        a, b = block[rows[k]], block[cols[k]]
        if a != b and (block == a).sum() + (block == b).sum() <= max_block:
            block[block == b] = a
    _, block = np.unique(block, return_inverse=True)
    return block.ravel()
