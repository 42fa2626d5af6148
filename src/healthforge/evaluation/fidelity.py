"""Fidelity: does the synthetic table look like the real one, column by column and jointly?

All functions take the shared views of :mod:`healthforge.evaluation.features`:
``codes`` arrays ``(n_rows, n_columns)`` and dense ``matrix`` arrays
``(n_rows, n_features)``, real first, synthetic second.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from healthforge.data.encoding import category_codes
from healthforge.data.infer import to_days
from healthforge.data.schema import ColumnSchema
from healthforge.evaluation.common import SkipMetric, sample_index
from healthforge.evaluation.features import FeatureSpace, discrete_levels
from healthforge.evaluation.models import binary_auc, xgb_classifier

MAX_PAIRS = 2_000  # dependence pairs compared; sampled (seeded) beyond this
MAX_DETECTION_ROWS = 10_000  # per side, for the real-vs-synthetic classifier
MAX_NN_ROWS = 5_000  # per side, for the k-NN precision / recall estimates


# -- one column at a time -------------------------------------------------------------
def ks_statistic(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sample Kolmogorov-Smirnov statistic of 1-D arrays (``-inf`` allowed)."""
    a, b = np.sort(a), np.sort(b)
    grid = np.concatenate([a, b])
    cdf_a = np.searchsorted(a, grid, side="right") / a.size
    cdf_b = np.searchsorted(b, grid, side="right") / b.size
    return float(np.max(np.abs(cdf_a - cdf_b)))


def level_frequencies(codes: np.ndarray, n_categories: int) -> np.ndarray:
    """Shares of each category, then missing, then unseen: shape ``(n_categories + 2,)``."""
    counts = np.bincount(discrete_levels(codes, n_categories), minlength=n_categories + 2)
    return counts / max(codes.size, 1)


def column_similarities(
    space: FeatureSpace, real: np.ndarray, synthetic: np.ndarray
) -> dict[str, dict[str, Any]]:
    """Per column ``{metric, similarity}``: 1 - KS statistic or 1 - total variation distance.

    Missing values take part: for numeric columns a missing value is a point below all
    values (``-inf``), so a wrong missing rate lowers the similarity; for discrete
    columns "missing" and "unseen category" are levels of their own.
    """
    out: dict[str, dict[str, Any]] = {}
    for j, column in enumerate(space.columns):
        r, s = real[:, j], synthetic[:, j]
        if column.is_discrete:
            k = len(column.categories or [])
            tv = 0.5 * np.abs(level_frequencies(r, k) - level_frequencies(s, k)).sum()
            out[column.name] = {"metric": "tv", "similarity": float(1.0 - tv)}
        else:
            ks = ks_statistic(np.nan_to_num(r, nan=-np.inf), np.nan_to_num(s, nan=-np.inf))
            out[column.name] = {"metric": "ks", "similarity": float(1.0 - ks)}
    return out


