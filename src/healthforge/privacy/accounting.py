"""Privacy-budget arithmetic shared by the differentially private generators.

The marginal-based generators account in zero-concentrated DP (zCDP, Bun & Steinke
2016): Gaussian measurements compose by adding their ``rho``, and the total is converted
to an (epsilon, delta) guarantee with the tight conversion of Canonne, Kamath & Steinke
(2020), as private-pgm's reference mechanisms do.
"""

from __future__ import annotations

import math
from typing import Any

from healthforge.errors import HealthForgeError

DEFAULT_DELTA_CAP = 1e-6  # delta never above this by default, whatever the table size


def check_epsilon(epsilon: Any) -> float:
    """``epsilon`` as a float, or a clear error when it is not a positive number."""
    if isinstance(epsilon, bool) or not isinstance(epsilon, int | float) or math.isnan(epsilon):
        raise HealthForgeError(
            f"epsilon must be a positive number, not {epsilon!r}",
            "for example --param epsilon=1 (smaller is more private)",
        )
    if epsilon <= 0 or math.isinf(epsilon):
        raise HealthForgeError(
            f"epsilon must be a positive, finite number, not {epsilon}",
            "differential privacy needs 0 < epsilon; typical values are 0.5 to 10",
        )
    return float(epsilon)


def check_delta(delta: Any, n_rows: int | None = None) -> float:
    """``delta`` as a float in (0, 1), and below ``1 / n_rows`` when the size is known."""
    if isinstance(delta, bool) or not isinstance(delta, int | float) or math.isnan(delta):
        raise HealthForgeError(f"delta must be a number in (0, 1), not {delta!r}")
    if not 0 < delta < 1:
        raise HealthForgeError(
            f"delta must lie strictly between 0 and 1, not {delta}",
            "leave it out for the default (below 1 / number of rows)",
        )
    if n_rows is not None and delta >= 1.0 / n_rows:
        # delta >= 1/n allows a mechanism that publishes one whole record
        raise HealthForgeError(
            f"delta {delta:g} is not below 1 / {n_rows} rows; it would allow publishing a record",
            f"use delta below {1.0 / n_rows:.2g}, or leave it out for the default",
        )
    return float(delta)


def default_delta(n_rows: int) -> float:
    """``min(1 / n^2, 1e-6)``: far below ``1 / n`` for any table size."""
    return min(1.0 / max(n_rows, 2) ** 2, DEFAULT_DELTA_CAP)


def cdp_delta(rho: float, epsilon: float) -> float:
    """Smallest delta such that ``rho``-zCDP implies (epsilon, delta)-DP."""
    if rho <= 0:
        return 0.0
    a_min, a_max = 1.01, (epsilon + 1) / (2 * rho) + 2
    for _ in range(200):  # bisection on the Renyi order
        alpha = (a_min + a_max) / 2
        derivative = (2 * alpha - 1) * rho - epsilon + math.log1p(-1.0 / alpha)
        if derivative < 0:
            a_min = alpha
        else:
            a_max = alpha
    alpha = (a_min + a_max) / 2
    delta = math.exp((alpha - 1) * (alpha * rho - epsilon) + alpha * math.log1p(-1 / alpha)) / (
        alpha - 1.0
    )
    return min(delta, 1.0)


def cdp_rho(epsilon: float, delta: float) -> float:
    """Largest ``rho`` such that ``rho``-zCDP implies (epsilon, delta)-DP."""
    lo, hi = 0.0, epsilon + 1.0
    for _ in range(200):
        rho = (lo + hi) / 2
        if cdp_delta(rho, epsilon) <= delta:
            lo = rho
        else:
            hi = rho
    return lo


def budget_record(
    mechanism: str,
    epsilon: float,
    delta: float,
    split: dict[str, Any],
    accountant: str,
    **extra: Any,
) -> dict[str, Any]:
    """The ``dp_budget_`` dictionary every DP generator keeps (JSON-serialisable)."""
    return {
        "mechanism": mechanism,
        "epsilon": float(epsilon),
        "delta": float(delta),
        "split": split,
        "accountant": accountant,
        "post_processing": "sampling any number of rows spends no further budget",
        **extra,
    }
