"""Sequential CART synthesis, the default method of the R package synthpop.

Nowok B, Raab GM, Dibben C (2016). synthpop: Bespoke creation of synthetic data in R.
Journal of Statistical Software 74(11). Columns are visited in a fixed order; the
first is drawn from its observed values, every later one from a classification or
regression tree fitted on the columns before it: a synthetic row is routed to a leaf
and takes the value of a random training row of that leaf (a "donor"). Draws are
vectorised: ``apply`` gives the leaf of every synthetic row at once and donors are
picked by index arithmetic, no per-row Python.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from healthforge.errors import HealthForgeError
from healthforge.generators.core.base import Generator
from healthforge.generators.core.params import auto_or_positive_int
from healthforge.generators.tree.leaf_donors import LeafDonors, make_smoother
from healthforge.progress import ProgressCallback, report

_VISIT = ("auto", "levels", "schema")


class CartGenerator(Generator):
    """Sequential classification and regression trees with donor draws (synthpop).

    Visit sequence ``"auto"`` (default): the table's order (synthpop's default) with
    the target, if the schema names one, moved last - the target is then drawn from a
    tree on every other column, exactly the dependence a model trained on the
    synthetic data has to learn. Tables tend to list derived columns after their
    sources (``wt82_71`` after ``wt71`` and ``wt82``), which trees then reproduce well.
    ``"levels"``: columns with more distinct values first (rich predictors before
    coarse outcomes), target last; on NHEFS it measured slightly worse utility (TSTR/TRTR
    0.98 vs 1.02 over three seeds) at equal detectability, hence not the default.
    ``"schema"``: the table's order exactly. A list of column names gives the order
    explicitly (columns not listed follow in table order).

    Missing values: for a discrete column, missing is a category of its own; for a
    numeric one, "missing or not" is drawn first from a classification tree, then the
    value from a regression tree fitted on the observed rows (as synthpop does).
    Missing predictors are routed natively by scikit-learn's trees (learned side).

    Args:
        min_samples_leaf: fewest training rows per leaf (synthpop's ``minbucket``): the
            privacy knob - every drawn value has at least this many possible donors.
            ``"auto"`` (default): :func:`adaptive_min_leaf` of the number of training
            rows: 25 from 157 rows up (ICU, NHEFS), fewer on smaller tables.
        target_min_samples_leaf: fewest rows per leaf of the target's tree (the
            schema's target column, drawn last); ``"auto"``: 5, synthpop's default - the
            target is one column drawn given already-mixed predictors, and its tree is
            the dependence a model trained on synthetic data has to learn.
        max_depth: optional depth limit of every tree.
        ccp_alpha: cost-complexity pruning of every tree (synthpop's ``cp``).
        smoothing: Gaussian smoothing of draws of continuous columns (values that
            rarely repeat); heaped or rounded columns are always kept exact.
        visit_sequence: ``"auto"``, ``"levels"``, ``"schema"`` or a list of column names.
        max_predictors: at most this many earlier columns per tree, the most associated
            ones (squared correlation, or correlation ratio for a categorical outcome);
            bounds time on wide tables such as gene expression. ``None``: all.
        seed: seed for fitting and the default seed for sampling.
    """

    name = "cart"
    summary = "Sequential CART (synthpop): each column drawn from training values in a tree leaf."
    family = "tree"
    high_dimensional = True

    # duplicates: parameters spelled out one by one, as every generator's are: get_params and
    # the registry read this signature (scikit-learn convention)
    def __init__(
        self,
        min_samples_leaf: int | str = "auto",
        target_min_samples_leaf: int | str = "auto",
        max_depth: int | None = None,
        ccp_alpha: float = 0.0,
        smoothing: bool = True,
        visit_sequence: str | list[str] = "auto",
        max_predictors: int | None = 100,
        seed: int = 0,
    ) -> None:
        super().__init__(seed=seed)
        self.min_samples_leaf = min_samples_leaf
        self.target_min_samples_leaf = target_min_samples_leaf
        self.max_depth = max_depth
        self.ccp_alpha = ccp_alpha
        self.smoothing = smoothing
        self.visit_sequence = visit_sequence
        self.max_predictors = max_predictors

    # -- fitting ----------------------------------------------------------------------
    def _fit(self, X: np.ndarray, progress: ProgressCallback | None) -> None:
        n, d = X.shape
        self.min_leaf_ = auto_or_positive_int(
            self.min_samples_leaf, adaptive_min_leaf(n), "min_samples_leaf"
        )
        self.target_min_leaf_ = auto_or_positive_int(
            self.target_min_samples_leaf, TARGET_MIN_LEAF, "target_min_samples_leaf"
        )
        target = self.schema_.target
        names = [c.name for c in self.schema_.modelled]
        self.target_index_ = names.index(target) if target in names else -1
        self.order_ = self._visit_order(X)
        screen = _Screen(X, self.discrete_) if self._limited(d) else None
        self.predictors_: list[np.ndarray] = []
        self.missing_models_: list[tuple[Any, LeafDonors] | None] = []
        self.value_models_: list[tuple[Any, LeafDonors] | None] = []
        for step, j in enumerate(self.order_):
            col = X[:, j]
            earlier = np.asarray(self.order_[:step], dtype=np.int64)
            if screen is not None and len(earlier) > int(self.max_predictors or 0):
                earlier = screen.top(j, earlier, int(self.max_predictors or 0))
            self.predictors_.append(earlier)
            smoother = make_smoother(col) if self.smoothing and not self.discrete_[j] else None
            observed = np.isfinite(col)
            if step == 0:
                # first column: its observed values, missing included (one leaf)
                self.missing_models_.append(None)
                self.value_models_.append((None, LeafDonors(np.zeros(n), col, 1, smoother)))
            elif self.discrete_[j]:
                # missing is a category of its own (code k)
                k = int(self.cardinalities_[j])
                y = np.where(observed, col, k).astype(np.int64)
                self.missing_models_.append(None)
                self.value_models_.append(
                    self._tree(X[:, earlier], y, col, True, None, self._leaf(j))
                )
            else:
                if observed.all():
                    self.missing_models_.append(None)
                else:
                    flag = (~observed).astype(np.int64)
                    self.missing_models_.append(
                        self._tree(
                            X[:, earlier], flag, flag.astype(float), True, None, self._leaf(j)
                        )
                    )
                self.value_models_.append(
                    self._tree(
                        X[observed][:, earlier],
                        col[observed],
                        col[observed],
                        False,
                        smoother,
                        self._leaf(j),
                    )
                )
            report(progress, "fitting trees", step + 1, d)

    def _leaf(self, j: int) -> int:
        return self.target_min_leaf_ if j == self.target_index_ else self.min_leaf_

    def _limited(self, d: int) -> bool:
        return self.max_predictors is not None and d - 1 > int(self.max_predictors)

    def _tree(
        self,
        Xp: np.ndarray,
        y: np.ndarray,
        donors: np.ndarray,
        classify: bool,
        smoother: Any,
        min_leaf: int,
    ) -> tuple[Any, LeafDonors] | None:
        """A tree of ``y`` ``(m,)`` on predictors ``Xp`` ``(m, p)`` and its leaf donors."""
        if len(y) == 0:
            return None
        if Xp.shape[1] == 0 or np.unique(y).size == 1:
            # nothing to split on: every row is a donor of one leaf
            return None, LeafDonors(np.zeros(len(y)), donors, 1, smoother)
        cls = DecisionTreeClassifier if classify else DecisionTreeRegressor
        tree = cls(
            min_samples_leaf=min_leaf,
            max_depth=self.max_depth,
            ccp_alpha=float(self.ccp_alpha),
            random_state=int(self.seed) & 0xFFFFFFFF,
        )
        tree.fit(Xp, y)
        leaves = tree.apply(Xp)
        return tree, LeafDonors(leaves, donors, tree.tree_.node_count, smoother)

    def _visit_order(self, X: np.ndarray) -> list[int]:
        names = [c.name for c in self.schema_.modelled]
        target = self.schema_.target
        spec = self.visit_sequence
        if isinstance(spec, str) and spec not in _VISIT:
            raise HealthForgeError(
                f"unknown visit_sequence '{spec}'",
                "use 'auto', 'levels', 'schema' or a list of column names",
            )
        if spec == "schema":
            return list(range(len(names)))
        if spec == "auto":
            order = list(range(len(names)))
        elif isinstance(spec, str):
            distinct = [len(np.unique(X[np.isfinite(X[:, j]), j])) for j in range(len(names))]
            # stable sort: ties keep schema order
            order = sorted(range(len(names)), key=lambda j: -distinct[j])
        else:
            unknown = [c for c in spec if c not in names]
            if unknown:
                raise HealthForgeError(
                    f"visit_sequence names columns that are not modelled: {', '.join(unknown)}",
                    "use the data's column names (identifiers and free text are not modelled)",
                )
            listed = [names.index(c) for c in dict.fromkeys(spec)]
            order = listed + [j for j in range(len(names)) if j not in listed]
            return order  # an explicit order is kept as given
        if target in names:
            t = names.index(target)
            order = [j for j in order if j != t] + [t]
        return order

    # -- sampling -----------------------------------------------------------------------
    def _sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        # column-major: every step gathers whole columns (predictors) and writes one
        out = np.full((n, len(self.order_)), np.nan, order="F")
        # the trees split on float32; one float32 copy avoids a conversion per tree
        out32 = np.full((n, len(self.order_)), np.nan, dtype=np.float32, order="F")
        for step, j in enumerate(self.order_):
            Xp = out32[:, self.predictors_[step]]
            value_model = self.value_models_[step]
            missing_model = self.missing_models_[step]
            missing = np.zeros(n, dtype=bool)
            if missing_model is not None:
                missing = _draw(missing_model, Xp, rng) > 0.5
            if value_model is None:  # the column was never observed among these rows
                out[:, j] = np.nan
                continue
            values = _draw(value_model, Xp, rng)
            out[:, j] = np.where(missing, np.nan, values)
            out32[:, j] = out[:, j]
        return np.ascontiguousarray(out)


MIN_LEAF = 5  # synthpop's minbucket
MAX_ADAPTIVE_LEAF = 25
TARGET_MIN_LEAF = 5


def adaptive_min_leaf(n: int) -> int:
    """Default fewest rows per leaf for ``n`` training rows: ``2 sqrt(n)`` within [5, 25].

    synthpop's fixed ``minbucket = 5`` lets trees on a small table isolate a handful of
    people: on ICU (160 training rows, 21 mostly binary columns) whole rows came back
    nearly as they were - detection AUC 0.31, below the 0.5 of indistinguishable data,
    because a detector learns each copied row with the opposite label, and synthetic
    rows closer to training rows than unseen people are (DCR ratio 0.79). Leaves of
    25 rows measured in the band there; on NHEFS (1,252 rows) leaves of 20 and 30 kept
    utility and moved detection from 0.42 to 0.52 and 0.57, hence the cap of 25, which
    also keeps large tables detailed (benchmarks/results/tree_generators.md).
    """
    return int(np.clip(round(2.0 * np.sqrt(max(n, 1))), MIN_LEAF, MAX_ADAPTIVE_LEAF))


def _draw(model: tuple[Any, LeafDonors], Xp: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Donor values for synthetic predictors ``Xp`` ``(n, p)``; shape ``(n,)``."""
    tree, donors = model
    leaves = np.zeros(len(Xp), dtype=np.int64) if tree is None else tree.apply(Xp)
    return donors.draw(leaves, rng)


class _Screen:
    """Association of every column with every other, to pick a tree's predictors.

    Squared Pearson correlation on standardised, mean-imputed columns; for a
    categorical outcome with more than two categories the correlation ratio (share of
    a predictor's variance explained by the outcome's categories) instead.
    """

    # duplicates: parameters spelled out one by one, as every generator's are: get_params and
    # the registry read this signature (scikit-learn convention)
    def __init__(self, X: np.ndarray, discrete: np.ndarray) -> None:
        mean = np.nanmean(X, axis=0)
        filled = np.where(np.isfinite(X), X, mean)
        sd = filled.std(axis=0)
        self.Z = (filled - filled.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
        self.X = X
        self.discrete = discrete
        self.n = len(X)

    def top(self, j: int, candidates: np.ndarray, k: int) -> np.ndarray:
        """The ``k`` of ``candidates`` most associated with column ``j``, in visit order."""
        Zc = self.Z[:, candidates]
        col = self.X[:, j]
        codes = np.where(np.isfinite(col), col, -1).astype(np.int64)
        levels = np.unique(codes)
        if self.discrete[j] and len(levels) > 2:
            onehot = codes[:, None] == levels[None, :]
            sums = onehot.T.astype(float) @ Zc  # (levels, p)
            score = (sums**2 / onehot.sum(axis=0)[:, None]).sum(axis=0) / self.n
        else:
            score = (self.Z[:, j] @ Zc / self.n) ** 2
        keep = np.sort(np.argsort(-score, kind="stable")[:k])
        return candidates[keep]
