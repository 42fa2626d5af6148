"""Exact column rules found in the training rows and kept exact in generated rows.

Some columns are a function of others on every row of a health table: NHEFS's cigarette
prices and taxes (``price71``, ``tax82``, ...) are those of the state in ``birthplace``,
``education`` recodes ``school``, and ``wt82_71 = wt82 - wt71``. A generator that draws
such columns jointly but approximately writes combinations no real row has, and those
are what a real-vs-synthetic classifier finds first (on an NHEFS split the eight most
important detection features of ``ddpm`` were birthplace and the price and tax columns;
``lm``'s rows broke ``wt82 = wt71 + wt82_71``).

:meth:`ColumnRules.learn` finds two kinds of rules on encoded rows (NaN = missing):

* **lookups** ``dst = f(src)``: a column ``src`` with few distinct values (each seen
  ``MIN_ROWS_PER_VALUE`` times or more on average, so a rule is not a coincidence of
  tiny groups) determines ``dst`` on every row, missing counted as a value;
* **sums** ``target = left + sign * right`` among numeric columns, holding on every row
  within the columns' rounding (1.5 units of the coarsest: each of the three may be
  off by half a unit), the target missing exactly when a part is. Of the three
  columns the one with the widest spread is computed: the error of its parts is then
  smallest next to its own scale.

:meth:`ColumnRules.apply` rewrites each destination from the generated sources. A rule
maps a column value to another (an aggregate over at least ``MIN_ROWS_PER_VALUE`` rows
per value, as a marginal is) or is an identity; it never holds a whole record. Rules are
never learnt under differential privacy (the caller's duty: they are exact statistics).
Vectorised over rows; the loops run over columns.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

MAX_SOURCE_VALUES = 64  # a lookup's source has at most this many distinct values
MIN_ROWS_PER_VALUE = 5.0  # ... each seen this many times on average
MIN_SUM_ROWS = 20  # rows with all three values present before a sum is believed
MIN_SUM_DISTINCT = 5  # each column of a sum has this many distinct values (no flags)
SCREEN_ROWS = 5_000  # candidates are searched on this many rows, then checked on all


@dataclass(frozen=True)
class Lookup:
    """``X[:, dst] = values[searchsorted(keys, X[:, src])]``; NaN keys sort last."""

    src: int
    dst: int
    keys: np.ndarray  # (k,) sorted distinct source values, NaN last when present
    values: np.ndarray  # (k,) the destination value of each key


@dataclass(frozen=True)
class Sum:
    """``X[:, target] = X[:, left] + sign * X[:, right]`` (missing when a part is)."""

    target: int
    left: int
    right: int
    sign: float


@dataclass
class ColumnRules:
    """The exact rules of a table's encoded columns; empty rules change nothing."""

    lookups: list[Lookup] = field(default_factory=list)
    sums: list[Sum] = field(default_factory=list)
    decimals: list[int | None] = field(default_factory=list)  # per column, for rounding

    def __bool__(self) -> bool:
        return bool(self.lookups or self.sums)

    @classmethod
    def learn(
        cls,
        X: np.ndarray,
        discrete: Sequence[bool],
        decimals: Sequence[int | None],
        exclude: Sequence[int] = (),
        lookups: bool = True,
    ) -> ColumnRules:
        """Rules of encoded rows ``X`` ``(n, d)``; ``discrete`` and ``decimals`` are per
        column. Columns in ``exclude`` (e.g. the target) are never rewritten;
        ``lookups=False`` learns sums only (for a generator that enforces lookups itself)."""
        # A rule of every row holds on any subset: screen candidates on a sample (the
        # search is quadratic/cubic in columns), then keep those that hold on all rows.
        screen = X
        if len(X) > SCREEN_ROWS:
            rng = np.random.default_rng(0)
            screen = X[np.sort(rng.choice(len(X), SCREEN_ROWS, replace=False))]
        found = learn_lookups(screen, exclude) if lookups else []
        if screen is not X:
            found = learn_lookups(X, exclude, pairs=[(r.src, r.dst) for r in found])
        taken = {r.src for r in found} | {r.dst for r in found} | set(exclude)
        numeric = [j for j in range(X.shape[1]) if not discrete[j] and j not in taken]
        sums = learn_sums(screen, numeric, list(decimals))
        if screen is not X:
            sums = [r for r in sums if _sum_holds(X, r, list(decimals))]
        return cls(found, sums, list(decimals))

    def apply(self, X: np.ndarray, skip: set[int] | None = None) -> np.ndarray:
        """``X`` ``(m, d)`` with each rule's destination rewritten, in place.

        Columns in ``skip`` (under a condition, written as asked) are left alone. A
        source value that is not a key (cannot happen for discrete columns) keeps the
        row's value. Lookups come first, so sums see rewritten columns.
        """
        skip = skip or set()
        for rule in self.lookups:
            if rule.dst in skip:
                continue
            src = X[:, rule.src]
            idx = np.clip(np.searchsorted(rule.keys, src), 0, len(rule.keys) - 1)
            key = rule.keys[idx]
            hit = (key == src) | (np.isnan(key) & np.isnan(src))
            X[:, rule.dst] = np.where(hit, rule.values[idx], X[:, rule.dst])
        for rule in self.sums:
            if rule.target in skip:
                continue
            for part in (rule.left, rule.right):  # round as decoding will: sums stay exact
                if self.decimals and self.decimals[part] is not None:
                    X[:, part] = np.round(X[:, part], int(self.decimals[part]))  # type: ignore[arg-type]
            X[:, rule.target] = X[:, rule.left] + rule.sign * X[:, rule.right]
        return X


