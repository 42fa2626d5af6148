"""Utility: does a model trained on synthetic data work on real data?

TRTR trains on the real (training) rows, TSTR on the synthetic rows; both are scored on
the holdout, real rows the generator never saw. Two model families: XGBoost (the
headline) and a linear model (logistic regression, ridge, or a ridge-penalised Cox
model). Classification is scored by AUROC (macro one-vs-rest for multiclass) plus
accuracy, regression by R² plus MAE, survival by Harrell's C-index.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from healthforge.data.schema import Schema
from healthforge.errors import HealthForgeError
from healthforge.evaluation.common import NEEDS_HOLDOUT, SkipMetric, Skips, number
from healthforge.evaluation.features import UNSEEN, FeatureSpace
from healthforge.evaluation.models import (
    fit_linear_cox,
    harrell_c,
    macro_auroc,
    xgb_classifier,
    xgb_regressor,
)

TASKS = ("classification", "regression", "survival")
HEADLINE = {"classification": "auroc", "regression": "r2", "survival": "c_index"}
SECONDARY = {"classification": "accuracy", "regression": "mae", "survival": None}


def infer_task(
    schema: Schema, target: str | None, task: str | None, time_column: str | None
) -> str | None:
    """The prediction task: as given, survival with a time column, else from the target kind."""
    if task is not None and task not in TASKS:
        raise HealthForgeError(f"unknown task '{task}'", f"use one of: {', '.join(TASKS)}")
    if target is None:
        return task
    if time_column is not None:
        if time_column not in schema.modelled_names:
            raise HealthForgeError(
                f"time column '{time_column}' is not a modelled column of the data",
                "name a numeric column holding follow-up time",
            )
        if not schema[time_column].is_numeric:
            raise HealthForgeError(f"time column '{time_column}' is not numeric")
        if task not in (None, "survival"):
            raise HealthForgeError(
                f"a time column was given but the task is '{task}'",
                "drop --time-column, or use task 'survival'",
            )
        return "survival"
    if task == "survival":
        raise HealthForgeError(
            "survival evaluation needs a time column", "pass time_column= (--time-column)"
        )
    if task is not None:
        return task
    return "classification" if schema[target].is_discrete else "regression"


@dataclass
class Split:
    """Model inputs of one table: tree features (codes), linear features (dense), outcome."""

    trees: np.ndarray  # (n, n_columns_used)
    dense: np.ndarray  # (n, n_features_used)
    y: np.ndarray  # (n,) labels / values, or (n, 2) [time, event] for survival


@dataclass
class UtilityOutcome:
    summary: dict[str, Any]
    # Holdout outcome and XGBoost predictions, for per-group scores in fairness.
    holdout_y: np.ndarray | None = None
    holdout_rows: np.ndarray | None = None
    predictions: dict[str, np.ndarray] = field(default_factory=dict)
    score: Callable[[np.ndarray, np.ndarray], float] | None = None
    importances: dict[str, np.ndarray] = field(default_factory=dict)  # XGBoost gain per feature


def empty_summary(task: str | None) -> dict[str, Any]:
    """The ``utility`` block with every metric null."""
    empty = {"trtr": None, "tstr": None, "ratio": None}
    return {
        "metric": HEADLINE.get(task or ""),
        **empty,
        "models": {"xgboost": dict(empty), "linear": dict(empty)},
        "importance_rank_agreement": None,
    }


class _Problem:
    """Turns codes views into model inputs for one task; fits and scores models."""

    def __init__(
        self,
        space: FeatureSpace,
        task: str,
        target: str,
        time_column: str | None,
        n_estimators: int,
        seed: int,
    ) -> None:
        self.space, self.task, self.seed, self.n_estimators = space, task, seed, n_estimators
        self.t = space.index(target)
        self.time = space.index(time_column) if time_column else None
        self.features = [j for j in range(len(space.columns)) if j not in (self.t, self.time)]
        self.dense_cols = space.feature_columns(self.features)
        self.classes: np.ndarray = np.zeros(0)
        column = space.columns[self.t]
        cats = list(column.categories or []) if column.is_discrete else []
        positive = [
            i
            for i, c in enumerate(cats)
            if c is True or c == 1 or str(c).lower() in {"1", "true", "yes"}
        ]
        # Event code for survival: the category spelled like "yes/1/true", else the second one.
        self.event_code = positive[-1] if positive else min(1, max(len(cats) - 1, 0))

    def fit_classes(self, *codes: np.ndarray) -> None:
        values = np.concatenate([c[:, self.t] for c in codes])
        values = values[np.isfinite(values) & (values != UNSEEN)]
        self.classes = np.unique(values)

    def split(self, codes: np.ndarray, dense: np.ndarray) -> tuple[Split, np.ndarray]:
        """Model inputs of the rows with a known outcome, and those rows' indices."""
        target = codes[:, self.t]
        if self.task == "survival":
            time = codes[:, self.time]
            ok = np.isfinite(target) & np.isfinite(time) & (target != UNSEEN)
            column = self.space.columns[self.t]
            event = target[ok] == self.event_code if column.is_discrete else target[ok] != 0
            y = np.column_stack([np.maximum(time[ok], 1e-6), event.astype(float)])
        elif self.task == "classification":
            ok = np.isin(target, self.classes)
            y = np.searchsorted(self.classes, target[ok]).astype(float)
        else:
            ok = np.isfinite(target)
            y = target[ok]
        return Split(codes[ok][:, self.features], dense[ok][:, self.dense_cols], y), np.flatnonzero(
            ok
        )

    # -- fitting --------------------------------------------------------------------
    def check_train(self, y: np.ndarray, side: str) -> None:
        if len(y) < 10:
            raise SkipMetric(f"the {side} data has fewer than 10 rows with a known target")
        if self.task == "classification" and np.unique(y).size < 2:
            raise SkipMetric(f"the target has a single class in the {side} data")
        if self.task == "regression" and np.ptp(y) == 0:
            raise SkipMetric(f"the target is constant in the {side} data")
        if self.task == "survival" and y[:, 1].sum() < 2:
            raise SkipMetric(f"fewer than 2 events in the {side} data")

    def fit_xgb(self, data: Split) -> tuple[Callable[[np.ndarray], np.ndarray], np.ndarray]:
        """A prediction function and the feature importances (gain) of an XGBoost model."""
        if self.task == "classification":
            present = np.unique(data.y).astype(int)
            model = xgb_classifier(self.n_estimators, self.seed, len(data.y))
            model.fit(data.trees, np.searchsorted(present, data.y))
            k = len(self.classes)

            def predict(X: np.ndarray) -> np.ndarray:
                proba = np.zeros((len(X), k))
                proba[:, present] = model.predict_proba(X)  # absent classes get 0
                return proba

            return predict, model.feature_importances_
        if self.task == "regression":
            model = xgb_regressor(self.n_estimators, self.seed, len(data.y)).fit(data.trees, data.y)
        else:  # Cox partial likelihood; a negative label marks a censored time
            label = np.where(data.y[:, 1] > 0, data.y[:, 0], -data.y[:, 0])
            model = xgb_regressor(self.n_estimators, self.seed, len(data.y), "survival:cox").fit(
                data.trees, label
            )
        return model.predict, model.feature_importances_

    def fit_linear(self, data: Split) -> tuple[Callable[[np.ndarray], np.ndarray], None]:
        from sklearn.linear_model import LogisticRegression, Ridge

        if self.task == "classification":
            present = np.unique(data.y).astype(int)
            model = LogisticRegression(max_iter=500, tol=1e-3).fit(data.dense, data.y.astype(int))
            k = len(self.classes)

            def predict(X: np.ndarray) -> np.ndarray:
                proba = np.zeros((len(X), k))
                proba[:, present] = model.predict_proba(X)
                return proba

            return predict, None
        if self.task == "regression":
            return Ridge(alpha=1.0).fit(data.dense, data.y).predict, None
        beta = fit_linear_cox(data.dense, data.y[:, 0], data.y[:, 1])
        return (lambda X: X @ beta), None

    # -- scoring --------------------------------------------------------------------
    def headline(self, y: np.ndarray, pred: np.ndarray) -> float:
        if self.task == "classification":
            return macro_auroc(y.astype(int), pred)
        if self.task == "regression":
            sst = ((y - y.mean()) ** 2).sum()
            return float(1 - ((y - pred) ** 2).sum() / sst) if sst > 0 else float("nan")
        return harrell_c(y[:, 0], y[:, 1] > 0, pred)

    def secondary(self, y: np.ndarray, pred: np.ndarray) -> float | None:
        if self.task == "classification":
            return float(np.mean(pred.argmax(axis=1) == y))
        if self.task == "regression":
            return float(np.mean(np.abs(y - pred)))
        return None


