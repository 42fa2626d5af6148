"""Records <-> tokens for the ``lm`` generator: one value token per column.

Every column gets its own small vocabulary of value tokens, laid out one after the
other in a global vocabulary (``offsets``):

* categorical columns: one token per category;
* numeric columns with few distinct values (at most ``MAX_SUPPORT``): one token per
  value, so coarse rounding in real data (a strong tell for detectors) is reproduced;
* other numeric columns: ``n_bins`` equal-probability (quantile) bins of the training
  values, refined inside the bin through the column's empirical quantile function, so
  the marginal is kept exactly when the bin frequencies are right;
* under differential privacy: bins and categories of the *released* domain
  (:func:`healthforge.generators.private.domain.release_domain`: the public schema or a DP
  estimate), refined uniformly inside the bin - nothing is read from the data for free;

plus a missing token when the column can be missing. A record is then the set of pairs
(column, value token); the model reads them in any order.

Constraints (:class:`EncodedConstraint`) become per-token weights in ``[0, 1]``: 0 for
tokens that cannot satisfy them, 1 for tokens that always do, and the share of the bin
inside the allowed interval for a bin at its edge. Decoding then refines a value
inside the allowed part of the bin only, so conditions hold by construction.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from healthforge.generators.core.constraints import EncodedConstraint
from healthforge.generators.core.marginals import Marginal
from healthforge.generators.private.discrete import DiscreteColumn

KINDS = ("category", "support", "bins", "edges")
N_FOURIER = 6  # Fourier terms of a numeric token's place (numeric_features)
N_FEATURES = 1 + 2 * N_FOURIER


@dataclass
class ColumnCodec:
    """How one encoded column (float, NaN = missing) maps to local codes ``0..size-1``.

    ``kind`` is one of ``KINDS``; the missing level, when present, is the last code.
    """

    kind: str
    n_levels: int
    has_missing: bool
    support: np.ndarray | None = None  # "support": the distinct values
    marginal: Marginal | None = None  # "bins": empirical quantile function
    values: np.ndarray | None = None  # "bins": the sorted training values (see decode)
    dp_column: DiscreteColumn | None = None  # "category"/"edges" under DP
    positions: np.ndarray | None = None  # (n_levels,) numeric tokens' places in [0, 1]

    @property
    def size(self) -> int:
        return self.n_levels + int(self.has_missing)

    # -- values -> codes -----------------------------------------------------------
    def encode(self, values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Codes ``(n,)`` int64 of encoded values ``(n,)``."""
        if self.dp_column is not None:
            return self.dp_column.encode(values)
        finite = np.isfinite(values)
        codes = np.full(len(values), self.n_levels if self.has_missing else 0, dtype=np.int64)
        x = values[finite]
        if self.kind == "category":
            codes[finite] = np.clip(x.astype(np.int64), 0, self.n_levels - 1)
        elif self.kind == "support":
            assert self.support is not None
            idx = np.clip(np.searchsorted(self.support, x), 0, self.n_levels - 1)
            codes[finite] = idx
        else:  # bins: rank-based uniform, ties broken at random, then its bin
            assert self.marginal is not None
            u = self.marginal.to_uniform(x, rng)
            codes[finite] = np.minimum((u * self.n_levels).astype(np.int64), self.n_levels - 1)
        return codes

    # -- constraints -> token weights -----------------------------------------------
    def weights(self, constraint: EncodedConstraint | None) -> np.ndarray:
        """``(size,)`` share of each token's values that satisfy ``constraint``."""
        out = np.ones(self.size)
        if constraint is None:
            return out
        low, high = constraint.low, constraint.high
        if self.kind == "category":
            codes = constraint.codes
            out[: self.n_levels] = 1.0 if codes is None else np.asarray(codes, dtype=float)
        elif self.kind == "support":
            s = self.support
            out[: self.n_levels] = ((s >= low) & (s <= high)).astype(float)  # type: ignore[operator]
        elif self.kind == "bins":
            lo_u, hi_u = self._uniform_range(low, high)
            k = self.n_levels
            starts, ends = np.arange(k) / k, np.arange(1, k + 1) / k
            overlap = np.clip(np.minimum(ends, hi_u) - np.maximum(starts, lo_u), 0.0, None)
            out[:k] = overlap * k
            # a bin holding only the bound itself (e.g. age = 65 exactly): keep it possible
            point = (overlap == 0) & (starts <= lo_u) & (ends >= hi_u)
            out[:k][point] = 1e-6
        else:  # edges (DP)
            col = self.dp_column
            assert col is not None and col.edges is not None
            e = col.edges
            if col.integer_step:
                out[: self.n_levels] = ((e[:-1] >= low) & (e[:-1] <= high)).astype(float)
            else:
                width = e[1:] - e[:-1]
                overlap = np.clip(np.minimum(e[1:], high) - np.maximum(e[:-1], low), 0.0, None)
                out[: self.n_levels] = np.where(
                    width > 0, overlap / np.where(width > 0, width, 1), 1.0
                )
        if self.has_missing:
            out[-1] = float(constraint.missing_allowed)
        return out

    def _uniform_range(self, low: float, high: float) -> tuple[float, float]:
        """The quantile levels ``(F(low), F(high))`` of the bins' empirical distribution."""
        lo, hi = self._uniform_ranges(np.array([low], float), np.array([high], float))
        return float(lo[0]), float(hi[0])

    def _uniform_ranges(self, low: np.ndarray, high: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`_uniform_range` of per-row bounds ``(n,)``: the share of training values
        below ``low`` and up to ``high`` (of the interpolated quantiles without them)."""
        if self.values is not None:
            n = len(self.values)
            lo = np.searchsorted(self.values, low, side="left") / n
            return lo, np.searchsorted(self.values, high, side="right") / n
        m = self.marginal
        assert m is not None
        lo = np.where(np.isfinite(low), np.interp(low, m.quantiles, m.levels), 0.0)
        return lo, np.where(np.isfinite(high), np.interp(high, m.quantiles, m.levels), 1.0)

    # -- codes -> values -------------------------------------------------------------
    def decode(
        self,
        codes: np.ndarray,
        rng: np.random.Generator,
        constraint: EncodedConstraint | None = None,
        bounds: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> np.ndarray:
        """Encoded values ``(n,)`` of codes ``(n,)``; bins refined inside the allowed range.

        ``bounds``: per-row ``(low, high)`` ``(n,)`` within which a bin's value is refined
        (``lm``'s order relations, :mod:`.orders`), on top of ``constraint``'s range.
        """
        missing = codes >= self.n_levels
        level = np.minimum(codes, self.n_levels - 1)
        low = -np.inf if constraint is None else constraint.low
        high = np.inf if constraint is None else constraint.high
        if self.kind == "category":
            out = level.astype(float)
        elif self.kind == "support":
            out = self.support[level].astype(float)  # type: ignore[index]
        elif self.kind == "bins":
            k = self.n_levels
            if bounds is not None:
                low, high = np.maximum(bounds[0], low), np.minimum(bounds[1], high)
                lo_u, hi_u = self._uniform_ranges(low, high)
            else:
                lo_u, hi_u = self._uniform_range(low, high)
            start = np.maximum(level / k, lo_u)
            end = np.maximum(np.minimum((level + 1) / k, hi_u), start)
            u = start + (end - start) * rng.random(len(codes))
            if self.values is not None:
                # a training value at that rank: real columns sit on a lattice (pounds or
                # inches converted to kg or cm) that interpolated values leave, and a
                # detector sees it (NHEFS wt71: 484 distinct values, 856 interpolated)
                n_values = len(self.values)
                out = self.values[np.minimum((u * n_values).astype(np.int64), n_values - 1)]
            else:
                out = self.marginal.ppf(u)  # type: ignore[union-attr]
            out = np.clip(out, low, high)
        else:
            col = self.dp_column
            assert col is not None and col.edges is not None
            if col.integer_step:
                out = col.edges[level].astype(float)
            else:
                start = np.maximum(col.edges[level], low)
                end = np.maximum(np.minimum(col.edges[level + 1], high), start)
                out = start + (end - start) * rng.random(len(codes))
        out[missing] = np.nan
        return out


def codec_from_data(
    values: np.ndarray, discrete: bool, cardinality: int, n_bins: int
) -> ColumnCodec:
    """Codec of one encoded training column ``(n,)`` (non-private: bins from the data)."""
    finite = np.isfinite(values)
    has_missing = bool((~finite).any())
    if discrete:
        return ColumnCodec("category", max(int(cardinality), 1), has_missing)
    marginal = Marginal(values[finite])
    if marginal.discrete:
        # a value's place is the middle of its step of the empirical CDF
        share = np.diff(np.concatenate([[0.0], marginal.cdf]))
        return ColumnCodec(
            "support",
            marginal.n_support,
            has_missing,
            support=marginal.support,
            positions=marginal.cdf - share / 2,
        )
    return ColumnCodec(
        "bins",
        n_bins,
        has_missing,
        marginal=marginal,
        values=np.sort(values[finite]),
        positions=_middles(n_bins),
    )


def codec_from_release(column: DiscreteColumn) -> ColumnCodec:
    """Codec of a DP-released column: its public/noisy categories or bin edges."""
    if column.discrete:
        return ColumnCodec("category", column.levels, column.has_missing, dp_column=column)
    # places from the public bin order only, nothing read from the data
    return ColumnCodec(
        "edges",
        column.levels,
        column.has_missing,
        dp_column=column,
        positions=_middles(column.levels),
    )


def _middles(k: int) -> np.ndarray:
    return (np.arange(k) + 0.5) / k


class Tokenizer:
    """All columns' codecs and the global vocabulary.

    ``offsets[j]`` is the global id of column ``j``'s first token; ``vocab_size`` the
    total; ``slots`` ``(d, max_size)`` the global ids of each column's tokens, padded
    with 0 (``slot_valid`` says which are real).
    """

    def __init__(self, codecs: list[ColumnCodec]) -> None:
        self.codecs = codecs
        sizes = np.array([c.size for c in codecs], dtype=np.int64)
        self.sizes = sizes
        self.offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        self.vocab_size = int(sizes.sum())
        width = int(sizes.max())
        self.slot_valid = np.arange(width)[None, :] < sizes[:, None]
        self.slots = np.where(self.slot_valid, self.offsets[:, None] + np.arange(width), 0)

    @classmethod
    def from_data(
        cls, X: np.ndarray, discrete: np.ndarray, cardinalities: np.ndarray, n_bins: int
    ) -> Tokenizer:
        """Tokenizer of an encoded table ``X`` ``(n, d)`` (NaN = missing)."""
        return cls(
            [
                codec_from_data(X[:, j], bool(discrete[j]), int(cardinalities[j]), n_bins)
                for j in range(X.shape[1])
            ]
        )

    @property
    def n_columns(self) -> int:
        return len(self.codecs)

    def soft_targets(self, smoothing: float) -> np.ndarray:
        """``(vocab_size, max_size)`` training targets over each token's own column.

        Categories (and missing tokens) are one-hot. A numeric token keeps ``1 -
        smoothing`` on itself and spreads ``smoothing`` over its column's numeric tokens
        with a Gaussian kernel of one token's width (ordinal label smoothing): a
        neighbouring bin is a near miss, not a wrong class, which keeps ~30-level
        heads from overfitting to the few rows behind each token.
        """
        width = self.slots.shape[1]
        out = np.zeros((self.vocab_size, width), dtype=np.float32)
        for codec, offset in zip(self.codecs, self.offsets, strict=True):
            out[offset + np.arange(codec.size), np.arange(codec.size)] = 1.0
            k = codec.n_levels
            if codec.positions is None or smoothing <= 0 or k < 2:
                continue
            idx = np.arange(k)
            kernel = np.exp(-0.5 * (idx[:, None] - idx[None, :]) ** 2)
            kernel /= kernel.sum(axis=1, keepdims=True)
            block = (1 - smoothing) * np.eye(k) + smoothing * kernel
            out[offset : offset + k, :k] = block
        return out

    def numeric_features(self) -> np.ndarray:
        """``(vocab_size, N_FEATURES)`` smooth features of each numeric token's place.

        Numeric tokens (values and bins) are otherwise unrelated symbols: with ~1,000
        rows the network cannot learn from co-occurrence alone that neighbouring bins
        behave alike, and numeric columns come out nearly independent of each other.
        Their place ``u`` in ``[0, 1]`` (the middle of the token's quantile range) as
        ``u - 1/2`` and Fourier terms ``sin/cos(pi k u)`` gives the network that order;
        categories and missing tokens get zeros.
        """
        out = np.zeros((self.vocab_size, N_FEATURES), dtype=np.float32)
        k = np.arange(1, N_FOURIER + 1)
        for codec, offset in zip(self.codecs, self.offsets, strict=True):
            if codec.positions is None:
                continue
            u = np.asarray(codec.positions, dtype=float)[:, None]
            rows = np.hstack([u - 0.5, np.sin(np.pi * k * u), np.cos(np.pi * k * u)])
            out[offset : offset + codec.n_levels] = rows
        return out

    def encode(self, X: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Local codes ``(n, d)`` int64 of encoded rows ``X`` ``(n, d)``."""
        return np.column_stack([c.encode(X[:, j], rng) for j, c in enumerate(self.codecs)])

    # duplicates: OrderBook.decode has this signature too (it refines these codes)
    def decode(
        self,
        codes: np.ndarray,
        rng: np.random.Generator,
        constraints: dict[int, EncodedConstraint] | None = None,
    ) -> np.ndarray:
        """Encoded rows ``(n, d)`` of local codes ``(n, d)``."""
        constraints = constraints or {}
        return np.column_stack(
            [c.decode(codes[:, j], rng, constraints.get(j)) for j, c in enumerate(self.codecs)]
        )

    def slot_weights(self, constraints: dict[int, EncodedConstraint] | None = None) -> np.ndarray:
        """``(d, max_size)`` weights of each column's tokens (0 on padding)."""
        constraints = constraints or {}
        out = np.zeros(self.slots.shape)
        for j, codec in enumerate(self.codecs):
            out[j, : codec.size] = codec.weights(constraints.get(j))
        return out
