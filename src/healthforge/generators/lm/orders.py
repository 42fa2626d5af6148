"""Order relations between numeric columns, kept while ``lm`` writes a row (non-private).

Health tables carry inequalities that hold on every row: years smoked never exceed age
(``smokeyrs <= age``), a change never takes a quantity below zero (the 1982 intensity
``smokeintensity + smkintensity82_71 >= 0``), and a difference or sum of two columns
stays inside the range of the column it makes (``wt71 + wt82_71`` inside ``wt82``'s
range). A language model learns them as likely, not certain, and the few rows that break
them are what a real-vs-synthetic classifier finds.

:func:`learn_orders` looks, for every pair of numeric columns ``(a, b)`` and each sign
``s`` in ``{+1, -1}``, at ``y = x_b - s * x_a`` on the training rows where both are
present, and keeps ``lo <= y`` (``lo = min y``) and ``y <= hi`` (``hi = max y``) when
the bound is very unlikely to hold by chance: with ``p`` the chance that an independent
pair breaks it, ``(1 - p) ** n < MAX_CHANCE``. Bounds the two columns' own ranges imply
(``p = 0``) are dropped.

:class:`OrderBook` enforces them **as constraints on tokens, not by repair**: once a
column is written, every related column not yet written is masked to tokens whose value
range can still meet the bound (:meth:`OrderBook.apply`), whichever of the two the row's
random order writes first; then values are refined inside each bin within the bounds set
by the related columns (:meth:`OrderBook.value_bounds`). Never learnt under DP.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from healthforge.generators.core.column_rules import distinct_values, observed_pairs
from healthforge.generators.core.constraints import EncodedConstraint
from healthforge.generators.lm.tokenizer import Tokenizer

MAX_CHANCE = 1e-6  # a bound must be this unlikely to hold by chance under independence
MIN_ROWS = 20  # rows with both values present before a bound is believed
MIN_DISTINCT = 5  # each column has this many distinct values (no flags)
TOL = 1e-7  # slack for floating-point rounding of learnt bounds
SCREEN_ROWS = 5_000  # rows used to estimate the chance of a bound (large tables)


@dataclass(frozen=True)
class Order:
    """``lo <= x[high] - sign * x[low] <= hi`` wherever both are present (±inf = none)."""

    low: int
    high: int
    sign: float
    lo: float
    hi: float

    def partner_interval(
        self, written: int, start: np.ndarray, end: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Interval ``(m,)``, ``(m,)`` the other column can take when ``written`` lies in
        ``[start, end]`` (a token's value range, or a value: ``start == end``)."""
        s = self.sign
        if written == self.low:  # x_high in s * x_low + [lo, hi]
            ys = np.minimum(s * start, s * end), np.maximum(s * start, s * end)
            return ys[0] + self.lo, ys[1] + self.hi
        # s * x_low in x_high - [hi, lo]
        left, right = start - self.hi, end - self.lo
        return (left, right) if s > 0 else (-right, -left)


def learn_orders(
    X: np.ndarray, discrete: Sequence[bool], exclude: Sequence[int] = ()
) -> list[Order]:
    """Order relations among the numeric columns of encoded rows ``X`` ``(n, d)``."""
    d = X.shape[1]
    columns = [
        j
        for j in range(d)
        if not discrete[j] and j not in exclude and distinct_values(X, j) >= MIN_DISTINCT
    ]
    out: list[Order] = []
    for a, b, both in observed_pairs(X, columns, MIN_ROWS):
        for sign in (1.0, -1.0):
            order = _bounds(X[both, a], X[both, b], a, b, sign)
            if order is not None:
                out.append(order)
    return out


def _bounds(xa: np.ndarray, xb: np.ndarray, a: int, b: int, sign: float) -> Order | None:
    """The significant bounds of ``xb - sign * xa`` ``(n,)``, or ``None``."""
    n = len(xa)
    y = xb - sign * xa
    lo, hi = float(y.min()), float(y.max())
    # the chance of breaking a bound, from at most SCREEN_ROWS rows (a share: any rows do)
    pick = np.linspace(0, n - 1, min(n, SCREEN_ROWS)).astype(np.int64)
    sorted_b = np.sort(xb[pick])
    shifted = sign * xa[pick]
    m = len(pick)
    # chance that an independent pair (x_a, x_b) falls below lo / above hi
    p_lo = np.searchsorted(sorted_b, shifted + lo - TOL, side="left").mean() / m
    p_hi = (m - np.searchsorted(sorted_b, shifted + hi + TOL, side="right")).mean() / m
    keep_lo = p_lo > 0 and n * np.log1p(-min(p_lo, 1 - 1e-12)) < np.log(MAX_CHANCE)
    keep_hi = p_hi > 0 and n * np.log1p(-min(p_hi, 1 - 1e-12)) < np.log(MAX_CHANCE)
    if not (keep_lo or keep_hi):
        return None
    return Order(a, b, sign, lo if keep_lo else -np.inf, hi if keep_hi else np.inf)


