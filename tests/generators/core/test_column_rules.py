"""Exact column rules: found only when they hold on every row, applied exactly."""

from __future__ import annotations

import numpy as np

from healthforge.generators.core.column_rules import ColumnRules


def _table(n: int = 400, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    state = rng.integers(0, 8, n).astype(float)  # a state code
    price = np.array([1.1, 2.2, 3.3, 4.4, 5.5, 6.6, 7.7, 8.8])[state.astype(int)]
    before = np.round(rng.normal(70, 10, n), 1)
    change = np.round(rng.normal(2, 4, n), 1)
    after = np.round(before + change, 1)
    noise = rng.normal(size=n)
    return np.column_stack([state, price, before, after, change, noise])


DISCRETE = [True, False, False, False, False, False]
DECIMALS: list[int | None] = [0, 1, 1, 1, 1, None]


def test_learns_a_lookup_and_a_sum_and_nothing_by_chance() -> None:
    rules = ColumnRules.learn(_table(), DISCRETE, DECIMALS)
    assert [(r.src, r.dst) for r in rules.lookups] == [(0, 1)]
    assert len(rules.sums) == 1
    s = rules.sums[0]
    assert {s.target, s.left, s.right} == {2, 3, 4}
    assert s.target == 3  # the widest column is computed from the other two
    assert all(5 not in (r.target, r.left, r.right) for r in rules.sums)


def test_apply_makes_generated_rows_obey_the_rules_except_skipped_columns() -> None:
    rules = ColumnRules.learn(_table(), DISCRETE, DECIMALS)
    fake = _table(50, seed=1)
    fake[:, 1] += 0.05  # prices off by a little
    fake[:, 3] += np.random.default_rng(2).normal(0, 0.3, 50)  # the sum broken
    out = rules.apply(fake.copy())
    truth = _table(50, seed=1)
    assert np.allclose(out[:, 1], truth[:, 1])
    assert np.allclose(out[:, 3], out[:, 2] + out[:, 4])
    kept = rules.apply(fake.copy(), skip={1, 3})
    assert np.allclose(kept[:, [1, 3]], fake[:, [1, 3]])


def test_excluded_columns_are_never_rewritten_and_missing_values_follow_the_parts() -> None:
    X = _table()
    rules = ColumnRules.learn(X, DISCRETE, DECIMALS, exclude=(1,))
    assert all(r.dst != 1 for r in rules.lookups)
    X[:5, 2] = np.nan  # a missing part must leave the target missing in the data ...
    X[:5, 3] = np.nan
    assert ColumnRules.learn(X, DISCRETE, DECIMALS).sums  # ... and the sum still holds
    X[5, 3] = np.nan  # missing target with present parts: not an exact sum any more
    assert not ColumnRules.learn(X, DISCRETE, DECIMALS, lookups=False).sums
    assert not ColumnRules()


def test_large_tables_are_screened_on_a_sample_and_confirmed_on_every_row() -> None:
    X = _table(n=12_000, seed=3)  # more rows than SCREEN_ROWS
    rules = ColumnRules.learn(X, DISCRETE, DECIMALS)
    assert [(r.src, r.dst) for r in rules.lookups] == [(0, 1)] and len(rules.sums) == 1
    assert len(rules.lookups[0].keys) == 8  # keys come from all rows, not the sample
    broken = X.copy()
    broken[:, 1] = np.where(np.arange(len(X)) % 2000 == 7, 9.9, broken[:, 1])  # a few rows
    broken[11_999, 3] += 5.0  # one row breaks the sum
    again = ColumnRules.learn(broken, DISCRETE, DECIMALS)
    assert not again.lookups and not again.sums
