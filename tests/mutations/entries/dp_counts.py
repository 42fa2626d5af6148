"""Mutation of the noisy counts dpctgan/dptvae release before DP-SGD training."""

from __future__ import annotations

import pytest

from tests.mutations.catalogue import mutation, weaker_noise


@mutation(
    "dp-deep-counts-noise-tenth",
    "dpctgan's noisy row total and level histograms at sigma x0.1, sigma recorded unchanged",
    tests=["tests/generators/private/test_dp_deep.py::test_noisy_counts_have_the_recorded_sigma"],
)
def _(patch: pytest.MonkeyPatch) -> None:
    from healthforge.generators.private import deep as dp_deep

    weaker_noise(patch, dp_deep)
