"""A generator that declines p >> n tables, for the benchmark's refusal test.

The test copies this file onto the child process's PYTHONPATH as a plugin module.
"""

from __future__ import annotations

import numpy as np

from healthforge.errors import HealthForgeError
from healthforge.generators.statistical.independent import IndependentGenerator
from healthforge.progress import ProgressCallback


class RefusingGenerator(IndependentGenerator):
    """The independent baseline, but it says no to far more columns than rows."""

    name = "refusing"

    def _fit(self, X: np.ndarray, progress: ProgressCallback | None) -> None:
        if X.shape[1] > X.shape[0]:
            raise HealthForgeError(
                f"generator 'refusing' does not handle tables with far more columns than rows "
                f"({X.shape[1]} columns, {X.shape[0]} rows)"
            )
        super()._fit(X, progress)