# -- pairs of columns -----------------------------------------------------------------
def _prepared(space: FeatureSpace, codes: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """Standardised ranks of numeric columns (missing at 0) and levels of discrete ones."""
    from scipy.stats import rankdata

    n, p = codes.shape
    z = np.zeros((n, p))
    levels: list[np.ndarray] = []
    for j, column in enumerate(space.columns):
        values = codes[:, j]
        if column.is_discrete:
            levels.append(discrete_levels(values, len(column.categories or [])))
            continue
        levels.append(np.zeros(0, dtype=np.int64))
        ok = np.isfinite(values)
        if ok.sum() > 1:
            ranks = rankdata(values[ok])
            sd = ranks.std()
            if sd > 0:
                z[ok, j] = (ranks - ranks.mean()) / sd
    return z, levels


def _cramers_v(a: np.ndarray, b: np.ndarray) -> float:
    ka, kb = int(a.max()) + 1, int(b.max()) + 1
    table = np.bincount(a * kb + b, minlength=ka * kb).reshape(ka, kb).astype(float)
    table = table[table.sum(1) > 0][:, table.sum(0) > 0]
    r, c = table.shape
    if min(r, c) < 2:
        return 0.0
    n = table.sum()
    expected = table.sum(1, keepdims=True) @ table.sum(0, keepdims=True) / n
    chi2 = ((table - expected) ** 2 / expected).sum()
    return float(np.sqrt(min(chi2 / n / (min(r, c) - 1), 1.0)))


def _correlation_ratio(levels: np.ndarray, z: np.ndarray) -> float:
    total = (z**2).sum()  # z has mean 0
    if total <= 0:
        return 0.0
    counts = np.bincount(levels)
    sums = np.bincount(levels, weights=z)
    between = (sums[counts > 0] ** 2 / counts[counts > 0]).sum()
    return float(np.sqrt(min(between / total, 1.0)))


def dependence(
    space: FeatureSpace, codes: np.ndarray, pairs: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Dependence of each pair ``(n_pairs, 2)``, and whether the measure is signed.

    Numeric-numeric: Spearman correlation (signed, in [-1, 1]); discrete-discrete:
    Cramér's V; numeric-discrete: the correlation ratio eta on ranks (both in [0, 1]).
    Missing values: level of their own for discrete columns, mean rank for numeric ones.
    """
    z, levels = _prepared(space, codes)
    n = max(codes.shape[0], 1)
    discrete = np.array([c.is_discrete for c in space.columns])
    values = np.zeros(len(pairs))
    signed = ~discrete[pairs[:, 0]] & ~discrete[pairs[:, 1]]
    num = np.flatnonzero(signed)
    values[num] = (z[:, pairs[num, 0]] * z[:, pairs[num, 1]]).sum(axis=0) / n
    for k in np.flatnonzero(~signed):
        i, j = pairs[k]
        if discrete[i] and discrete[j]:
            values[k] = _cramers_v(levels[i], levels[j])
        elif discrete[i]:
            values[k] = _correlation_ratio(levels[i], z[:, j])
        else:
            values[k] = _correlation_ratio(levels[j], z[:, i])
    return values, signed


def pair_similarity(
    space: FeatureSpace,
    real: np.ndarray,
    synthetic: np.ndarray,
    rng: np.random.Generator,
    max_pairs: int = MAX_PAIRS,
) -> tuple[float, dict[str, Any]]:
    """1 - mean dependence difference over column pairs, each difference scaled to [0, 1].

    Signed measures (Spearman) differ by at most 2 and are halved; unsigned ones (Cramér's
    V, eta) differ by at most 1. Wide tables compare ``max_pairs`` pairs sampled with
    ``rng``. Details hold ``(p, p)`` matrices, NaN where a pair was not compared.
    """
    p = len(space.columns)
    if p < 2:
        raise SkipMetric("needs at least two modelled columns")
    rows, cols = np.triu_indices(p, k=1)
    chosen = sample_index(rows.size, max_pairs, rng)
    pairs = np.column_stack([rows[chosen], cols[chosen]])
    dep_real, signed = dependence(space, real, pairs)
    dep_synth, _ = dependence(space, synthetic, pairs)
    diff = np.abs(dep_real - dep_synth) / np.where(signed, 2.0, 1.0)
    matrices = {}
    for name, dep in (("real", dep_real), ("synthetic", dep_synth)):
        m = np.full((p, p), np.nan)
        np.fill_diagonal(m, 1.0)
        m[pairs[:, 0], pairs[:, 1]] = dep
        m[pairs[:, 1], pairs[:, 0]] = dep
        matrices[name] = m
    details = {"columns": space.names, "n_pairs": len(pairs), **matrices}
    return float(1.0 - diff.mean()), details


# -- the whole table ------------------------------------------------------------------
def pmse(
    real: np.ndarray, synthetic: np.ndarray, rng: np.random.Generator, max_rows: int
) -> dict[str, float]:
    """Propensity mean squared error (Woo et al. 2009; Snoke et al. 2018).

    A logistic regression predicts "synthetic" from the dense features of the stacked
    tables ``(n_real + n_synth, n_features)``; ``pmse = mean((p_i - c)^2)`` with
    ``c = n_synth / N``. Under the null (same distribution) its expectation is
    ``(k - 1)(1 - c)^2 c / N`` for ``k`` model parameters; ``ratio`` is pmse over that.
    0 is perfect; the ratio is about 1 for data indistinguishable to a linear model.
    """
    from sklearn.linear_model import LogisticRegression

    r = real[sample_index(len(real), max_rows, rng)]
    s = synthetic[sample_index(len(synthetic), max_rows, rng)]
    X = np.vstack([r, s])
    y = np.r_[np.zeros(len(r)), np.ones(len(s))]
    keep = X.std(axis=0) > 0
    X = X[:, keep]
    c = len(s) / len(X)
    if X.shape[1] == 0:
        propensity = np.full(len(X), c)
    else:
        model = LogisticRegression(C=100.0, max_iter=300, tol=1e-3)
        propensity = model.fit(X, y).predict_proba(X)[:, 1]
    value = float(np.mean((propensity - c) ** 2))
    null = X.shape[1] * (1 - c) ** 2 * c / len(X)
    return {"pmse": value, "null": float(null), "ratio": float(value / null) if null else np.nan}


def detection_auc(
    real: np.ndarray,
    synthetic: np.ndarray,
    n_estimators: int,
    seed: int,
    max_rows: int = MAX_DETECTION_ROWS,
    n_splits: int = 5,
) -> float:
    """Cross-validated AUC of XGBoost telling real from synthetic rows (codes views).

    Balanced by subsampling the larger side (at most ``max_rows`` per side), stratified
    ``n_splits``-fold; the mean of the fold AUCs. 0.5 means indistinguishable. Values
    well below 0.5 mean synthetic rows duplicate real ones (each duplicate is learnt with
    the opposite label): a privacy problem the privacy block flags, not a fidelity one.
    """
    from sklearn.model_selection import StratifiedKFold

    rng = np.random.default_rng(seed)
    n = min(len(real), len(synthetic), max_rows)
    if n < 2 * n_splits:
        raise SkipMetric(f"needs at least {2 * n_splits} rows on each side, has {n}")
    X = np.vstack(
        [real[sample_index(len(real), n, rng)], synthetic[sample_index(len(synthetic), n, rng)]]
    )
    y = np.r_[np.zeros(n), np.ones(n)]
    folds = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    aucs = []
    for train, test in folds.split(X, y):
        model = xgb_classifier(n_estimators, seed, len(train)).fit(X[train], y[train])
        aucs.append(binary_auc(y[test] == 1, model.predict_proba(X[test])[:, 1]))
    return float(np.mean(aucs))


def precision_recall_authenticity(
    real: np.ndarray, synthetic: np.ndarray, rng: np.random.Generator, k: int = 5
) -> dict[str, Any]:
    """α-precision, β-recall and authenticity (Alaa et al., ICML 2022), k-NN approximation.

    The paper embeds data with a one-class network so that the real support is a
    hypersphere. We skip the network and work directly on the shared dense features
    ``(n_rows, n_features)`` (at most ``MAX_NN_ROWS`` rows per side):

    * α-precision: ``P(α)`` = share of synthetic rows within the α-quantile of real
      distances to the real centre (the α-support); ideal ``P(α) = α``; reported as
      ``1 - 2 * mean_α |P(α) - α|`` over a grid of α (the paper's integrated ΔP).
    * β-recall: a real row is covered at level β when its nearest synthetic row lies in
      the synthetic β-support (β-quantile of distances to the synthetic centre) and the
      real row lies within that synthetic row's k-NN ball (k-th nearest synthetic
      neighbour); ``C(β)`` is the covered share; reported as ``1 - 2 * mean_β |C(β) - β|``.
    * authenticity: share of synthetic rows farther from their nearest real row than
      that real row is from its own nearest real neighbour. About 0.5 for a generator
      that samples the true distribution, 0 for copies of training rows.
    """
    from sklearn.neighbors import NearestNeighbors

    real = real[sample_index(len(real), MAX_NN_ROWS, rng)]
    synthetic = synthetic[sample_index(len(synthetic), MAX_NN_ROWS, rng)]
    if len(real) <= k or len(synthetic) <= k:
        raise SkipMetric(f"needs more than {k} rows on each side")
    levels = (np.arange(20) + 0.5) / 20

    center_r = real.mean(axis=0)
    radii_r = np.quantile(np.linalg.norm(real - center_r, axis=1), levels)
    synth_to_center = np.linalg.norm(synthetic - center_r, axis=1)
    precision_curve = (synth_to_center[:, None] <= radii_r[None, :]).mean(axis=0)

    nn_synth = NearestNeighbors(n_neighbors=k + 1, algorithm="brute").fit(synthetic)
    synth_knn, _ = nn_synth.kneighbors(synthetic)
    ball = synth_knn[:, k]  # k-th neighbour other than the row itself
    dist_rs, nearest = nn_synth.kneighbors(real, n_neighbors=1)
    dist_rs, nearest = dist_rs[:, 0], nearest[:, 0]
    center_s = synthetic.mean(axis=0)
    synth_radius = np.linalg.norm(synthetic - center_s, axis=1)
    radii_s = np.quantile(synth_radius, levels)
    covered = dist_rs <= ball[nearest]
    recall_curve = (covered[:, None] & (synth_radius[nearest][:, None] <= radii_s[None, :])).mean(0)

    nn_real = NearestNeighbors(n_neighbors=2, algorithm="brute").fit(real)
    real_nn = nn_real.kneighbors(real)[0][:, 1]
    dist_sr, nearest_real = nn_real.kneighbors(synthetic, n_neighbors=1)
    authentic = dist_sr[:, 0] > real_nn[nearest_real[:, 0]]
    return {
        "alpha_precision": float(1 - 2 * np.mean(np.abs(precision_curve - levels))),
        "beta_recall": float(1 - 2 * np.mean(np.abs(recall_curve - levels))),
        "authenticity": float(authentic.mean()),
        "levels": levels,
        "precision_curve": precision_curve,
        "recall_curve": recall_curve,
    }


def validity(synthetic: pd.DataFrame, columns: list[ColumnSchema]) -> dict[str, Any]:
    """Rows breaking the schema: unknown categories, text in numbers, out-of-bounds or
    non-integer values. ``problems`` counts offending rows per column (non-zero only)."""
    bad_rows = np.zeros(len(synthetic), dtype=bool)
    problems: dict[str, int] = {}
    for column in columns:
        series = synthetic[column.name].reset_index(drop=True)
        present = series.notna().to_numpy()
        if column.is_discrete:
            codes, _ = category_codes(series, column.categories or [])
            bad = present & np.isnan(codes)
        else:
            if column.kind == "datetime":
                values = to_days(series, column.datetime_format).to_numpy(dtype=float)
            else:
                values = pd.to_numeric(series, errors="coerce").to_numpy(
                    dtype=float, na_value=np.nan
                )
            bad = present & ~np.isfinite(values)
            finite = np.where(np.isfinite(values), values, 0.0)
            span = max(abs(column.minimum or 0.0), abs(column.maximum or 0.0), 1.0)
            tol = 1e-9 * span
            if column.minimum is not None:
                bad |= present & (finite < column.minimum - tol)
            if column.maximum is not None:
                bad |= present & (finite > column.maximum + tol)
            if column.kind == "integer":
                bad |= present & (np.abs(finite - np.round(finite)) > 1e-9)
        if bad.any():
            problems[column.name] = int(bad.sum())
            bad_rows |= bad
    return {"invalid_rate": float(bad_rows.mean()) if len(bad_rows) else 0.0, "problems": problems}
