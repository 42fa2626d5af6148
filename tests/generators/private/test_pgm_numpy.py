"""The numpy estimation of aim/mst against private-pgm's own (mbi 2.0, jax)."""

from __future__ import annotations

import os

import numpy as np
import pytest

from healthforge.generators.private.pgm_numpy import (
    JunctionTree,
    Measurement,
    TreeSampler,
    estimate,
)

SIZES = [3, 2, 4, 2, 3]
CLIQUES = [(0,), (1,), (2,), (3,), (4,), (0, 1), (1, 2), (2, 4), (3, 4)]


def _codes(n: int = 500, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = np.zeros((n, 5), dtype=int)
    x[:, 0] = rng.integers(0, 3, n)
    x[:, 1] = (x[:, 0] + rng.integers(0, 2, n)) % 2
    x[:, 2] = (2 * x[:, 1] + rng.integers(0, 2, n)) % 4
    x[:, 3] = rng.integers(0, 2, n)
    x[:, 4] = (x[:, 2] + x[:, 3]) % 3
    return x


def _marginal(x: np.ndarray, clique: tuple[int, ...]) -> np.ndarray:
    shape = [SIZES[j] for j in clique]
    flat = np.ravel_multi_index(tuple(x[:, j] for j in clique), shape)
    return np.bincount(flat, minlength=int(np.prod(shape))).astype(float)


def _measurements(sigma: float = 10.0) -> list[Measurement]:
    x, rng = _codes(), np.random.default_rng(1)
    return [
        Measurement(c, _marginal(x, c) + rng.normal(0, sigma, _marginal(x, c).shape), sigma)
        for c in CLIQUES
    ]


def test_matches_private_pgm_mirror_descent() -> None:
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    mbi = pytest.importorskip("mbi")
    ours, iterations = estimate(SIZES, _measurements(), max_iters=3000, tol=1e-7)
    assert iterations < 3000  # stopped by the convergence check
    domain = mbi.Domain([f"c{j}" for j in range(5)], SIZES)
    theirs = mbi.estimation.MirrorDescent().estimate(
        domain,
        [
            mbi.LinearMeasurement(m.y, tuple(f"c{j}" for j in m.clique), stddev=m.sigma)
            for m in _measurements()
        ],
        iters=3000,
    )
    for clique in [(0, 1), (1, 2), (2, 4), (3, 4)]:
        reference = np.asarray(theirs.project(tuple(f"c{j}" for j in clique)).datavector())
        # counts of ~500; measured largest gap 0.0034 (clique (2, 4)), the others < 0.0005
        assert np.abs(ours.marginal(clique) - reference).max() < 0.005


def test_sampler_reproduces_the_model_and_is_seeded() -> None:
    model, _ = estimate(SIZES, _measurements())
    sampler = TreeSampler(model)
    rows = sampler.sample(100_000, np.random.default_rng(0))
    assert rows.shape == (100_000, 5) and (rows.max(axis=0) < np.array(SIZES)).all()
    empirical = _marginal(rows, (2, 4)) / len(rows) * model.total
    assert np.abs(empirical - model.marginal((2, 4))).max() < 3.0
    again = sampler.sample(100, np.random.default_rng(0))
    assert np.array_equal(again, sampler.sample(100, np.random.default_rng(0)))


def test_junction_tree_of_a_long_chain_stays_small() -> None:
    # a chain of 60 columns with 11 levels: the int64 product of sizes once overflowed
    # and led the elimination order into cliques of 25 columns
    sizes = [11] * 60
    tree = JunctionTree(sizes, [(j, j + 1) for j in range(59)])
    assert max(len(node) for node in tree.nodes) == 2
    assert all(len(tree.separators[k]) <= 1 for k in range(len(tree.nodes)))
