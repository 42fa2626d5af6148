"""Several synthetic datasets evaluated against the same real rows, one task each.

The local backend evaluates them here one after another; Ray (``--backend ray``) runs
each as a task, the real rows placed once in the object store. The figures are the
same: each evaluation depends on its rows and the seed only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from healthforge.distributed.executor import Executor, LocalExecutor, first_failure
from healthforge.progress import ProgressCallback, report


def _evaluate_one(shared: tuple[pd.DataFrame, dict[str, Any]], frame: pd.DataFrame) -> Any:
    from healthforge.evaluation import evaluate

    real, options = shared
    return evaluate(real, frame, **options)


def evaluate_many(
    real: pd.DataFrame,
    frames: Mapping[str, pd.DataFrame],
    options: dict[str, Any],
    executor: Executor | None = None,
    progress: ProgressCallback | None = None,
) -> dict[str, Any]:
    """``evaluate(real, frame, **options)`` for every named frame, in the frames' order."""
    names = list(frames)
    report(progress, "synthetic datasets", 0, len(names))
    outcomes = (executor or LocalExecutor()).map(
        _evaluate_one,
        (real, dict(options)),
        [(name, frames[name]) for name in names],
        fail_fast=True,
        progress=progress,
        stage="synthetic datasets",
    )
    first_failure(outcomes, "evaluation of")
    return {o.key: o.value for o in outcomes}
