"""Native conditions for ``ddpm``: constraints translated into the diffusion's own space.

The base class hands a generator :class:`~healthforge.generators.core.constraints.EncodedConstraint`
objects per encoded column. ``ddpm`` models numeric columns as normal scores (a quantile
transform), discrete columns as categories of multinomial diffusion, and a discrete
target as a class label. :class:`Clamp` holds each constraint in those terms:

* numeric ``low``/``high`` -> bounds on the clean normal score (the quantile transform
  is monotone, so a range maps to a range); a single value is a *known* score;
* a numeric constraint that excludes missing -> the column's missing indicator is
  clamped to "present";
* discrete sets -> a mask of allowed categories (and "missing" when allowed);
* the target -> class probabilities restricted to the allowed classes.

:meth:`Clamp.finish` then fixes what rounding can undo: values of snapped (heaped)
columns are snapped to the observed values inside the range, and numeric values are
clipped into it (the inverse quantile transform is exact only up to floating error).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from healthforge.generators.core.constraints import EncodedConstraint
from healthforge.generators.deep.ddpm_diffusion import CLIP

if TYPE_CHECKING:  # pragma: no cover
    from healthforge.generators.deep.ddpm import DdpmGenerator


@dataclass
class Clamp:
    """Constraints in ddpm's model space, for :meth:`.ddpm_diffusion.Schedule.sample`.

    Shapes: ``low``/``high``/``value`` ``(d_num,)`` normal scores, ``known`` ``(d_num,)``
    bool, ``allowed`` ``(n_cat, K)`` bool over the padded categories, ``class_probs``
    ``(n_classes,)``; ``ranges`` maps an encoded numeric column to ``(low, high,
    support)`` for :meth:`finish`.
    """

    low: np.ndarray
    high: np.ndarray
    known: np.ndarray
    value: np.ndarray
    allowed: np.ndarray
    class_probs: np.ndarray | None
    ranges: dict[int, tuple[float, float, np.ndarray | None]]

    @classmethod
    def build(cls, model: DdpmGenerator, constraints: dict[int, EncodedConstraint]) -> Clamp:
        num_cols = [int(j) for j in model.num_cols_]
        d = len(num_cols)
        low, high = np.full(d, -CLIP), np.full(d, CLIP)
        cards = [k for _, k, _ in model.cat_cols_]
        allowed = np.zeros((len(cards), max(cards, default=1)), dtype=bool)
        for c, k in enumerate(cards):
            allowed[c, :k] = True
        ranges: dict[int, tuple[float, float, np.ndarray | None]] = {}
        for j, con in constraints.items():
            if j in num_cols:
                c = num_cols.index(j)
                if np.isfinite(con.low) or np.isfinite(con.high):
                    lo, hi = _scores(model, c, con.low, con.high, d)
                    low[c], high[c] = max(low[c], lo), min(high[c], hi)
                    ranges[j] = (con.low, con.high, model.supports_[c])
        for c, (j, k, kind) in enumerate(model.cat_cols_):
            con = constraints.get(j)
            if con is None:
                continue
            if kind == "missing":
                if j in ranges and not con.missing_allowed:
                    allowed[c, 1] = False  # a value is required: the indicator says present
            else:
                allowed[c, :k] &= _allowed_codes(con, k, int(model.cardinalities_[j]))
        class_probs = getattr(model, "class_probs_", None)
        if model.cond_col_ is not None and model.cond_col_ in constraints:
            con = constraints[model.cond_col_]
            mask = _allowed_codes(con, model.n_classes_, int(model.cardinalities_[model.cond_col_]))
            weights = class_probs * mask
            # a class never seen in training cannot be conditioned on: the base class says so
            class_probs = weights / weights.sum() if weights.sum() > 0 else class_probs
        # a category the constraint rules out everywhere: keep the model's own draw and
        # let the base class report the condition as too rare
        empty = ~allowed.any(axis=1)
        for c in np.flatnonzero(empty):
            allowed[c, : cards[c]] = True
        known = np.isclose(low, high)
        return cls(low, np.maximum(high, low), known, low.copy(), allowed, class_probs, ranges)

    def reweight_classes(self, labels: np.ndarray, accepted: np.ndarray, n_classes: int) -> None:
        """Class probabilities times each class's acceptance rate in a pilot sample.

        ``labels`` ``(m,)`` are the pilot rows' target values (NaN = missing, the last
        class), ``accepted`` ``(m,)`` whether they satisfy the constraints. Bayes:
        ``P(y | c) ~ P(y) P(c | y)``; the rates are smoothed (+0.5 / +1) so a class the
        pilot never accepted keeps a small share instead of none.
        """
        if self.class_probs is None or accepted.sum() == 0:
            return  # nothing learned from the pilot; the marginal is the best guess
        codes = np.where(np.isfinite(labels), np.nan_to_num(labels), n_classes - 1).astype(int)
        codes = np.clip(codes, 0, n_classes - 1)
        seen = np.bincount(codes, minlength=n_classes)
        hits = np.bincount(codes[accepted], minlength=n_classes)
        rate = (hits + 0.5) / (seen + 1.0)
        weights = self.class_probs * rate * (self.class_probs > 0)
        self.class_probs = weights / weights.sum()

    def tensors(self, torch: Any, device: Any) -> tuple[Any, ...]:
        """``(low, high, known, value, allowed)`` as tensors on ``device``."""
        as_t = lambda a, dt: torch.as_tensor(a, dtype=dt, device=device)  # noqa: E731
        return (
            as_t(self.low, torch.float32),
            as_t(self.high, torch.float32),
            as_t(self.known, torch.bool),
            as_t(self.value, torch.float32),
            as_t(self.allowed, torch.float32),
        )

    def finish(self, out: np.ndarray) -> np.ndarray:
        """Encoded rows ``(n, d)`` with constrained numeric values kept inside their range."""
        for j, (lo, hi, support) in self.ranges.items():
            col = out[:, j]
            if support is not None:
                inside = support[(support >= lo) & (support <= hi)]
                if len(inside):
                    idx = np.clip(np.searchsorted(inside, col), 1, max(len(inside) - 1, 1))
                    if len(inside) == 1:
                        col = np.where(np.isfinite(col), inside[0], col)
                    else:
                        left, right = inside[idx - 1], inside[idx]
                        snapped = np.where(col - left <= right - col, left, right)
                        col = np.where(np.isfinite(col), snapped, col)
            out[:, j] = np.clip(col, lo, hi)
        return out


def _scores(model: DdpmGenerator, c: int, low: float, high: float, d: int) -> tuple[float, float]:
    """Normal scores of the bounds ``low``/``high`` of numeric column ``c``."""
    grid = np.full((2, d), np.nan)
    grid[:, c] = np.clip([low, high], -1e300, 1e300)
    scores = model.quantile_.transform(grid)[:, c]
    lo = -CLIP if not np.isfinite(low) else float(scores[0])
    hi = CLIP if not np.isfinite(high) else float(scores[1])
    return lo, hi


def _allowed_codes(con: EncodedConstraint, k: int, n_categories: int) -> np.ndarray:
    """``(k,)`` mask over a discrete column's codes (then "missing" if ``k`` is one more)."""
    mask = np.ones(k, dtype=bool)
    if con.codes is not None:
        m = min(n_categories, len(con.codes))
        mask[:n_categories] = False
        mask[:m] = con.codes[:m]
    if k > n_categories:
        mask[n_categories:] = con.missing_allowed
    return mask


def encoded_mask(X: np.ndarray, constraints: dict[int, EncodedConstraint]) -> np.ndarray:
    """``(n,)`` whether each encoded row of ``X`` ``(n, d)`` meets every constraint."""
    ok = np.ones(len(X), dtype=bool)
    for j, con in constraints.items():
        col = X[:, j]
        finite = np.isfinite(col)
        value = np.where(finite, col, 0.0)
        if con.codes is not None:
            codes = np.clip(value.astype(np.int64), 0, max(len(con.codes) - 1, 0))
            inside = con.codes[codes] if len(con.codes) else np.zeros(len(X), dtype=bool)
        else:
            inside = (value >= con.low) & (value <= con.high)
        ok &= np.where(finite, inside, con.missing_allowed)
    return ok
