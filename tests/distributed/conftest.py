"""Fixtures of the distributed tests: a small fitted model and an embedded Ray runtime."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest

from healthforge.generators import Generator, get_generator


def small_table(n: int = 400, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 90, n)
    return pd.DataFrame(
        {
            "age": age,
            "sbp": np.round(100 + 0.5 * age + rng.normal(0, 12, n), 1),
            "sex": rng.choice(["female", "male"], n),
            "smoker": rng.choice(["yes", "no"], n, p=[0.3, 0.7]),
            "died": (rng.random(n) < 0.1 + age / 300).astype(int),
        }
    )


@pytest.fixture(scope="session")
def fitted() -> Generator:
    return get_generator("gaussian_copula", seed=1).fit(small_table(), target="died")


@pytest.fixture(scope="module")
def ray_runtime() -> Iterator[Any]:
    """An embedded Ray with 2 CPUs, as CI runs it; skipped (with the reason) without ray."""
    ray = pytest.importorskip("ray", reason="the ray extra is not installed (pip install '.[ray]')")
    from healthforge.distributed.ray_backend import ensure_runtime

    started = not ray.is_initialized()
    ensure_runtime(workers=2)
    yield ray
    if started:
        ray.shutdown()
