"""TVAE's reconstruction loss as one fused step, on a column order made for it.

The reference loss (:meth:`TvaeGenerator._loss`, still used by DP-TVAE and as the check
in the tests) indexes the alpha and one-hot columns out of the decoder output with
gathers, runs ``logsumexp`` per group of softmax blocks and lets autograd scatter the
gradients back: on NHEFS (347 columns, batch 500, one thread) that bookkeeping -
zero-filled gradient buffers, index/index_put and ~40 small kernels forward and back -
took more time than the encoder and decoder matmuls.

Here the columns are permuted once per fit into a *training order*:

    [alpha columns | softmax blocks grouped by width, each group contiguous]

so every piece of the loss is a slice or a ``(n, blocks, width)`` view, never a
gather. :class:`FusedReconstruction` computes the loss *and* its gradient in one
pass (the gradient of a block's cross-entropy is ``softmax - one_hot``; of the Gaussian
term a closed form), writing the gradient into one preallocated ``(n, dim)`` buffer
that backward only scales. It is the same function of the same parameters as the
reference, so the same model is learnt: the tests compare value and gradients.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

from healthforge.generators.core.torch_support import import_torch
from healthforge.generators.deep.transform import NeuralTransformer


@dataclass(frozen=True)
class TrainingOrder:
    """A permutation of the transformer's columns for the fused loss.

    Attributes:
        order: ``(dim,)`` transformer column of each training column
            (``train = data[:, order]``).
        inverse: ``(dim,)`` with ``inverse[order] = arange(dim)``.
        n_alpha: the first ``n_alpha`` training columns are the ``tanh`` (alpha)
            columns, in the transformer's ``tanh_columns`` order.
        groups: ``(start, n_blocks, width)`` per group of equal-width softmax blocks;
            the groups tile columns ``n_alpha .. dim`` with no gaps.
    """

    order: np.ndarray
    inverse: np.ndarray
    n_alpha: int
    groups: tuple[tuple[int, int, int], ...]

    @classmethod
    def of(cls, transformer: NeuralTransformer) -> TrainingOrder:
        tanh_cols = np.asarray(transformer.tanh_columns, dtype=np.int64)
        spans = transformer.softmax_spans
        widths = np.array([size for _, size in spans], dtype=np.int64)
        cols = [tanh_cols]
        groups = []
        start = len(tanh_cols)
        for width in np.unique(widths):  # ascending; blocks keep their column order
            blocks = np.flatnonzero(widths == width)
            cols += [np.arange(spans[b][0], spans[b][0] + width) for b in blocks]
            groups.append((start, len(blocks), int(width)))
            start += len(blocks) * int(width)
        order = np.concatenate(cols).astype(np.int64) if cols else np.zeros(0, np.int64)
        if len(order) != transformer.dim or len(np.unique(order)) != transformer.dim:
            # every column must be an alpha or in exactly one block, else the loss is wrong
            raise ValueError("tvae: columns are not tiled by alphas and softmax blocks")
        inverse = np.empty_like(order)
        inverse[order] = np.arange(len(order))
        return cls(order, inverse, len(tanh_cols), tuple(groups))


def permute_networks(encoder: Any, decoder: Any, order: np.ndarray) -> None:
    """Reorder, in place, the encoder's input and the decoder's output columns.

    With ``order`` from :class:`TrainingOrder` the networks read and write the training
    order; with its ``inverse`` they go back to the transformer's order (done before
    the decoder is saved, so sampling and model files never see the training order).
    Same initial weights, same function: only the columns' positions move.
    """
    torch = import_torch()
    index = torch.as_tensor(order, device=decoder.sigma.device)
    first = encoder.seq[0]  # Linear(dim, compress_dims[0])
    last = decoder.seq[-1]  # Linear(decompress_dims[-1], dim)
    with torch.no_grad():
        first.weight.copy_(first.weight.index_select(1, index))
        last.weight.copy_(last.weight.index_select(0, index))
        last.bias.copy_(last.bias.index_select(0, index))
        decoder.sigma.copy_(decoder.sigma.index_select(0, index))


# a block whose softmax denominator, after the row-wide shift, falls below this would
# lose float32 precision: that batch takes the per-group (block-max) path instead
TINY_SUM = 1e-30


class FusedReconstruction:
    """Reconstruction negative log-likelihood of a batch, summed over rows (a scalar).

    Equal to ``sum over rows of (gauss + ce)`` in :meth:`TvaeGenerator._loss`, with its
    gradient computed in the same pass. Softmax blocks are normalised all at once: one
    shift by the row's largest logit, one ``exp``, the block sums as one matmul with a
    ``(n_soft, n_blocks)`` 0/1 membership matrix. If a block's sum after that shift is
    below ``TINY_SUM`` (its logits sit ~70 below the row's largest), the batch is
    recomputed block by block with each block's own maximum; ``fallbacks`` counts how
    often (reported by the generator).

    Args:
        layout: the :class:`TrainingOrder` of the decoder output and the rows.
        device: torch device of the training tensors.
    """

    def __init__(self, layout: TrainingOrder, device: Any) -> None:
        torch = import_torch()
        self.layout = layout
        widths = [w for _, n_b, w in layout.groups for _ in range(n_b)]
        self.n_blocks = len(widths)
        block_of = np.repeat(np.arange(self.n_blocks), widths).astype(np.int64)
        member = np.zeros((len(block_of), self.n_blocks), dtype=np.float32)
        member[np.arange(len(block_of)), block_of] = 1.0
        self.block_of = torch.as_tensor(block_of, device=device)
        self.member = torch.as_tensor(member, device=device)
        self.fallbacks = 0
        self._function = _function()

    def __call__(self, raw: Any, sigma: Any, real: Any, observed: Any) -> Any:
        """``raw`` decoder output ``(n, dim)`` and ``real`` rows ``(n, dim)``, both in
        training order; ``sigma`` ``(n_alpha,)``; ``observed`` ``(n, n_alpha)``, 1 where
        the alpha's value is present. Returns a scalar tensor."""
        return self._function.apply(raw, sigma, real, observed, self)

    def softmax_terms(self, soft: Any, probs: Any) -> Any:
        """Sum of every block's log-normaliser of ``soft`` ``(n, n_soft)``; writes each
        block's softmax into ``probs`` (same shape)."""
        torch = import_torch()
        top = soft.amax(dim=1, keepdim=True)
        torch.sub(soft, top, out=probs)
        probs.exp_()
        sums = probs @ self.member  # (n, n_blocks)
        if self.n_blocks and float(sums.min()) < TINY_SUM:
            self.fallbacks += 1
            return self._per_group(soft, probs)
        probs.div_(sums.index_select(1, self.block_of))
        return top.sum() * self.n_blocks + sums.log().sum()

    def _per_group(self, soft: Any, probs: Any) -> Any:
        torch = import_torch()
        n, a = soft.shape[0], self.layout.n_alpha
        total = soft.new_zeros(())
        for start, n_blocks, width in self.layout.groups:
            cols = slice(start - a, start - a + n_blocks * width)
            view = soft[:, cols].view(n, n_blocks, width)
            out = probs[:, cols].view(n, n_blocks, width)
            top = view.amax(dim=-1, keepdim=True)
            torch.sub(view, top, out=out)
            out.exp_()
            sums = out.sum(dim=-1, keepdim=True)
            out.div_(sums)
            total += (top + sums.log()).sum()
        return total


@cache
def _function() -> Any:
    torch = import_torch()

    class Function(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, raw: Any, sigma: Any, real: Any, observed: Any, loss: Any) -> Any:
            a = loss.layout.n_alpha
            grad = torch.empty_like(raw)
            # Gaussian NLL of alpha = tanh(raw) with a learned sigma, missing values masked
            t = torch.tanh(raw[:, :a])
            diff = real[:, :a] - t
            scaled = diff * sigma.pow(-2) * observed  # -d/dt of diff^2 / (2 sigma^2)
            seen = observed.sum(0)
            gauss = 0.5 * (scaled * diff).sum() + (seen * sigma.log()).sum()
            torch.mul(scaled, t * t - 1.0, out=grad[:, :a])
            # d/d sigma: sum over rows of observed * (1/sigma - diff^2/sigma^3)
            grad_sigma = (seen - (scaled * diff).sum(0)) / sigma
            # cross-entropy of every block: log-normaliser - the real level's logit; the
            # softmax goes straight into the gradient buffer (softmax - one_hot)
            soft, soft_real = raw[:, a:], real[:, a:]
            ce = loss.softmax_terms(soft, grad[:, a:]) - (soft_real * soft).sum()
            grad[:, a:].sub_(soft_real)
            ctx.save_for_backward(grad, grad_sigma)
            return gauss + ce

        @staticmethod
        def backward(ctx: Any, out: Any) -> tuple[Any, ...]:
            grad, grad_sigma = ctx.saved_tensors
            return grad * out, grad_sigma * out, None, None, None

    return Function
