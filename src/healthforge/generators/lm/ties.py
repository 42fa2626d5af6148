"""Ties: a category that fixes how two numeric columns relate (non-private only).

Some rules hold only inside a group. In NHEFS everyone who quit smoking (``qsmk = 1``)
has a 1982 intensity of exactly 0, so their change ``smkintensity82_71`` equals
``-smokeintensity``: 27 % of the rows sit on that diagonal, against a few per cent
for rows that do not quit. A language model that writes the two columns as separate
value tokens learns the diagonal only as likely; in its rows a fifth of the quitters
hit it, and a real-vs-synthetic classifier finds the rest.

:func:`learn_ties` finds, for a column ``F`` with token ``t`` and two numeric value
columns ``a``, ``b`` (each written as exact values, :class:`~.tokenizer.ColumnCodec`
kind ``"support"``) and a sign ``s``, the ties "``F = t`` ⇒ ``x_b - s·x_a = c``" that
every training row with ``F = t`` (and both values present) keeps, when that is very
unlikely by chance (``q ** count < MAX_CHANCE``, ``q`` the chance that an independent
pair lands on the diagonal). A diagonal that holds on every row is a sum
(:mod:`healthforge.generators.core.column_rules`), not a tie.

:class:`TieBook` keeps them **on tokens while a row is written**, whichever of the
three columns the row's order writes first: once ``F = t`` and one partner are
written, the other partner is restricted to the one value token on the diagonal; once
both partners are written off the diagonal, ``F = t`` is ruled out; and a partner
value with no diagonal token rules ``F = t`` out too. Rows are written with ``F``
before the later partner (:meth:`TieBook.reorder`), so the model's share of ``F = t``
is kept and the partner moves onto the diagonal instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from healthforge.generators.lm.rules import force_tokens
from healthforge.generators.lm.tokenizer import Tokenizer

MAX_CHANCE = 1e-6  # a tie must be this unlikely to hold by chance
MIN_COUNT = 20  # rows with F = t and both values present before a tie is believed
MIN_DISTINCT = 5  # partners have this many distinct values (flags are rules' business)
SCREEN_ROWS = 20_000  # candidates are found on these rows, then checked on all rows


@dataclass(frozen=True)
class Tie:
    """``codes[F] == token`` ⇒ ``x_b - sign·x_a == offset``, as token maps between a and b.

    ``a_to_b[k]``: the token of ``b`` on the diagonal for ``a``'s token ``k`` (-1: none,
    or ``k`` is missing); ``b_to_a`` the other way round. Tokens from ``a_levels``
    (``b_levels``) up are the missing token: a missing value keeps no tie.
    """

    column: int
    token: int
    a: int
    b: int
    sign: float
    offset: float
    a_to_b: np.ndarray
    b_to_a: np.ndarray
    a_levels: int
    b_levels: int


def learn_ties(codes: np.ndarray, tokenizer: Tokenizer, exclude: list[int] = ()) -> list[Tie]:
    """Ties among local codes ``(n, d)``; ``exclude``: columns recomputed after writing."""
    codecs = tokenizer.codecs
    partners = [
        j
        for j, c in enumerate(codecs)
        if c.kind == "support" and c.n_levels >= MIN_DISTINCT and j not in exclude
    ]
    n = len(codes)
    screen = codes[np.linspace(0, n - 1, min(n, SCREEN_ROWS)).astype(np.int64)]
    ties: list[Tie] = []
    for i, a in enumerate(partners):
        for b in partners[i + 1 :]:
            for sign in (1.0, -1.0):
                for column, token, offset in _candidates(screen, tokenizer, a, b, sign):
                    tie = _checked(codes, tokenizer, column, token, a, b, sign, offset)
                    if tie is not None:
                        ties.append(tie)
    return ties


def _values(codes: np.ndarray, tokenizer: Tokenizer, j: int) -> np.ndarray:
    """Values ``(n,)`` of a ``"support"`` column's codes (NaN where missing)."""
    codec = tokenizer.codecs[j]
    out = np.full(len(codes), np.nan)
    present = codes[:, j] < codec.n_levels
    out[present] = codec.support[codes[present, j]]  # type: ignore[index]
    return out


def _candidates(
    codes: np.ndarray, tokenizer: Tokenizer, a: int, b: int, sign: float
) -> list[tuple[int, int, float]]:
    """``(F, t, c)`` whose rows with ``F = t`` keep ``x_b - sign·x_a = c`` in ``codes``."""
    y = _values(codes, tokenizer, b) - sign * _values(codes, tokenizer, a)
    both = np.isfinite(y)
    if both.sum() < MIN_COUNT or np.ptp(y[both]) == 0:
        return []  # too few rows, or a sum on every row (column_rules' business)
    y, rows = y[both], codes[both]
    out = []
    for column in range(codes.shape[1]):
        if column in (a, b):
            continue
        size = tokenizer.sizes[column]
        group = rows[:, column]
        count = np.bincount(group, minlength=size)
        low = np.full(size, np.inf)
        high = np.full(size, -np.inf)
        np.minimum.at(low, group, y)
        np.maximum.at(high, group, y)
        for token in np.flatnonzero((count >= MIN_COUNT) & (low == high)):
            out.append((column, int(token), float(low[token])))
    return out


