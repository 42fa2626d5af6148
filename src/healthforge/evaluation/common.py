"""Pieces every metric module shares: skip reasons, sampling, JSON-safe numbers."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

NEEDS_HOLDOUT = "needs a holdout: real rows the generator never saw"


class SkipMetric(Exception):
    """Raised inside a metric that cannot run; the message is the reason shown to users."""


class Skips:
    """Collects ``{metric, reason}`` entries for the summary's ``skipped`` list."""

    def __init__(self) -> None:
        self.entries: list[dict[str, str]] = []

    def add(self, metric: str, reason: str) -> None:
        if not any(e["metric"] == metric for e in self.entries):
            self.entries.append({"metric": metric, "reason": reason})


def number(value: Any) -> float | None:
    """A JSON-safe float: ``None`` for missing, NaN or infinite values."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def sample_index(n: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """Sorted row indices: all ``n`` rows, or ``size`` of them without replacement."""
    if n <= size:
        return np.arange(n)
    return np.sort(rng.choice(n, size=size, replace=False))
