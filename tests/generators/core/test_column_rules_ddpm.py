"""Exact column rules (generators.core.column_rules): found where the data has them, and only
there; ddpm keeps them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from healthforge.generators import get_generator
from healthforge.generators.core.column_rules import ColumnRules, learn_lookups, learn_sums

DECIMALS: list[int | None] = [0, 2, None, 0, 1, 2, 2]


def _table(n: int = 600, seed: int = 0) -> np.ndarray:
    """state (0..19, some missing), its price, a noisy column, a binary target, a, b, a - b."""
    rng = np.random.default_rng(seed)
    state = rng.integers(0, 20, n).astype(float)
    state[:30] = np.nan
    prices = np.round(rng.uniform(1.5, 2.5, 20), 2)
    price = np.where(np.isnan(state), np.nan, prices[np.nan_to_num(state).astype(int)])
    noisy = rng.normal(size=n)
    target = (rng.random(n) < 0.2).astype(float)
    a = rng.normal(70, 10, n).round(1)
    b = rng.normal(70, 10, n).round(2)
    b[40:60] = np.nan
    return np.column_stack([state, price, noisy, target, a, b, b - a])


def test_learns_lookup_and_difference_and_rewrites_generated_rows() -> None:
    X = _table()
    rules = ColumnRules.learn(X, [True, False, False, True, False, False, False], DECIMALS, (3,))
    assert [(r.src, r.dst) for r in rules.lookups] == [(0, 1)]  # state -> price, not reverse
    # a and b are independent, so their difference has the widest spread: it is computed
    assert len(rules.sums) == 1 and rules.sums[0].target == 6
    # generated rows: right states, wrong prices and differences -> made exact
    rng = np.random.default_rng(1)
    G = X[rng.permutation(len(X))].copy()
    G[:, 1] = rng.permutation(G[:, 1])
    G[:, 6] = rng.normal(size=len(G))
    rules.apply(G)
    lookup = dict(zip(X[:, 0], X[:, 1], strict=True))
    for s, p in zip(G[:, 0], G[:, 1], strict=True):
        assert (np.isnan(s) and np.isnan(p)) or lookup[s] == p
    np.testing.assert_allclose(G[:, 6], G[:, 5] - G[:, 4], atol=1e-9)
    assert np.isnan(G[np.isnan(G[:, 5]), 6]).all()


def test_skipped_destinations_and_target_are_never_rewritten() -> None:
    X = _table()
    X[:, 3] = (X[:, 0] % 2 == 0).astype(float)  # target is a function of state ...
    rules = ColumnRules(learn_lookups(X, exclude=(3,)))
    assert all(r.dst != 3 for r in rules.lookups)  # ... but is never a destination
    G = X.copy()
    G[:, 1] = 0.0
    rules.apply(G, skip={1})
    assert (G[:, 1] == 0.0).all()


def test_no_rule_from_unique_or_unrelated_columns() -> None:
    rng = np.random.default_rng(2)
    n = 400
    ident = np.arange(n, dtype=float)  # unique per row: determines everything, no rule
    X = np.column_stack([ident, rng.integers(0, 3, n), rng.normal(size=n), rng.normal(size=n)])
    assert learn_lookups(X) == []
    assert learn_sums(X, [2, 3], [None] * 4) == []


def test_ddpm_rows_keep_the_rules_of_the_training_rows() -> None:
    pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    n = 300
    state = rng.integers(0, 8, n)
    prices = np.round(np.linspace(1.5, 2.5, 8), 2)
    w71 = rng.normal(70, 10, n).round(1)
    w82 = (w71 + rng.normal(2, 3, n)).round(2)
    df = pd.DataFrame(
        {
            "state": [f"s{s}" for s in state],
            "price": prices[state],
            "w71": w71,
            "w82": w82,
            "change": w82 - w71,
            "death": rng.random(n) < 0.2,
        }
    )
    small = {"hidden": 64, "layers": 2, "max_steps": 300, "check_every": 50, "sample_steps": 20}
    gen = get_generator("ddpm", device="cpu", threads=1, **small).fit(df, target="death")
    rows = gen.sample(200, seed=0)
    lookup = dict(zip(df["state"], df["price"], strict=False))
    assert (rows["price"] == rows["state"].map(lookup)).all()
    # the identity holds exactly unless decoding clipped the rewritten column into its
    # training range (this undertrained model often draws extreme terms)
    inside = rows["w82"].between(df["w82"].min(), df["w82"].max(), inclusive="neither")
    assert inside.mean() > 0.2
    np.testing.assert_allclose(
        rows.loc[inside, "change"], (rows["w82"] - rows["w71"])[inside], atol=0.01
    )
