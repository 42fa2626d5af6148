"""Checks of generator parameters shared by several generators (one message for each)."""

from __future__ import annotations

from typing import Any

import numpy as np

from healthforge.errors import HealthForgeError


def check_positive_int(value: Any, name: str, prefix: str = "") -> None:
    """Refuse ``value`` unless it is a whole number >= 1 (a bool is not one)."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise HealthForgeError(f"{prefix}{name} must be a positive whole number, not {value!r}")


def auto_or_positive_int(value: int | str, auto: int, name: str) -> int:
    """``auto`` when ``value`` is ``"auto"``, else ``value`` checked to be a whole number >= 1."""
    if value == "auto":
        return auto
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise HealthForgeError(f"{name} must be 'auto' or a whole number of at least 1")
    return int(value)
