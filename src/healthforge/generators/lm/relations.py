"""Exact arithmetic between numeric columns, found in the training data (non-private only).

Health tables often store a difference or a sum next to its parts (NHEFS:
``wt82_71 = wt82 - wt71``, ``price71_82 = price71 - price82``). Written token by token,
the three columns agree only up to their bins, and a detector sees the broken sum at
once. So a relation ``target = left + sign * right`` that holds in every training row
(within the columns' rounding) is kept as arithmetic: the model still writes all three
columns (the target's token informs the columns written after it), then ``target`` is
recomputed from the decoded parts.

Of the three columns of such a triple, the one with the largest spread is the one
computed: the refinement error of its two parts inside their bins is then smallest
next to its own scale (``wt82`` from ``wt71`` and ``wt82_71``, not the small difference
from two large weights). A computed column is never a part of another relation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MIN_ROWS = 20  # rows with all three values present before a relation is believed
MIN_DISTINCT = 5  # each part needs this many distinct values (no constants, no flags)


@dataclass(frozen=True)
class Relation:
    """``X[:, target] = X[:, left] + sign * X[:, right]`` (missing if a part is)."""

    target: int
    left: int
    right: int
    sign: float


def find_relations(
    X: np.ndarray, numeric: np.ndarray, decimals: list[int | None]
) -> list[Relation]:
    """Relations among the numeric columns of encoded rows ``X`` ``(n, d)`` (NaN = missing).

    ``numeric`` ``(d,)`` marks the candidate columns; ``decimals`` their rounding (``None``:
    unknown, a relative tolerance of 1e-9 only). The target must be missing exactly
    when a part is, and equal the sum or difference within half a unit of the coarsest
    rounding of the three, plus floating-point error.
    """
    cols = [
        int(j)
        for j in np.flatnonzero(numeric)
        if len(np.unique(X[np.isfinite(X[:, j]), j])) >= MIN_DISTINCT
    ]
    found: list[Relation] = []
    used: set[frozenset[int]] = set()
    for ia, a in enumerate(cols):
        for b in cols[ia + 1 :]:
            both = np.isfinite(X[:, a]) & np.isfinite(X[:, b])
            if both.sum() < MIN_ROWS:
                continue
            for sign in (1.0, -1.0):
                combo = X[:, a] + sign * X[:, b]
                for c in cols:
                    if c in (a, b) or frozenset((a, b, c)) in used:
                        continue
                    if not np.array_equal(np.isfinite(X[:, c]), both):
                        continue
                    tol = _tolerance(decimals, (a, b, c), X[both][:, [a, b, c]])
                    if np.all(np.abs(X[both, c] - combo[both]) <= tol):
                        used.add(frozenset((a, b, c)))
                        found.append(_solve_for_widest(X, a, b, c, sign))
    # a computed column must be computed from written ones, never from another result
    targets = {r.target for r in found}
    return [r for r in found if r.left not in targets and r.right not in targets]


def _tolerance(decimals: list[int | None], cols: tuple[int, ...], values: np.ndarray) -> float:
    scale = float(np.abs(values).max()) if values.size else 1.0
    known = [decimals[j] for j in cols if decimals[j] is not None]
    rounding = 1.5 * 10.0 ** (-min(known)) if known else 0.0  # type: ignore[type-var]
    return rounding + 1e-9 * max(scale, 1.0)


def _solve_for_widest(X: np.ndarray, a: int, b: int, c: int, sign: float) -> Relation:
    """``c = a + sign*b`` rewritten with the widest-spread column as the target, among
    the forms whose target is missing exactly when one of its parts is."""
    forms = [
        Relation(c, a, b, sign),
        Relation(a, c, b, -sign),  # a = c - sign*b
        # b = sign*(c - a), sign being +-1
        Relation(b, c, a, -1.0) if sign > 0 else Relation(b, a, c, -1.0),
    ]
    finite = np.isfinite(X)
    valid = [
        r
        for r in forms
        if np.array_equal(finite[:, r.target], finite[:, r.left] & finite[:, r.right])
    ]
    return max(valid, key=lambda r: (float(np.nanstd(X[:, r.target])), -r.target))


def apply_relations(X: np.ndarray, relations: list[Relation], skip: set[int]) -> np.ndarray:
    """Recompute the targets of ``relations`` in encoded rows ``X`` ``(n, d)`` in place.

    Columns in ``skip`` (under a condition, written as asked) are left as written.
    """
    for r in relations:
        if r.target in skip:
            continue
        X[:, r.target] = X[:, r.left] + r.sign * X[:, r.right]  # NaN when a part is missing
    return X
