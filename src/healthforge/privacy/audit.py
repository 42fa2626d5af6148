"""Empirical privacy auditing: a statistical lower bound on the epsilon a mechanism spends.

Run a mechanism many times on a dataset ``D`` and on a neighbour ``D'`` (one record added,
under add/remove adjacency), reduce each run to one score (e.g. the released noisy count of
a cell only the planted record falls in), and call :func:`epsilon_lower_bound`. Any
(epsilon, delta)-DP mechanism satisfies, for every test that says "D' was used",
``1 - delta - FNR <= e^eps * FPR`` and ``1 - delta - FPR <= e^eps * FNR`` (Kairouz et al.
2015; Jagielski et al. 2020, "Auditing differentially private machine learning"). With
Clopper-Pearson upper confidence limits on both error rates, the returned figure is a lower
bound on the true epsilon that holds with confidence about ``1 - alpha``. If it exceeds the
epsilon a mechanism claims, the claim is (with that confidence) false.

The threshold is chosen on the same scores the bound is computed from, which makes the
bound slightly optimistic (a multiple-comparisons effect); for a rigorous figure choose the
threshold on separate runs and pass held-out decisions as 0/1 scores (then only that one
split, in either direction, is tried).
"""

from __future__ import annotations

import numpy as np
from scipy.stats import beta


def clopper_pearson_upper(errors: np.ndarray, trials: int, alpha: float) -> np.ndarray:
    """One-sided upper ``1 - alpha`` Clopper-Pearson limits for ``errors`` out of ``trials``.

    ``errors``: integer array of any shape; returns floats of the same shape in (0, 1].
    """
    errors = np.asarray(errors)
    upper = np.ones(errors.shape, dtype=float)
    below = errors < trials
    # the exact binomial limit: the (1 - alpha) quantile of Beta(k + 1, n - k)
    upper[below] = beta.ppf(1.0 - alpha, errors[below] + 1, trials - errors[below])
    return upper


def epsilon_lower_bound(
    scores_without: np.ndarray | list[float],
    scores_with: np.ndarray | list[float],
    delta: float,
    alpha: float = 0.05,
) -> float:
    """Lower bound on epsilon from a threshold attack separating two neighbouring datasets.

    ``scores_without``: shape ``(m,)``, one score per run on ``D``; ``scores_with``: shape
    ``(k,)``, one per run on ``D'`` (the dataset with the planted record). Every threshold
    over the observed scores is tried in both directions ("D' if score >= t" and "D' if
    score <= t"); each yields false-positive and false-negative rates whose Clopper-Pearson
    upper limits (each at ``alpha / 2``, so both hold together with confidence ``1 - alpha``)
    give ``max(ln((1 - delta - FNR_hi) / FPR_hi), ln((1 - delta - FPR_hi) / FNR_hi))``.
    Returns the largest such value over thresholds and directions, or 0.0 if none is
    positive (the runs do not show any privacy loss).
    """
    without = np.sort(np.asarray(scores_without, dtype=float).ravel())
    with_ = np.sort(np.asarray(scores_with, dtype=float).ravel())
    m, k = without.size, with_.size
    if m == 0 or k == 0:
        raise ValueError("both score arrays need at least one run")
    if not 0 <= delta < 1 or not 0 < alpha < 1:
        raise ValueError("need 0 <= delta < 1 and 0 < alpha < 1")
    thresholds = np.unique(np.concatenate([without, with_, [np.inf]]))
    # "D' if score >= t": false positives are runs on D at or above t, false negatives runs
    # on D' below t; "D' if score <= t" mirrors it
    above_fp = m - np.searchsorted(without, thresholds, side="left")
    above_fn = np.searchsorted(with_, thresholds, side="left")
    below_fp = np.searchsorted(without, thresholds, side="right")
    below_fn = k - np.searchsorted(with_, thresholds, side="right")
    best = 0.0
    for fp, fn in ((above_fp, above_fn), (below_fp, below_fn)):
        fpr_hi = clopper_pearson_upper(fp, m, alpha / 2)
        fnr_hi = clopper_pearson_upper(fn, k, alpha / 2)
        for numerator, denominator in ((1 - delta - fnr_hi, fpr_hi), (1 - delta - fpr_hi, fnr_hi)):
            valid = numerator > 0
            if valid.any():
                best = max(best, float(np.max(np.log(numerator[valid] / denominator[valid]))))
    return best
