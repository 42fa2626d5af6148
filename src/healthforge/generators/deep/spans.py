"""The softmax blocks of a deep generator's network matrix, grouped for fused activation
and losses (:class:`SpanLayout`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from healthforge.generators.deep.transform import NeuralTransformer


BUCKET_WIDTHS = (2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64)  # then powers of two


def _bucket_width(size: int) -> int:
    for width in BUCKET_WIDTHS:
        if size <= width:
            return width
    return 1 << (size - 1).bit_length()


class SpanLayout:
    """The softmax blocks of a network matrix, for fused activation and losses.

    ``padded`` gives all blocks as one ``(n, n_blocks, max_width)`` tensor (pads -inf).
    The hot paths (``activate``, ``block_logsumexp``) instead group blocks of similar
    width into a few buckets, each padded only to its own width: on NHEFS (61 blocks of
    2 to 19 levels) that is ~400 padded cells per row instead of 61 x 19 = 1159, and a
    handful of tensor ops per bucket instead of a Python loop over columns.
    """

    def __init__(self, transformer: NeuralTransformer, device: Any) -> None:
        from healthforge.generators.core.torch_support import import_torch

        torch = import_torch()
        spans = transformer.softmax_spans
        dim = transformer.dim
        width = max((s for _, s in spans), default=1)
        pad = np.full((len(spans), width), dim, dtype=np.int64)  # dim = the -inf column
        for b, (start, size) in enumerate(spans):
            pad[b, :size] = np.arange(start, start + size)
        valid = pad < dim
        tanh_cols = transformer.tanh_columns
        self.n_blocks, self.width, self.dim = len(spans), width, dim
        self.pad = torch.as_tensor(pad.reshape(-1), device=device)
        self.tanh_cols = torch.as_tensor(tanh_cols, device=device)
        self.block_start = np.array([s for s, _ in spans], dtype=np.int64)
        self.soft_cols = torch.as_tensor(pad[valid], device=device)  # block order
        # buckets: (padded column index (n_b * w_b,), n_b, w_b, valid positions)
        self.buckets: list[tuple[Any, int, int, Any]] = []
        bucket_of = np.array([_bucket_width(s) for _, s in spans], dtype=np.int64)
        order_cols = [tanh_cols]
        block_order = []
        for w in np.unique(bucket_of):
            blocks = np.flatnonzero(bucket_of == w)
            idx = np.full((len(blocks), w), dim, dtype=np.int64)
            for i, b in enumerate(blocks):
                start, size = spans[b]
                idx[i, :size] = np.arange(start, start + size)
            ok = (idx < dim).reshape(-1)
            self.buckets.append(
                (
                    torch.as_tensor(idx.reshape(-1), device=device),
                    len(blocks),
                    int(w),
                    torch.as_tensor(np.flatnonzero(ok), device=device),
                )
            )
            order_cols.append(idx.reshape(-1)[ok])
            block_order.append(blocks)
        order = np.concatenate(order_cols).astype(np.int64)
        inverse = np.empty(dim, dtype=np.int64)
        inverse[order] = np.arange(dim)
        self.inverse = torch.as_tensor(inverse, device=device)
        blocks_in_bucket_order = np.concatenate(block_order) if block_order else np.empty(0, int)
        block_inverse = np.empty(len(spans), dtype=np.int64)
        block_inverse[blocks_in_bucket_order] = np.arange(len(spans))
        self.block_inverse = torch.as_tensor(block_inverse, device=device)

    def padded(self, raw: Any) -> Any:
        """``raw`` ``(n, dim)`` -> padded logits ``(n, n_blocks, width)``, pads = -inf."""
        return self._extended(raw).index_select(1, self.pad).view(-1, self.n_blocks, self.width)

    @staticmethod
    def _extended(raw: Any) -> Any:
        """``raw`` with one more column of -inf (the pad target), ``(n, dim + 1)``."""
        torch = _torch()
        neg = torch.full((raw.shape[0], 1), float("-inf"), device=raw.device, dtype=raw.dtype)
        return torch.cat([raw, neg], dim=1)

    def activate(self, raw: Any, gumbel_tau: float | None = None) -> Any:
        """``tanh`` on alpha columns; (gumbel-)softmax on each block. Shape ``(n, dim)``."""
        torch = _torch()
        ext = self._extended(raw)
        n = raw.shape[0]
        pieces = [torch.tanh(raw.index_select(1, self.tanh_cols))]
        for idx, n_b, w, ok in self.buckets:
            logits = ext.index_select(1, idx).view(n, n_b, w)
            if gumbel_tau is not None:
                # gumbel noise from uniforms: torch's exponential_ sampler (used by
                # F.gumbel_softmax) is several times slower on the CPU
                u = torch.rand_like(logits).clamp_(1e-10, 1.0 - 1e-7)
                logits = (logits - torch.log(-torch.log(u))) / gumbel_tau
            probs = torch.softmax(logits, dim=-1).view(n, n_b * w)
            pieces.append(probs.index_select(1, ok))
        return torch.cat(pieces, dim=1).index_select(1, self.inverse)

    def block_logsumexp(self, raw: Any) -> Any:
        """Log normaliser of every softmax block of ``raw`` ``(n, dim)``: ``(n, n_blocks)``.

        ``raw[:, c] - lse[:, b]`` is the log-probability of column ``c`` in block ``b``.
        """
        torch = _torch()
        ext = self._extended(raw)
        n = raw.shape[0]
        parts = [
            torch.logsumexp(ext.index_select(1, idx).view(n, n_b, w), dim=-1)
            for idx, n_b, w, _ in self.buckets
        ]
        return torch.cat(parts, dim=1).index_select(1, self.block_inverse)


def _torch() -> Any:
    from healthforge.generators.core.torch_support import import_torch

    return import_torch()
