"""The Clopper-Pearson epsilon lower bound of healthforge.privacy.audit, on mechanisms whose
true epsilon is known in closed form."""

from __future__ import annotations

import math

import numpy as np
import pytest

from healthforge.privacy.audit import clopper_pearson_upper, epsilon_lower_bound


def test_perfect_separation_gives_the_exact_clopper_pearson_figure() -> None:
    # 0 errors out of n: the one-sided upper limit at alpha/2 is 1 - (alpha/2)^(1/n)
    n, alpha, delta = 200, 0.05, 1e-6
    upper = 1 - (alpha / 2) ** (1 / n)
    expected = math.log((1 - delta - upper) / upper)
    got = epsilon_lower_bound(np.zeros(n), np.ones(n), delta=delta, alpha=alpha)
    assert got == pytest.approx(expected, rel=1e-9)
    # separation in the other direction is found too
    assert epsilon_lower_bound(np.ones(n), np.zeros(n), delta, alpha) == pytest.approx(expected)


def test_clopper_pearson_upper_matches_the_binomial_tail() -> None:
    # the upper limit p solves P(Binomial(n, p) <= k) = alpha
    from scipy.stats import binom

    n, alpha = 50, 0.05
    ks = np.array([0, 3, 17, 49])
    upper = clopper_pearson_upper(ks, n, alpha)
    assert np.allclose(binom.cdf(ks, n, upper), alpha, atol=1e-9)
    assert clopper_pearson_upper(np.array([n]), n, alpha)[0] == 1.0


def test_randomized_response_bound_is_close_to_but_below_its_epsilon() -> None:
    # randomized response answers truthfully with probability e^eps / (1 + e^eps): exactly
    # eps-DP, and the 0/1 threshold test is the optimal attack, so the bound approaches eps
    eps, runs = 2.0, 20_000
    rng = np.random.default_rng(7)
    keep = math.exp(eps) / (1 + math.exp(eps))
    without = (rng.random(runs) > keep).astype(float)  # true bit 0
    with_ = (rng.random(runs) <= keep).astype(float)  # true bit 1
    bound = epsilon_lower_bound(without, with_, delta=0.0)
    assert 1.8 < bound < eps


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_gaussian_mechanism_bound_stays_below_its_epsilon(seed: int) -> None:
    # a Gaussian mechanism with sensitivity 1 and the classical calibration to (1, 1e-5)-DP
    # (sigma = sqrt(2 ln(1.25 / delta)) / eps, about 4.85); the bound must not exceed 1
    eps, delta = 1.0, 1e-5
    sigma = math.sqrt(2 * math.log(1.25 / delta)) / eps
    rng = np.random.default_rng(seed)
    without = rng.normal(0.0, sigma, 400)
    with_ = rng.normal(1.0, sigma, 400)
    assert epsilon_lower_bound(without, with_, delta) < eps
    # and a mechanism with 1/10 of that noise is caught exceeding its claimed epsilon
    loud = epsilon_lower_bound(without / 10, 1.0 + (with_ - 1.0) / 10, delta)
    assert loud > eps


def test_identical_distributions_show_no_loss() -> None:
    rng = np.random.default_rng(3)
    bound = epsilon_lower_bound(rng.normal(size=300), rng.normal(size=300), delta=1e-6)
    assert bound < 0.5


def test_empty_runs_are_refused() -> None:
    with pytest.raises(ValueError):
        epsilon_lower_bound([], [1.0], delta=1e-6)
