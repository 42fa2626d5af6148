"""Exact column rules learnt from the training rows, kept exact when writing rows.

Some columns are a function of another in the data: NHEFS's cigarette prices and taxes
(``price71``, ``tax82``, ...) are those of the state in ``birthplace``; ``education`` is
a recode of ``school``. A generator that draws such columns jointly but approximately
writes combinations no real row has (a birthplace with another state's price), and
those are what a real-vs-synthetic classifier finds first: on an NHEFS split the
eight most important detection features of ``ddpm`` were birthplace and the price and
tax columns.

:func:`learn_rules` finds every pair where a column ``src`` with few distinct values
(each seen on average ``MIN_ROWS_PER_VALUE`` times or more, so a rule is not a
coincidence of tiny groups) determines ``dst`` on every training row, missing counted
as a value; :func:`learn_sums` finds numeric columns that are the sum or difference
of two others on every row (``wt82_71 = wt82 - wt71``). :func:`apply_rules` then
rewrites each destination from the generated sources. A rule maps one column value to
another (an aggregate of at least one row per value, as a marginal is) or is an
identity, never a whole record. Vectorised over rows; loops run over columns.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAX_SOURCE_VALUES = 64  # a source column has at most this many distinct values
MIN_ROWS_PER_VALUE = 5.0  # ... each seen this many times on average


@dataclass(frozen=True)
class Rule:
    """``dst = table[searchsorted(keys, src)]`` on encoded columns; NaN keys sort last."""

    src: int
    dst: int
    keys: np.ndarray  # (k,) sorted distinct source values, NaN last when present
    values: np.ndarray  # (k,) the destination value of each key


@dataclass(frozen=True)
class SumRule:
    """``dst = a + sign * b`` on encoded numeric columns (NaN when either is missing)."""

    dst: int
    a: int
    b: int
    sign: float


def learn_sums(
    X: np.ndarray, numeric: list[int], taken: set[int], exclude: tuple[int, ...] = ()
) -> list[SumRule]:
    """Identities ``dst = a +/- b`` among ``numeric`` columns of ``X`` ``(n, d)``.

    A candidate must hold to float precision on every row where all three are present,
    and ``dst`` must be missing exactly where ``a`` or ``b`` is. The destination is the
    column with the most distinct values of the three (a difference is usually finer
    than its terms); columns in ``taken`` (already rewritten by other rules) and
    ``exclude`` are never destinations, and a destination is never a term of a rule.
    """
    rules: list[SumRule] = []
    distinct = {j: len(np.unique(X[np.isfinite(X[:, j]), j])) for j in numeric}
    cols = [j for j in numeric if distinct[j] > 1]
    dsts: set[int] = set()
    for a in cols:
        for b in cols:
            for sign in (1.0, -1.0) if a < b else (-1.0,) if a > b else ():
                combo = X[:, a] + sign * X[:, b]
                for c in cols:
                    if c in (a, b) or c in dsts or c in taken or c in exclude:
                        continue
                    if {a, b} & dsts or distinct[c] < max(distinct[a], distinct[b]):
                        continue
                    if _identity(X[:, c], combo):
                        rules.append(SumRule(c, a, b, sign))
                        dsts.add(c)
    return rules


def _identity(c: np.ndarray, combo: np.ndarray) -> bool:
    """``c == combo`` to float precision where present, and missing at the same rows."""
    present = np.isfinite(combo)
    if not np.array_equal(present, np.isfinite(c)) or present.sum() < 20:
        return False
    scale = np.maximum(np.abs(c[present]), 1.0)
    return bool(np.all(np.abs(c[present] - combo[present]) <= 1e-6 * scale))


def learn_rules(X: np.ndarray, exclude: tuple[int, ...] = ()) -> list[Rule]:
    """Exact rules ``dst = f(src)`` between the columns of ``X`` ``(n, d)`` (NaN = missing).

    Columns in ``exclude`` (e.g. the target) are never rewritten. A column is the
    destination of at most one rule and never both a source and a destination, so
    rules apply in one pass; sources with more distinct values are taken first (a
    state determines its price, not the other way round).
    """
    n, d = X.shape
    codes, keys = [], []
    for j in range(d):
        k, inv = np.unique(X[:, j], return_inverse=True, equal_nan=True)
        codes.append(inv.reshape(-1))
        keys.append(k)
    sources = [
        j
        for j in range(d)
        if 1 < len(keys[j]) <= MAX_SOURCE_VALUES and n / len(keys[j]) >= MIN_ROWS_PER_VALUE
    ]
    sources.sort(key=lambda j: -len(keys[j]))
    rules: list[Rule] = []
    used_src: set[int] = set()
    used_dst: set[int] = set(exclude)
    for j in sources:
        if j in used_dst:
            continue
        for k in range(d):
            if k == j or k in used_dst or k in used_src or len(keys[k]) < 2:
                continue
            # dst is a function of src when each src code sees a single dst code
            first = np.full(len(keys[j]), -1, dtype=np.int64)
            first[codes[j][::-1]] = codes[k][::-1]  # some dst code of each src code
            if np.array_equal(first[codes[j]], codes[k]):
                rules.append(Rule(j, k, keys[j], keys[k][first]))
                used_src.add(j)
                used_dst.add(k)
    return rules


def apply_rules(
    X: np.ndarray, rules: list[Rule | SumRule], skip: set[int] | None = None
) -> np.ndarray:
    """``X`` ``(m, d)`` with each rule's destination rewritten from its sources, in place.

    Rows whose source value is not a key (cannot happen for snapped or discrete
    columns) keep their value; destinations in ``skip`` (conditioned columns) are left.
    Lookup rules come first in ``rules``, so sums see rewritten terms.
    """
    for rule in rules:
        if skip and rule.dst in skip:
            continue
        if isinstance(rule, SumRule):
            X[:, rule.dst] = X[:, rule.a] + rule.sign * X[:, rule.b]
            continue
        src = X[:, rule.src]
        idx = np.searchsorted(rule.keys, src)  # NaN sorts last in keys and in searchsorted
        idx = np.clip(idx, 0, len(rule.keys) - 1)
        key = rule.keys[idx]
        hit = (key == src) | (np.isnan(key) & np.isnan(src))
        X[:, rule.dst] = np.where(hit, rule.values[idx], X[:, rule.dst])
    return X