def learn_lookups(
    X: np.ndarray, exclude: Sequence[int] = (), pairs: list[tuple[int, int]] | None = None
) -> list[Lookup]:
    """Lookup rules between the columns of ``X`` ``(n, d)`` (NaN = missing).

    A column is the destination of at most one rule and never both a source and a
    destination, so rules apply in one pass; sources with more distinct values are
    taken first (a state determines its price, not the other way round). ``pairs``
    limits the search to these ``(src, dst)`` candidates.
    """
    n, d = X.shape
    allowed = None if pairs is None else set(pairs)
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
    rules: list[Lookup] = []
    used_src: set[int] = set()
    used_dst: set[int] = set(exclude)
    for j in sources:
        if j in used_dst:
            continue
        for k in range(d):
            if k == j or k in used_dst or k in used_src or len(keys[k]) < 2:
                continue
            if allowed is not None and (j, k) not in allowed:
                continue
            # dst is a function of src when each src code sees a single dst code
            first = np.full(len(keys[j]), -1, dtype=np.int64)
            first[codes[j][::-1]] = codes[k][::-1]  # some dst code of each src code
            if np.array_equal(first[codes[j]], codes[k]):
                rules.append(Lookup(j, k, keys[j], keys[k][first]))
                used_src.add(j)
                used_dst.add(k)
    return rules


def learn_sums(X: np.ndarray, numeric: Sequence[int], decimals: list[int | None]) -> list[Sum]:
    """Sums ``c = a +/- b`` among the ``numeric`` columns of ``X`` ``(n, d)``.

    ``decimals`` gives each column's rounding (``None``: unknown, float error only): a
    sum holds when it is exact within 1.5 units of the coarsest rounding of the three.
    A computed column is never a part of another sum.
    """
    cols = [int(j) for j in numeric if distinct_values(X, j) >= MIN_SUM_DISTINCT]
    found: list[Sum] = []
    seen: set[frozenset[int]] = set()
    for a, b, both in observed_pairs(X, cols, MIN_SUM_ROWS):
        for sign in (1.0, -1.0):
            combo = X[:, a] + sign * X[:, b]
            for c in cols:
                if c in (a, b) or frozenset((a, b, c)) in seen:
                    continue
                if not np.array_equal(np.isfinite(X[:, c]), both):
                    continue
                tol = _tolerance(decimals, (a, b, c), X[both][:, [a, b, c]])
                if np.all(np.abs(X[both, c] - combo[both]) <= tol):
                    seen.add(frozenset((a, b, c)))
                    found.append(_solve_for_widest(X, a, b, c, sign))
    targets = {r.target for r in found}
    return [r for r in found if r.left not in targets and r.right not in targets]


def distinct_values(X: np.ndarray, j: int) -> int:
    """How many distinct observed values column ``j`` of ``X`` ``(n, d)`` has."""
    return len(np.unique(X[np.isfinite(X[:, j]), j]))


def observed_pairs(
    X: np.ndarray, columns: Sequence[int], min_rows: int
) -> Iterator[tuple[int, int, np.ndarray]]:
    """Each pair ``(a, b)`` of ``columns`` (``a`` first in their order) observed together
    in at least ``min_rows`` rows of ``X`` ``(n, d)``, with that row mask ``(n,)``: where
    the rules of a table (sums here, orders in ``lm``) are looked for."""
    for i, a in enumerate(columns):
        for b in columns[i + 1 :]:
            both = np.isfinite(X[:, a]) & np.isfinite(X[:, b])
            if both.sum() >= min_rows:
                yield a, b, both


def _sum_holds(X: np.ndarray, rule: Sum, decimals: list[int | None]) -> bool:
    """``rule`` holds on every row of ``X``, missing pattern included."""
    finite = np.isfinite(X)
    parts = finite[:, rule.left] & finite[:, rule.right]
    if not np.array_equal(finite[:, rule.target], parts):
        return False
    cols = (rule.target, rule.left, rule.right)
    tol = _tolerance(decimals, cols, X[parts][:, list(cols)])
    combo = X[parts, rule.left] + rule.sign * X[parts, rule.right]
    return bool(np.all(np.abs(X[parts, rule.target] - combo) <= tol))


def _tolerance(decimals: list[int | None], cols: tuple[int, ...], values: np.ndarray) -> float:
    scale = float(np.abs(values).max()) if values.size else 1.0
    known = [decimals[j] for j in cols if j < len(decimals) and decimals[j] is not None]
    rounding = 1.5 * 10.0 ** (-min(known)) if known else 0.0  # type: ignore[type-var]
    return rounding + 1e-9 * max(scale, 1.0)


def _solve_for_widest(X: np.ndarray, a: int, b: int, c: int, sign: float) -> Sum:
    """``c = a + sign*b`` rewritten with the widest-spread column as the target, among
    the forms whose target is missing exactly when one of its parts is."""
    forms = [
        Sum(c, a, b, sign),
        Sum(a, c, b, -sign),  # a = c - sign*b
        Sum(b, c, a, -1.0) if sign > 0 else Sum(b, a, c, -1.0),  # b = sign*(c - a)
    ]
    finite = np.isfinite(X)
    valid = [
        r
        for r in forms
        if np.array_equal(finite[:, r.target], finite[:, r.left] & finite[:, r.right])
    ]
    return max(valid, key=lambda r: (float(np.nanstd(X[:, r.target])), -r.target))
