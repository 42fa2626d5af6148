"""Evaluation of synthetic data: fidelity, utility, privacy and fairness.

``evaluate(real, synthetic, holdout=...)`` returns an :class:`EvaluationResult` whose
``summary`` follows ``docs/evaluation-contract.md``. Heavy libraries (xgboost) load only
when a metric needs them.
"""

from healthforge.evaluation.evaluate import EvaluationResult, evaluate, split_train_holdout

__all__ = ["EvaluationResult", "evaluate", "split_train_holdout"]
