"""Token calibration: each column's token shares in lm's rows matched to the training rows'.

Ordinal label smoothing (:mod:`.training`) teaches a numeric token's neighbours part of
its mass. That helps the numeric columns learn how they depend on each other, but it
flattens heaps. In NHEFS, 71 % of smokers report a multiple of 10 cigarettes a day;
without calibration 60 % of lm's rows do, and the smoking intensity is what a detector
leans on most.

After training, :func:`token_ratios` compares each column's token shares in a sample of
the model's own rows with the shares in the training rows. Each token's decoding weight
is then multiplied by the ratio, clipped to ``[1 / MAX_RATIO, MAX_RATIO]``. The
correction does not depend on context, so it moves each column's marginal back toward
the training one and leaves the learnt dependence between columns alone. Measured in
``benchmarks/results/lm.md``.

It is never applied under DP: the training shares are exact statistics of the rows.
"""

from __future__ import annotations

import numpy as np

CALIBRATION_ROWS = 20_000  # rows drawn to measure the model's shares (~20 s on NHEFS)
MAX_RATIO = 4.0


def token_shares(codes: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """``(d, W)`` share of each column's tokens in local codes ``(n, d)``; ``valid`` is
    the tokenizer's ``(d, W)`` mask of real slots (0 on padding)."""
    d, width = valid.shape
    counts = np.zeros((d, width))
    for j in range(d):
        counts[j] = np.bincount(codes[:, j], minlength=width)[:width]
    return counts / np.maximum(counts.sum(axis=1, keepdims=True), 1.0)


def token_ratios(train_codes: np.ndarray, drawn_codes: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """``(d, W)`` weights that move the drawn rows' token shares to the training rows'.

    Both shares get one training row's worth of pseudo-count, so a token the model
    never drew, or that the training rows hold once, is not blown up. Padding gets 1.
    """
    floor = 1.0 / max(len(train_codes), 1)
    wanted = token_shares(train_codes, valid) + floor
    drawn = token_shares(drawn_codes, valid) + floor
    ratios = np.clip(wanted / drawn, 1.0 / MAX_RATIO, MAX_RATIO)
    return np.where(valid, ratios, 1.0)
