"""Small, fast model factories and scoring functions shared by the metrics.

XGBoost is imported inside the functions so that ``import healthforge`` stays fast.
Models are deliberately modest (shallow trees, a few hundred rounds, two threads):
the question is "does the synthetic data carry the signal", not leaderboard scores.
"""

from __future__ import annotations

from typing import Any

import numpy as np

MAX_THREADS = 2
THREADED_ROWS = 20_000  # below this, one thread is as fast and immune to busy machines


def threads(n_rows: int) -> int:
    """XGBoost threads for ``n_rows`` training rows: OpenMP threads spin-wait, so on a busy
    machine two threads on a small problem can be 10-50x slower than one."""
    return MAX_THREADS if n_rows >= THREADED_ROWS else 1


def xgb_params(n_estimators: int, seed: int, n_rows: int = 0) -> dict[str, Any]:
    return {
        "n_estimators": n_estimators,
        "max_depth": 5,
        "learning_rate": 0.1,
        "subsample": 0.9,
        "colsample_bytree": 0.9,
        "tree_method": "hist",
        "max_bin": 64,
        "n_jobs": threads(n_rows),
        "random_state": seed,
        "verbosity": 0,
    }


def xgb_classifier(n_estimators: int, seed: int, n_rows: int = 0) -> Any:
    from xgboost import XGBClassifier

    return XGBClassifier(**xgb_params(n_estimators, seed, n_rows))


def xgb_regressor(
    n_estimators: int, seed: int, n_rows: int = 0, objective: str = "reg:squarederror"
) -> Any:
    from xgboost import XGBRegressor

    return XGBRegressor(objective=objective, **xgb_params(n_estimators, seed, n_rows))


def binary_auc(y: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve via ranks (ties count half); ``y`` boolean, shape ``(n,)``.

    Returns NaN when ``y`` holds a single class.
    """
    from scipy.stats import rankdata

    y = np.asarray(y, dtype=bool)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(score)
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def macro_auroc(y: np.ndarray, proba: np.ndarray) -> float:
    """AUROC of class probabilities ``proba (n, n_classes)`` for labels ``y (n,)`` in 0..K-1.

    Binary: the AUC of the second class. Multiclass: the macro average of one-vs-rest
    AUCs over the classes present in ``y`` (a class absent from ``y`` has no AUC).
    """
    if proba.shape[1] == 2:
        return binary_auc(y == 1, proba[:, 1])
    aucs = [binary_auc(y == k, proba[:, k]) for k in range(proba.shape[1])]
    aucs = [a for a in aucs if np.isfinite(a)]
    return float(np.mean(aucs)) if aucs else float("nan")


def harrell_c(time: np.ndarray, event: np.ndarray, risk: np.ndarray, chunk: int = 512) -> float:
    """Harrell's concordance index; all arrays shape ``(n,)``, higher ``risk`` = earlier event.

    A pair (i, j) is comparable when ``time[i] < time[j]`` and ``i`` had the event; it is
    concordant when ``risk[i] > risk[j]``; equal risks count half. Chunked over events so
    memory stays at ``chunk * n`` booleans. NaN when no pair is comparable.
    """
    time, risk = np.asarray(time, float), np.asarray(risk, float)
    events = np.flatnonzero(np.asarray(event, bool))
    concordant, comparable = 0.0, 0.0
    for start in range(0, events.size, chunk):
        i = events[start : start + chunk]
        later = time[None, :] > time[i, None]  # (chunk, n)
        higher = risk[i, None] > risk[None, :]
        tied = risk[i, None] == risk[None, :]
        comparable += later.sum()
        concordant += (later & higher).sum() + 0.5 * (later & tied).sum()
    return float(concordant / comparable) if comparable else float("nan")


def fit_linear_cox(
    X: np.ndarray, time: np.ndarray, event: np.ndarray, l2: float = 0.01
) -> np.ndarray:
    """Ridge-penalised Cox proportional-hazards coefficients ``(n_features,)``.

    Breslow partial likelihood for ties, minimised with L-BFGS; gradient in closed
    form from cumulative sums over the risk sets (rows sorted by decreasing time), so
    cost is ``O(n * n_features)`` per iteration. ``X (n, n_features)`` must be free of NaN.
    """
    from scipy.optimize import minimize

    order = np.argsort(-time, kind="stable")
    Xs, ts, es = X[order], time[order], np.asarray(event, bool)[order]
    # Risk set of row i = rows with time >= time_i: the prefix up to the last tie of time_i.
    last = np.searchsorted(-ts, -ts, side="right") - 1
    n_events = max(int(es.sum()), 1)

    def loss(beta: np.ndarray) -> tuple[float, np.ndarray]:
        eta = Xs @ beta
        shift = eta.max()
        w = np.exp(eta - shift)
        risk = np.cumsum(w)[last]
        weighted = np.cumsum(w[:, None] * Xs, axis=0)[last]
        value = -(eta[es] - shift - np.log(risk[es])).sum() / n_events
        grad = -(Xs[es] - weighted[es] / risk[es, None]).sum(axis=0) / n_events
        return value + 0.5 * l2 * beta @ beta, grad + l2 * beta

    result = minimize(loss, np.zeros(X.shape[1]), jac=True, method="L-BFGS-B")
    return np.asarray(result.x)