def _checked(
    codes: np.ndarray,
    tokenizer: Tokenizer,
    column: int,
    token: int,
    a: int,
    b: int,
    sign: float,
    offset: float,
) -> Tie | None:
    """The tie if it holds on every row of ``codes``, is not by chance and is not a
    pair of constants (those are rules); else ``None``."""
    xa, xb = _values(codes, tokenizer, a), _values(codes, tokenizer, b)
    group = (codes[:, column] == token) & np.isfinite(xa) & np.isfinite(xb)
    if not np.all(xb[group] - sign * xa[group] == offset):
        return None
    if np.ptp(xa[group]) == 0:
        return None
    support_a = tokenizer.codecs[a].support
    support_b = tokenizer.codecs[b].support
    assert support_a is not None and support_b is not None
    a_to_b = _token_map(sign * support_a + offset, support_b, tokenizer.sizes[a])
    b_to_a = _token_map((support_b - offset) / sign, support_a, tokenizer.sizes[b])
    # chance that an independent pair lands on the diagonal
    share_a = np.bincount(codes[:, a], minlength=tokenizer.sizes[a]) / len(codes)
    share_b = np.bincount(codes[:, b], minlength=tokenizer.sizes[b]) / len(codes)
    on = a_to_b >= 0
    q = float(np.sum(share_a[on] * share_b[a_to_b[on]]))
    if q > 0 and group.sum() * np.log(q) >= np.log(MAX_CHANCE):
        return None
    levels = tokenizer.codecs[a].n_levels, tokenizer.codecs[b].n_levels
    return Tie(column, token, a, b, sign, offset, a_to_b, b_to_a, *levels)


def _token_map(wanted: np.ndarray, support: np.ndarray, size: int) -> np.ndarray:
    """Token of ``support`` equal to each ``wanted`` value ``(k,)``, -1 if none; padded
    with -1 to ``size`` (the missing token maps to nothing)."""
    at = np.clip(np.searchsorted(support, wanted), 0, len(support) - 1)
    hit = np.isclose(support[at], wanted, rtol=0, atol=1e-9)
    out = np.full(size, -1, dtype=np.int64)
    out[: len(wanted)] = np.where(hit, at, -1)
    return out


class TieBook:
    """Ties indexed by column, applied to an ``allowed`` mask ``(m, d, W)`` in place."""

    def __init__(self, ties: list[Tie], d: int) -> None:
        self.ties = list(ties)
        self.by_column: list[list[Tie]] = [[] for _ in range(d)]
        for tie in ties:
            for j in (tie.column, tie.a, tie.b):
                self.by_column[j].append(tie)

    def reorder(self, orders: np.ndarray) -> np.ndarray:
        """``orders`` ``(m, d)`` with each tie's ``F`` written before the later of its
        partners: written after both, ``F = t`` would be ruled out whenever the model put
        them off the diagonal, which skews ``F``'s shares; written before, ``F`` keeps
        the model's share and the partner is drawn on the diagonal.
        """
        if not self.ties:
            return orders
        distinct, inverse = np.unique(orders, axis=0, return_inverse=True)
        for k, order in enumerate(distinct):
            seq = list(order)
            for tie in self.ties:
                where_f = seq.index(tie.column)
                later = max(seq.index(tie.a), seq.index(tie.b))
                if where_f > later:
                    seq.insert(later, seq.pop(where_f))
            distinct[k] = seq
        return distinct[inverse.ravel()]

    def apply(
        self,
        allowed: np.ndarray,
        column: int,
        rows: np.ndarray,
        codes: np.ndarray,
        written: np.ndarray,
    ) -> None:
        """Restrict the other columns of ``rows`` ``(k,)`` after ``column`` was written
        in them (``codes`` ``(m, d)`` and ``written`` ``(m, d)`` already updated)."""
        for tie in self.by_column[column]:
            on = written[rows, tie.column] & (codes[rows, tie.column] == tie.token)
            done_a, done_b = written[rows, tie.a], written[rows, tie.b]
            # F = t with one partner written: the other lies on the diagonal
            for have, want, forward, doing in (
                (tie.a, tie.b, tie.a_to_b, done_a & ~done_b),
                (tie.b, tie.a, tie.b_to_a, done_b & ~done_a),
            ):
                hit = rows[on & doing]
                forced = forward[codes[hit, have]]
                force_tokens(allowed, hit[forced >= 0], want, forced[forced >= 0])
            # F = t with neither partner written: only values with a diagonal partner
            fresh = rows[on & ~done_a & ~done_b]
            if len(fresh):
                for j, forward, levels in (
                    (tie.a, tie.a_to_b, tie.a_levels),
                    (tie.b, tie.b_to_a, tie.b_levels),
                ):
                    keep = forward >= 0
                    keep[levels:] = True  # missing: the tie does not apply
                    allowed[fresh, j, : len(keep)] &= keep[None, :]
            # F not written yet: rule t out where the written partners cannot meet the tie
            open_f = ~written[rows, tie.column]
            a_tok, b_tok = codes[rows, tie.a], codes[rows, tie.b]
            present_a = done_a & (a_tok < tie.a_levels)
            present_b = done_b & (b_tok < tie.b_levels)
            off = present_a & present_b & (tie.a_to_b[a_tok] != b_tok)
            off |= present_a & ~done_b & (tie.a_to_b[a_tok] < 0)
            off |= present_b & ~done_a & (tie.b_to_a[b_tok] < 0)
            allowed[rows[open_f & off], tie.column, tie.token] = False
