"""Scoring one arm of a repeat: a downstream model trained on its rows, AUROC on the real
holdout overall and per group."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from healthforge.augment.statistics import NO_HOLDOUT, ONE_CLASS, OVERALL


def _fit_and_score(
    model_name: str,
    rows: pd.DataFrame,
    holdout: pd.DataFrame,
    columns: list[Any],
    reference: pd.DataFrame,
    balance: str,
    target: str,
    n_estimators: int,
    seed: int,
    groups: list[str],
) -> dict[str, tuple[float, int, str | None]] | None:
    """Holdout AUROC overall and for every one of ``groups`` of a model trained on ``rows``,
    as ``(auroc, holdout rows, why not scored or None)``; ``None`` when the rows lack a
    class of the target. A group is kept when it cannot be scored (no holdout rows, or
    one outcome class only), so that the conclusion can say so instead of skipping it."""
    from healthforge.evaluation.features import FeatureSpace, encode_codes
    from healthforge.evaluation.models import macro_auroc, xgb_classifier

    features = [c for c in columns if c.name != target]
    target_column = next(c for c in columns if c.name == target)
    k = len(target_column.categories or [])
    # one feature space fitted on the real training rows, shared by every arm
    space = FeatureSpace.fit(encode_codes(reference, features), features)
    X = space.matrix(encode_codes(rows, features))
    X_test = space.matrix(encode_codes(holdout, features))
    y = encode_codes(rows, [target_column])[:, 0]
    y_test = encode_codes(holdout, [target_column])[:, 0]
    if len(np.unique(y[np.isfinite(y)])) < k:
        return None
    if model_name == "xgboost":
        clf = xgb_classifier(n_estimators, seed, len(X))
    else:
        from sklearn.linear_model import LogisticRegression

        clf = LogisticRegression(max_iter=2_000, C=1.0)
    clf.fit(X, y.astype(int))
    proba = clf.predict_proba(X_test)
    labels = holdout[balance].astype(str).to_numpy()
    member_of = {OVERALL: np.ones(len(labels), dtype=bool)}
    member_of.update({g: labels == g for g in groups})
    scores: dict[str, tuple[float, int, str | None]] = {}
    for group, member in member_of.items():
        n_holdout = int(member.sum())
        if n_holdout == 0:
            scores[group] = (math.nan, 0, NO_HOLDOUT)
            continue
        value = macro_auroc(y_test[member].astype(int), proba[member])
        scores[group] = (value, n_holdout, None if np.isfinite(value) else ONE_CLASS)
    return scores
