"""Shared machinery of the tree generators: donor values per leaf, and smoothing.

Both ``cart`` and ``arf`` synthesise a value by routing a synthetic row to a region of
a fitted tree (a leaf, or the nearest ancestor with enough training rows) and drawing
one of the training values that fell into that region. Drawing real values keeps each
column's support - including coarse rounding and heaping, which detectors use to tell
synthetic from real data - and missingness, since a missing value is just a donor.

Columns whose values rarely repeat are smoothed afterwards (synthpop's
``smoothing = "density"``): Gaussian noise with a bandwidth from the region's values,
reflected into the observed range, so exact rare values (an extreme weight, say) are
not released as they are.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SMOOTH_MIN_DISTINCT = 64  # fewer distinct values: keep donors exact (as Marginal does)
SMOOTH_MIN_DISTINCT_SHARE = 0.5  # values repeat more than this: heaped/rounded, keep exact
ATOM_SHARE = 0.05  # a value this frequent is a point mass (e.g. 0): never smoothed


@dataclass
class Smoother:
    """How to smooth one numeric column.

    Attributes:
        low, high: observed range; smoothed values are reflected into it.
        atoms: values frequent enough to be point masses, shape ``(k,)``; left as drawn.
        bandwidth: Silverman's rule of thumb on the whole column, an upper bound for
            region bandwidths (a region spanning a wide range must not blur the column).
    """

    low: float
    high: float
    atoms: np.ndarray
    bandwidth: float

    def apply(self, values: np.ndarray, bandwidth: np.ndarray, rng: np.random.Generator) -> None:
        """Smooth ``values`` (shape ``(n,)``) in place with per-value ``bandwidth`` ``(n,)``."""
        noise = rng.standard_normal(len(values))  # drawn for every row: stable stream
        bw = np.minimum(np.nan_to_num(bandwidth, nan=0.0), self.bandwidth)
        keep = ~np.isfinite(values) | np.isin(values, self.atoms)
        smoothed = values + np.where(keep, 0.0, bw * noise)
        span = self.high - self.low
        if span > 0:
            # reflect at the bounds (no pile-up of clipped values at min/max), then clip
            smoothed = np.where(smoothed < self.low, 2 * self.low - smoothed, smoothed)
            smoothed = np.where(smoothed > self.high, 2 * self.high - smoothed, smoothed)
            smoothed = np.clip(smoothed, self.low, self.high)
        values[:] = np.where(keep, values, smoothed)


def make_smoother(values: np.ndarray) -> Smoother | None:
    """A :class:`Smoother` for a numeric column ``values`` ``(n,)``, or ``None`` if coarse.

    Only columns that look continuous are smoothed: at least ``SMOOTH_MIN_DISTINCT``
    distinct values and at least half of the observed values distinct. Integer codes,
    heaped blood pressures and weights converted from whole pounds keep their lattice.
    """
    values = values[np.isfinite(values)]
    if values.size < 2:
        return None
    support, counts = np.unique(values, return_counts=True)
    if len(support) < SMOOTH_MIN_DISTINCT or len(support) < SMOOTH_MIN_DISTINCT_SHARE * len(values):
        return None
    atoms = support[counts >= ATOM_SHARE * len(values)]
    return Smoother(
        low=float(support[0]),
        high=float(support[-1]),
        atoms=atoms,
        bandwidth=silverman(values),
    )


def silverman(values: np.ndarray) -> float:
    """Silverman's rule-of-thumb bandwidth of finite ``values`` ``(n,)``."""
    n = len(values)
    if n < 2:
        return 0.0
    sd = float(np.std(values, ddof=1))
    q75, q25 = np.percentile(values, [75, 25])
    spread = min(sd, (q75 - q25) / 1.34) if q75 > q25 else sd
    return 0.9 * spread * n ** (-0.2)


def group_bandwidth(groups: np.ndarray, values: np.ndarray, n_groups: int) -> np.ndarray:
    """Per-group Gaussian bandwidth ``0.9 * sd * m^(-1/5)``, shape ``(n_groups,)``.

    ``groups`` ``(n,)`` are group ids of ``values`` ``(n,)``; missing values are ignored.
    Groups with fewer than two values get bandwidth 0.
    """
    ok = np.isfinite(values)
    g, v = groups[ok], values[ok]
    m = np.bincount(g, minlength=n_groups).astype(float)
    s1 = np.bincount(g, weights=v, minlength=n_groups)
    s2 = np.bincount(g, weights=v * v, minlength=n_groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        var = (s2 - s1 * s1 / m) / (m - 1)
        bw = 0.9 * np.sqrt(np.maximum(var, 0.0)) * m ** (-0.2)
    return np.where(m >= 2, bw, 0.0)


class LeafDonors:
    """Training values of one column grouped by the tree node they fell into.

    Args:
        leaves: node id of every training row, shape ``(n,)``.
        values: the column's training values (NaN allowed), shape ``(n,)``.
        n_nodes: number of nodes of the tree (ids are ``0..n_nodes-1``).
        smoother: smoothing of draws, or ``None`` to keep them exact.
    """

    def __init__(
        self,
        leaves: np.ndarray,
        values: np.ndarray,
        n_nodes: int,
        smoother: Smoother | None = None,
    ) -> None:
        leaves = np.asarray(leaves, dtype=np.int64)
        order = np.argsort(leaves, kind="stable")
        self.values = np.asarray(values, dtype=float)[order]
        self.counts = np.bincount(leaves, minlength=n_nodes)
        self.starts = np.concatenate([[0], np.cumsum(self.counts)[:-1]])
        self.smoother = smoother
        self.bandwidth = group_bandwidth(leaves, values, n_nodes) if smoother else None

    def draw(self, leaves: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One donor value per synthetic row in node ``leaves`` ``(m,)``; shape ``(m,)``.

        Vectorised: a uniform draw picks a position inside each node's slice of the
        sorted donor array. A node without donors (cannot happen for leaves reached by
        training rows; guarded anyway) falls back to any donor.
        """
        counts = self.counts[leaves]
        u = rng.random(len(leaves))
        empty = counts == 0
        pos = np.where(
            empty,
            (u * len(self.values)).astype(np.int64),
            self.starts[leaves] + (u * counts).astype(np.int64),
        )
        out = self.values[np.minimum(pos, len(self.values) - 1)]
        if self.smoother is not None and self.bandwidth is not None:
            self.smoother.apply(out, self.bandwidth[leaves], rng)
        return out
