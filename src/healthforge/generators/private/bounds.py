"""Numeric bounds released with DP: a noisy histogram on a public grid of round numbers,
read by a scan of windows of adjacent bins (:func:`dp_bounds`), then moved onto the
column's decimal lattice."""

from __future__ import annotations

import math

import numpy as np
from scipy.stats import norm

# public bin edges of the DP bounds histogram: 1, 2, 5 x 10^k from 1e-3 to 5e9, both
# signs, and 0 (neighbouring edges of one sign differ by a factor of at most 2.5)
_MANTISSAS = (1.0, 2.0, 5.0)
_POSITIVE = np.array([m * 10.0**k for k in range(-3, 10) for m in _MANTISSAS])
BOUNDS_EDGES = np.unique(np.concatenate([-_POSITIVE, [0.0], _POSITIVE]))
# chance that the bounds of one column reach into a window holding no row (union bound)
BOUNDS_FAILURE = 1e-3
# widths (in adjacent bins) of the windows the bounds scan reads off the noisy histogram:
# mass spread thinly over several bins clears a wide window where no single bin clears
BOUNDS_WIDTHS = (1, 2, 4, 8)


def bounds_counts(values: np.ndarray) -> np.ndarray:
    """Rows per bin between consecutive ``BOUNDS_EDGES`` (values beyond the grid's ends
    count in the end bins; NaN = missing counts nowhere)."""
    finite = values[np.isfinite(values)]
    n_bins = len(BOUNDS_EDGES) - 1
    bins = np.clip(np.searchsorted(BOUNDS_EDGES, finite, "right") - 1, 0, n_bins - 1)
    return np.bincount(bins, minlength=n_bins)


def bounds_thresholds(
    sigma: float, widths: tuple[int, ...] = BOUNDS_WIDTHS, failure: float = BOUNDS_FAILURE
) -> dict[int, float]:
    """Noisy sum a window of ``w`` adjacent bounds bins must exceed, for each ``w``.

    A window of ``w`` empty bins has noisy sum ``N(0, w sigma^2)``; with ``W`` windows of
    all widths on the grid, ``sigma sqrt(w) Phi^-1(1 - failure / W)`` is exceeded by any
    one of them with probability ``failure / W``, so by the union bound some empty window
    of one column clears with probability <= ``failure``."""
    n_bins = len(BOUNDS_EDGES) - 1
    windows = sum(n_bins - w + 1 for w in widths)
    z = float(norm.isf(failure / windows))
    return {w: sigma * math.sqrt(w) * z for w in widths}


def dp_bounds(
    noisy: np.ndarray, sigma: float, widths: tuple[int, ...] = BOUNDS_WIDTHS
) -> tuple[float, float] | None:
    """DP ``(low, high)`` read off a column's noisy bounds histogram, or ``None``.

    ``noisy``: ``(len(BOUNDS_EDGES) - 1,)`` counts on the public 1-2-5 log grid of both
    signs and 0, each plus ``N(0, sigma^2)`` (:func:`noisy_histograms`): one record
    moves one count by 1, so ``1 / (2 sigma^2)``-zCDP per column, and this function is
    post-processing (free). ApproximateBounds (Google's differential-privacy library)
    reads single bins; mass spread thinly over several fine bins (values within +-1 fill
    ~20 bins of this grid) then clears none. So it scans windows of ``w`` adjacent bins
    for every ``w`` in ``widths`` (contiguous across 0): a window *clears* when its noisy
    sum exceeds :func:`bounds_thresholds`. A clearing window that contains a narrower
    clearing one is ignored (the narrower one says more precisely where the rows are);
    the release is the lower edge of the lowest and the upper edge of the highest
    remaining window.

    Guarantee: with probability >= 1 - ``BOUNDS_FAILURE`` per column no window without
    rows clears, and then each released bound lies inside the data's range or at most
    ``max(widths)`` grid steps outside it (the window's edge; the grid edge at or below
    the real minimum counts as the first step); one step of one sign is a factor <= 2.5,
    three steps a factor 10, so 8 steps a factor <= 250 (or across 0 to the other sign).
    In practice a window hugging empty bins is beaten by a narrower one inside it, and
    the bounds land one step out (benchmarks/results/dp_bounds.md). The price is the
    tails: windows holding fewer rows than their threshold are cut off and clipped.

    Why not the exponential mechanism on quantiles (the first release): its utility,
    ``-|rank error|``, ties for every candidate outside the data, and there are many of
    them, so at small epsilon it picked round numbers far outside the range.
    """
    n_bins = len(noisy)
    clear: dict[int, np.ndarray] = {}
    starts: list[int] = []
    ends: list[int] = []
    for w, threshold in sorted(bounds_thresholds(sigma, widths).items()):
        if w > n_bins:
            continue
        clear[w] = np.convolve(noisy, np.ones(w), "valid") > threshold  # window i: bins i..i+w-1
        minimal = clear[w].copy()
        for narrower, inside in clear.items():
            if narrower < w:  # windows of width `narrower` starting at i..i+w-narrower
                minimal &= np.convolve(inside, np.ones(w - narrower + 1), "valid") == 0
        found = np.flatnonzero(minimal)
        if len(found):
            starts.append(int(found[0]))
            ends.append(int(found[-1]) + w)
    if not starts:
        return None
    return float(BOUNDS_EDGES[min(starts)]), float(BOUNDS_EDGES[max(ends)])


def on_lattice(low: float, high: float, decimals: int | None) -> tuple[float, float]:
    """Released bounds moved inwards onto the column's public decimal lattice.

    Decoding rounds values to ``decimals`` and then clips them to the bounds; bounds on
    the lattice are kept by rounding, so no value (nor its integer cast) leaves them.
    Outwards instead when inwards would leave at most one value (a bin ``[0, 0.001)`` of
    a whole-number column becomes ``[0, 1]``).
    """
    if decimals is None:
        return low, high
    scale = 10.0**decimals
    inner = (math.ceil(round(low * scale, 6)) / scale, math.floor(round(high * scale, 6)) / scale)
    if inner[1] > inner[0]:
        return inner
    return math.floor(low * scale) / scale, math.ceil(high * scale) / scale
