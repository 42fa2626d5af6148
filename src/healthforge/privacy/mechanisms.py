"""The DP mechanisms the marginal-based generators (aim, mst, dp_copula) share.

One place computes a Gaussian sigma from a zCDP budget, one place draws the noise, and one
place runs the exponential mechanism, so the sigma recorded in ``dp_budget_`` is the sigma
the noise was drawn with, and a test can compare the two.

Adjacency everywhere is add/remove one record: a neighbour has one row more or one row
fewer, so the row count itself is private (generators release a noisy total). Under it a
contingency table (a histogram or a pair marginal) has L2 sensitivity 1: the record's own
cell moves by 1 and nothing else does.
"""

from __future__ import annotations

import math

import numpy as np


def gaussian_sigma(rho: float, l2_sensitivity: float) -> float:
    """Noise scale making the Gaussian mechanism ``rho``-zCDP (Bun & Steinke 2016, Prop. 1.6).

    ``rho``-zCDP holds for ``sigma = l2_sensitivity / sqrt(2 rho)``. Several queries
    answered together have the L2 sensitivity of their concatenation: ``sqrt(k)`` for ``k``
    tables of sensitivity 1.
    """
    if rho <= 0 or l2_sensitivity <= 0:
        raise ValueError(f"need rho > 0 and a positive sensitivity, not {rho}, {l2_sensitivity}")
    return l2_sensitivity / math.sqrt(2 * rho)


def gaussian_measure(true: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """``true`` (any shape) plus independent N(0, sigma^2) noise in every entry."""
    true = np.asarray(true, dtype=float)
    return true + rng.normal(0.0, sigma, true.shape)


def exponential_mechanism(
    scores: np.ndarray, epsilon: float, sensitivity: float, rng: np.random.Generator
) -> int:
    """Index drawn with probability proportional to ``exp(epsilon * score / (2 sensitivity))``.

    ``scores``: shape ``(k,)``. ``sensitivity`` must bound how much any one score can move
    between neighbouring datasets; the draw is then ``epsilon``-DP and
    ``epsilon^2 / 8``-zCDP (Cesar & Rogers 2021).
    """
    logits = epsilon * (scores - scores.max()) / (2 * sensitivity)
    p = np.exp(logits)
    return int(rng.choice(len(p), p=p / p.sum()))