def evaluate_utility(
    space: FeatureSpace,
    codes: dict[str, np.ndarray],
    dense: dict[str, np.ndarray],
    target: str | None,
    task: str | None,
    time_column: str | None,
    skips: Skips,
    n_estimators: int,
    seed: int,
) -> UtilityOutcome:
    """The ``utility`` block of the summary; ``codes``/``dense`` keyed real/synthetic/holdout."""
    summary = empty_summary(task)
    if target is None or task is None:
        skips.add(
            "utility", "no target column: pass target= or mark one 'role: target' in the schema"
        )
        return UtilityOutcome(summary)
    problem = _Problem(space, task, target, time_column, n_estimators, seed)
    if task == "classification":
        problem.fit_classes(*codes.values())
    sets = {name: problem.split(codes[name], dense[name]) for name in codes}
    second = SECONDARY[task]
    models: dict[str, dict[str, Any]] = summary["models"]
    outcome = UtilityOutcome(summary)
    holdout = sets.get("holdout")
    if holdout is None:
        skips.add("utility.trtr", NEEDS_HOLDOUT)
        skips.add("utility.tstr", NEEDS_HOLDOUT)
        skips.add("utility.ratio", NEEDS_HOLDOUT)
        skips.add("utility.models", NEEDS_HOLDOUT)
    else:
        hold, rows = holdout
        outcome.holdout_y, outcome.holdout_rows, outcome.score = hold.y, rows, problem.headline
        if task == "classification" and np.unique(hold.y).size < 2:
            skips.add("utility", "the holdout has a single class of the target: AUROC is undefined")
            holdout = None
    importances: dict[str, np.ndarray] = {}
    for family, fit in (("xgboost", problem.fit_xgb), ("linear", problem.fit_linear)):
        block = models[family]
        for side, key in (("real", "trtr"), ("synthetic", "tstr")):
            data = sets[side][0]
            try:
                problem.check_train(data.y, side)
                if holdout is None and family == "linear":
                    continue  # the linear model has no holdout-free use
                predict, importance = fit(data)
            except SkipMetric as reason:
                skips.add(f"utility.models.{family}.{key}", str(reason))
                if family == "xgboost":
                    skips.add(f"utility.{key}", str(reason))
                continue
            if family == "xgboost":
                importances[side] = importance
            if holdout is None:
                continue
            X = holdout[0].trees if family == "xgboost" else holdout[0].dense
            pred = predict(X)
            block[key] = number(problem.headline(holdout[0].y, pred))
            if block[key] is None:
                skips.add(f"utility.models.{family}.{key}", "the score is undefined on the holdout")
            if second:
                block[f"{second}_{key}"] = number(problem.secondary(holdout[0].y, pred))
            if family == "xgboost":
                outcome.predictions[key] = pred
        block["ratio"] = _ratio(block["tstr"], block["trtr"], task)
        if block["ratio"] is None and block["trtr"] is not None and block["tstr"] is not None:
            skips.add(f"utility.models.{family}.ratio", "the real-trained model has no skill")
    for key in ("trtr", "tstr", "ratio"):
        summary[key] = models["xgboost"][key]
        if summary[key] is None and key == "ratio" and holdout is not None:
            skips.add("utility.ratio", "needs both TRTR and TSTR scores, with a skilled real model")
    summary["importance_rank_agreement"] = _rank_agreement(importances, skips)
    outcome.importances = {f"importance_{side}": v for side, v in importances.items()}
    return outcome


def _ratio(tstr: float | None, trtr: float | None, task: str) -> float | None:
    if tstr is None or trtr is None or trtr <= 0:  # an R² <= 0 model has nothing to match
        return None
    return number(tstr / trtr)


def _rank_agreement(importances: dict[str, np.ndarray], skips: Skips) -> float | None:
    from scipy.stats import spearmanr

    name = "utility.importance_rank_agreement"
    if len(importances) < 2:
        skips.add(name, "needs XGBoost models trained on both real and synthetic data")
        return None
    a, b = importances["real"], importances["synthetic"]
    if a.size < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:
        skips.add(name, "feature importances are constant (fewer than two informative features)")
        return None
    return number(spearmanr(a, b).statistic)
