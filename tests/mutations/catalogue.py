"""The catalogue of mutations: name → what it breaks, how, and which tests must fail.

Register one with :func:`mutation`::

    @mutation(
        "copula-noise-tenth",
        "dp_copula's histogram and tau noise x0.1, epsilon recorded unchanged",
        tests=["tests/privacy/test_marginal_mechanisms.py::test_copula_noise_matches_sigma"],
    )
    def _(patch: pytest.MonkeyPatch) -> None:
        patch.setattr(dp_copula, "gaussian_sigma", lambda *a, **k: 0.1 * real(*a, **k))

Patch the name where the code looks it up at call time (a module attribute), so the
patch reaches code imported before or after it. Import ``src`` modules inside the
function: the catalogue is imported by the plugin before any test runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import pytest

Apply = Callable[[pytest.MonkeyPatch], None]


@dataclass(frozen=True)
class Mutation:
    """One deliberate breakage: ``apply`` patches it in; one of ``tests`` must then fail."""

    name: str
    breaks: str
    tests: tuple[str, ...]
    apply: Apply


MUTATIONS: dict[str, Mutation] = {}


def mutation(name: str, breaks: str, tests: list[str]) -> Callable[[Apply], Apply]:
    """Register the decorated function as the mutation ``name``."""

    def register(apply: Apply) -> Apply:
        if name in MUTATIONS:
            raise ValueError(f"mutation {name!r} is registered twice")
        MUTATIONS[name] = Mutation(name, breaks, tuple(tests), apply)
        return apply

    return register


def weaker_noise(
    patch: pytest.MonkeyPatch,
    module: ModuleType,
    factor: float = 0.1,
    when: Callable[[Any], bool] = lambda true: True,
) -> None:
    """Make ``module``'s ``gaussian_measure(true, sigma, rng)`` draw its noise with
    ``sigma x factor`` for the calls ``when(true)`` selects, while the code under test
    still records the sigma it asked for: the usual way to break a Gaussian mechanism."""
    real = module.gaussian_measure

    def measure(true: Any, sigma: float, rng: Any) -> Any:
        return real(true, factor * sigma if when(true) else sigma, rng)

    patch.setattr(module, "gaussian_measure", measure)


def copy_guard_off(patch: pytest.MonkeyPatch) -> None:
    """No training pattern counts as rare, so the copy guard lets every copy through."""
    import numpy as np

    from healthforge.generators.core import base

    real = base._pattern_hashes

    def nothing_rare(df: Any, k: int) -> tuple[Any, Any]:
        rare, common = real(df, k)
        return np.empty(0, dtype=rare.dtype), np.union1d(rare, common)

    patch.setattr(base, "_pattern_hashes", nothing_rare)


# the entries live in one module per guarantee family, imported here to register them
from tests.mutations import entries  # noqa: E402, F401
