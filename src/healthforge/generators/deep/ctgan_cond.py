"""CTGAN's conditional vector: training-by-sampling and native conditions (Xu et al. 2019).

During training a conditioning column (a one-hot block: a discrete column or a numeric
one kept one-hot) is picked uniformly, a level by log-frequency, then a real row with
that level (:class:`CondSampler`). Sampling draws levels by their training frequency
(:class:`SamplingCond`, which keeps no row indices), and native conditions clamp the
most selective constrained column to its allowed levels (:func:`conditioning_choice`).
"""

from __future__ import annotations

from math import inf
from typing import Any

import numpy as np

from healthforge.generators.core.constraints import EncodedConstraint
from healthforge.generators.deep.transform import NeuralTransformer


class CondSampler:
    """The conditional vector and training-by-sampling, vectorised over a batch.

    For each conditioning column (one-hot blocks of the transformer), the training rows
    are sorted by level, so "a random row with level ``l`` of column ``c``" is index
    arithmetic. ``codes`` ``(n, n_cond)`` are the level indices of those columns.
    """

    def __init__(self, codes: np.ndarray, n_levels: np.ndarray) -> None:
        n_cond = codes.shape[1]
        self.n_cond = n_cond
        self.n_levels = n_levels
        self.offsets = np.r_[0, np.cumsum(n_levels)[:-1]].astype(np.int64)
        self.cond_dim = int(n_levels.sum())
        width = int(n_levels.max()) if n_cond else 1
        counts = np.zeros((n_cond, width), dtype=np.int64)
        for c in range(n_cond):
            counts[c, : n_levels[c]] = np.bincount(codes[:, c], minlength=n_levels[c])
        self.counts = counts
        self.first = np.cumsum(counts, axis=1) - counts  # first sorted position per level
        self.rows = np.argsort(codes, axis=0, kind="stable").T.astype(np.int64)  # (n_cond, n)
        self.log_cum = _cumulative(np.log1p(counts) * (counts > 0))
        self.freq_cum = _cumulative(counts.astype(float))

    def draw(
        self, batch: int, rng: np.random.Generator, log_frequency: bool = True
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Columns ``(batch,)``, levels ``(batch,)`` and the cond vectors ``(batch, cond_dim)``."""
        col = rng.integers(0, self.n_cond, batch)
        cum = (self.log_cum if log_frequency else self.freq_cum)[col]
        opt = (cum <= rng.random((batch, 1))).sum(axis=1)
        opt = np.minimum(opt, self.n_levels[col] - 1)
        vec = np.zeros((batch, self.cond_dim), dtype=np.float32)
        vec[np.arange(batch), self.offsets[col] + opt] = 1.0
        return col, opt, vec

    def rows_for(self, col: np.ndarray, opt: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """A random training row having level ``opt`` in column ``col``, per entry."""
        pick = (rng.random(len(col)) * self.counts[col, opt]).astype(np.int64)
        return self.rows[col, self.first[col, opt] + pick]


class CondCrossEntropy:
    """The generator's conditional loss: cross-entropy of each row's asked-for level.

    Row ``r`` asks for level ``opt[r]`` of conditioning column ``col[r]``; the loss is
    ``mean(logsumexp(raw[r, block]) - raw[r, block[opt[r]]])`` over that column's output
    block only (other blocks' normalisers are not needed). The blocks are gathered to
    ``(n, widest)``; pads repeat the block's last column and are masked to ``-inf``.

    Args:
        transformer: the fitted transformer (its ``cond_columns`` define the blocks).
        device: torch device of the generator's outputs.
    """

    def __init__(self, transformer: NeuralTransformer, device: Any) -> None:
        plans = [transformer.plans[j] for j in transformer.cond_columns]
        start = np.array([p.softmax_start for p in plans], dtype=np.int64)
        n_levels = np.array([p.n_levels for p in plans], dtype=np.int64)
        span = np.arange(n_levels.max(initial=1))
        self.cols = start[:, None] + np.minimum(span, n_levels[:, None] - 1)  # (n_cond, w)
        self.pad = span >= n_levels[:, None]
        self.device = device

    def __call__(self, raw: Any, col: np.ndarray, opt: np.ndarray) -> Any:
        """Scalar loss for raw generator outputs ``raw`` ``(n, dim)``; ``col``, ``opt`` ``(n,)``."""
        from healthforge.generators.core.torch_support import import_torch

        torch = import_torch()
        block = raw.gather(1, torch.as_tensor(self.cols[col], device=self.device))
        block = block.masked_fill(torch.as_tensor(self.pad[col], device=self.device), -inf)
        return torch.nn.functional.cross_entropy(block, torch.as_tensor(opt, device=self.device))


def _cumulative(weights: np.ndarray) -> np.ndarray:
    total = weights.sum(axis=1, keepdims=True)
    return np.cumsum(weights, axis=1) / np.where(total > 0, total, 1.0)


class SamplingCond:
    """What sampling needs of :class:`CondSampler` (level frequencies), without row indices.

    Keeps model files small and free of training-row positions.
    """

    def __init__(self, sampler: CondSampler) -> None:
        self.n_cond = sampler.n_cond
        self.n_levels = sampler.n_levels
        self.offsets = sampler.offsets
        self.cond_dim = sampler.cond_dim
        self.freq_cum = sampler.freq_cum

    def draw(
        self, batch: int, rng: np.random.Generator, log_frequency: bool = False
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Columns ``(batch,)``, levels ``(batch,)``, vectors ``(batch, cond_dim)``."""
        col = rng.integers(0, self.n_cond, batch)
        opt = (self.freq_cum[col] <= rng.random((batch, 1))).sum(axis=1)
        opt = np.minimum(opt, self.n_levels[col] - 1)
        return col, opt, self.vectors(col, opt)

    def vectors(self, col: np.ndarray, opt: np.ndarray) -> np.ndarray:
        """One-hot conditional vectors ``(len(col), cond_dim)`` for levels ``opt`` of ``col``."""
        vec = np.zeros((len(col), self.cond_dim), dtype=np.float32)
        vec[np.arange(len(col)), self.offsets[col] + opt] = 1.0
        return vec


def conditioning_choice(
    transformer: NeuralTransformer,
    sampler: CondSampler | SamplingCond,
    discrete: np.ndarray,
    constraints: dict[int, EncodedConstraint],
) -> tuple[int, np.ndarray] | None:
    """The conditional-vector column to clamp and its level probabilities, or ``None``.

    Returns ``(i, probs)``: ``i`` indexes ``transformer.cond_columns``; ``probs``
    ``(n_levels,)`` are the training frequencies of that column's levels restricted to
    the levels ``constraints`` allow (renormalised). The column with the least allowed
    training mass is chosen. ``None`` when no constrained column is in the conditional
    vector, or when a constrained one allows no level seen in training (the base class
    then reports the condition as too rare).
    """
    best: tuple[float, int, np.ndarray] | None = None
    for i, j in enumerate(transformer.cond_columns):
        constraint = constraints.get(j)
        if constraint is None:
            continue
        plan = transformer.plans[j]
        levels = plan.levels
        if discrete[j] and constraint.codes is not None:
            codes = levels.astype(np.int64)
            inside = (codes >= 0) & (codes < len(constraint.codes))
            allowed = inside & constraint.codes[np.clip(codes, 0, len(constraint.codes) - 1)]
        else:
            allowed = (levels >= constraint.low) & (levels <= constraint.high)
        if plan.has_missing:
            allowed = np.r_[allowed, constraint.missing_allowed]
        cum = sampler.freq_cum[i, : plan.n_levels]
        freq = np.diff(np.r_[0.0, cum])
        mass = float((freq * allowed).sum())
        if mass <= 0:
            return None
        if best is None or mass < best[0]:
            best = (mass, i, freq * allowed / mass)
    return None if best is None else (best[1], best[2])