class OrderBook:
    """Order relations indexed by column, with each numeric token's value range.

    ``start[j]``/``end[j]`` ``(size_j,)``: the smallest and largest value a token of
    column ``j`` can decode to (a value token: the value; a bin: its quantile range;
    missing: NaN, never restricted).
    """

    def __init__(self, orders: list[Order], tokenizer: Tokenizer) -> None:
        self.tokenizer = tokenizer
        d = tokenizer.n_columns
        self.by_column: list[list[tuple[Order, int]]] = [[] for _ in range(d)]
        for order in orders:
            self.by_column[order.low].append((order, order.high))
            self.by_column[order.high].append((order, order.low))
        self.start: list[np.ndarray] = []
        self.end: list[np.ndarray] = []
        for codec in tokenizer.codecs:
            start = np.full(codec.size, np.nan)
            end = np.full(codec.size, np.nan)
            k = codec.n_levels
            if codec.kind == "support":
                start[:k] = end[:k] = codec.support  # type: ignore[assignment]
            elif codec.kind == "bins" and codec.values is not None:
                # bin i decodes to the training values of ranks floor(i n / k) up to
                # ceil((i + 1) n / k) - 1 (ColumnCodec.decode)
                n, i = len(codec.values), np.arange(k)
                start[:k] = codec.values[np.minimum(i * n // k, n - 1)]
                end[:k] = codec.values[np.clip(-(-(i + 1) * n // k) - 1, 0, n - 1)]
            elif codec.kind == "bins":
                assert codec.marginal is not None
                edges = codec.marginal.ppf(np.arange(k + 1) / k)
                start[:k], end[:k] = edges[:-1], edges[1:]
            self.start.append(start)
            self.end.append(end)

    def __bool__(self) -> bool:
        return any(self.by_column)

    def apply(self, ok: np.ndarray, column: int, tokens: np.ndarray, rows: np.ndarray) -> None:
        """Mask ``ok`` ``(m, d, W)`` in place: ``rows`` ``(k,)`` wrote ``tokens`` ``(k,)``
        in ``column``; tokens of related columns that cannot meet a bound are ruled out."""
        lo_w, hi_w = self.start[column][tokens], self.end[column][tokens]
        present = np.isfinite(lo_w)
        if not present.any():
            return
        rows, lo_w, hi_w = rows[present], lo_w[present], hi_w[present]
        for order, other in self.by_column[column]:
            low, high = order.partner_interval(column, lo_w, hi_w)
            t_start, t_end = self.start[other], self.end[other]
            numeric = np.isfinite(t_start)
            size = len(t_start)
            # a token is possible when its range meets the interval (missing always is)
            fits = (t_end[None, :] >= low[:, None] - TOL) & (
                t_start[None, :] <= high[:, None] + TOL
            )
            ok[rows, other, :size] &= fits | ~numeric[None, :]

    def value_bounds(
        self, column: int, values: dict[int, np.ndarray], codes: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Bounds ``(m,)``, ``(m,)`` on ``column``'s values from its related columns.

        ``values`` holds the columns already decoded (their values); the others bound it
        through their tokens' ranges (``codes`` ``(m, d)``). Missing partners bound nothing.
        """
        m = len(codes)
        low, high = np.full(m, -np.inf), np.full(m, np.inf)
        for order, other in self.by_column[column]:
            if other in values:
                start = end = values[other]
            else:
                start, end = self.start[other][codes[:, other]], self.end[other][codes[:, other]]
            lo_o, hi_o = order.partner_interval(other, start, end)
            known = np.isfinite(start)
            low = np.where(known, np.maximum(low, lo_o), low)
            high = np.where(known, np.minimum(high, hi_o), high)
        return low, high

    # duplicates: the signature of Tokenizer.decode, which this refines
    def decode(
        self,
        codes: np.ndarray,
        rng: np.random.Generator,
        constraints: dict[int, EncodedConstraint] | None = None,
    ) -> np.ndarray:
        """Encoded rows ``(m, d)`` of codes ``(m, d)``, bins refined within the bounds.

        Value tokens and categories are decoded first (they are exact); then each bin
        column in turn, within the bounds its already decoded partners (values) and the
        others (token ranges) allow, so every pair stays feasible. A row whose bounds
        leave nothing inside its condition keeps the condition only.
        """
        constraints = constraints or {}
        codecs = self.tokenizer.codecs
        values: dict[int, np.ndarray] = {}
        later = [j for j, c in enumerate(codecs) if c.kind == "bins" and self.by_column[j]]
        for j in [j for j in range(len(codecs)) if j not in later] + later:
            constraint = constraints.get(j)
            bounds = None
            if j in later:
                low, high = self.value_bounds(j, values, codes)
                if constraint is not None:
                    low = np.maximum(low, constraint.low)
                    high = np.minimum(high, constraint.high)
                empty = low > high + TOL
                c_low = -np.inf if constraint is None else constraint.low
                c_high = np.inf if constraint is None else constraint.high
                bounds = (np.where(empty, c_low, low), np.where(empty, c_high, high))
            values[j] = codecs[j].decode(codes[:, j], rng, constraint, bounds)
        return np.column_stack([values[j] for j in range(len(codecs))])
