"""A column of a DP generator as integer codes ``0..size-1`` on its released domain."""

from __future__ import annotations

import numpy as np


class DiscreteColumn:
    """How one column maps to codes ``0..size-1`` and back (the missing level is last).

    Numeric columns use ``edges`` (public or DP bounds); discrete ones keep the
    category indices in ``keep`` (the released categories, in schema order).
    """

    # duplicates: fields spelled out one by one and kept as attributes, alike in shape to other
    # classes' constructors
    def __init__(
        self,
        name: str,
        discrete: bool,
        has_missing: bool,
        keep: np.ndarray | None = None,
        edges: np.ndarray | None = None,
        integer_step: bool = False,
        positions: np.ndarray | None = None,
        levels: int | None = None,
    ) -> None:
        self.name = name
        self.discrete = discrete
        self.has_missing = has_missing
        self.keep = keep
        self.edges = edges
        self.integer_step = integer_step
        # where each kept category goes in the released list (default: in order); the
        # released list may hold more levels than were seen (a public boolean domain)
        self.positions = positions
        if discrete:
            self.levels = levels if levels is not None else len(keep)  # type: ignore[arg-type]
        else:
            self.levels = len(edges) - 1  # type: ignore[arg-type]
        self.size = self.levels + int(has_missing)

    def encode(self, values: np.ndarray) -> np.ndarray:
        """Codes ``(n,)`` of encoded values ``(n,)`` (NaN = missing)."""
        finite = np.isfinite(values)
        codes = np.full(len(values), self.levels if self.has_missing else 0, dtype=np.int64)
        if self.discrete:
            lookup = np.full(int(np.nanmax(np.append(values, self.keep.max(initial=0)))) + 2, -1)
            positions = getattr(self, "positions", None)  # models saved before it lack it
            lookup[self.keep] = np.arange(len(self.keep)) if positions is None else positions
            mapped = lookup[np.where(finite, values, -1).astype(np.int64)]
            # dropped categories count as missing; without a missing level, as level 0
            mapped = np.where(mapped >= 0, mapped, self.levels if self.has_missing else 0)
            codes[finite] = mapped[finite]
        else:
            x = np.clip(values[finite], self.edges[0], self.edges[-1])
            codes[finite] = np.clip(np.searchsorted(self.edges, x, "right") - 1, 0, self.levels - 1)
        return codes

    def decode(self, codes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Encoded values ``(n,)`` of ``codes`` ``(n,)``: category index or a value in its bin."""
        missing = codes >= self.levels
        level = np.minimum(codes, self.levels - 1)
        if self.discrete:
            out = level.astype(float)  # the released schema lists only kept categories
        elif self.integer_step:
            out = self.edges[level].astype(float)
        else:
            low, high = self.edges[level], self.edges[level + 1]
            out = low + (high - low) * rng.random(len(codes))
        out[missing] = np.nan
        return out
