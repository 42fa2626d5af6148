"""CTGAN's WGAN-GP critic written out layer by layer, for speed on the CPU (``pac = 1``).

Same model and loss as :func:`~healthforge.generators.deep.ctgan_nets.critic_loss` on a
:class:`Critic` (``Linear -> LeakyReLU(0.2) -> Dropout`` blocks, then ``Linear(., 1)``),
computed with far fewer floating-point operations:

* **one multiplier per hidden unit.** ``dropout(leaky_relu(h)) = h * coef`` with
  ``coef = (1 if h > 0 else 0.2) * keep / (1 - p)``, constant almost everywhere; ``coef``
  is both the activation and its derivative. The dropout masks come from numpy's bit
  generator: torch's ``bernoulli_`` took ~2.6 ms per 1000 x 256 mask on the benchmark
  CPU, about as long as the layer's matrix product.
* **the conditional vector by lookup.** Its part of the first layer is one column of the
  weight per row (it is one-hot), gathered instead of multiplied: the conditional vector
  is 165 of the critic's 512 inputs on NHEFS.
* **the gradient penalty in closed form.** The interpolates' first-layer outputs are the
  same interpolation of the real and fake rows' (the layer is affine), so they cost no
  product. The score's gradient with respect to the input is written out,
  ``g = ((w_out * c_L) @ W_L * c_{L-1}) ... @ W_1``; the penalty's backward is then a
  plain backward through that expression. ``torch.autograd.grad(create_graph=True)``
  computes the same ``g``, but its backward also pushes zero tensors through the
  interpolates' forward graph (the second derivative of leaky ReLU is zero), which cost
  as much as the products that matter. Only the norm of ``g`` is needed: it is taken
  through the Gram matrix ``W_1 W_1^T`` (:func:`_gram_norm_sq`), so ``g`` itself, the
  widest product of the penalty, is never formed.

Training is the same algorithm as before; the random streams differ (numpy masks), so
rows are not bit-identical to the module path's.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np

from healthforge.generators.core.torch_support import import_torch

SLOPE = 0.2  # LeakyReLU slope of ctgan_nets.Critic


class FastCritic:
    """Functional forward passes and WGAN-GP loss over a ``Critic``'s own parameters.

    Args:
        critic: a ``ctgan_nets`` ``Critic`` built with ``pac = 1``; its parameters are
            used (and trained) in place, so its optimiser is unchanged.
        act_dim: width of the activated generator output; the remaining
            ``in_dim - act_dim`` inputs are the one-hot conditional vector.
        dropout: the critic's dropout rate.
        rng: numpy generator for the dropout masks (seeded: reproducible fits).
    """

    def __init__(self, critic: Any, act_dim: int, dropout: float, rng: np.random.Generator):
        torch = import_torch()
        if critic.pac != 1:
            raise ValueError("FastCritic needs a critic with pac = 1")
        linears = [m for m in critic.seq if isinstance(m, torch.nn.Linear)]
        self.hidden, self.out = linears[:-1], linears[-1]
        self.act_dim = act_dim
        self.dropout = dropout
        self.rng = rng
        # keep a unit when its 16 random bits are >= threshold: P(drop) = p to 1.5e-5
        self.threshold = round(dropout * 65536)

    def _coef(self, h: Any) -> Any:
        """``(n, width)`` multipliers: leaky-ReLU slope x dropout keep / (1 - p)."""
        torch = import_torch()
        with torch.no_grad():
            scale = 1.0 / (1.0 - self.dropout)
            # sign(h) * 0.4 + 0.6 is 1 where h > 0 and 0.2 where h < 0 (h = 0: the
            # product is 0 whatever coef is): several times faster than torch.where
            coef = torch.sign(h).mul_((1 - SLOPE) / 2 * scale).add_((1 + SLOPE) / 2 * scale)
            if self.dropout > 0:
                if h.device.type == "cpu":
                    bits = np.frombuffer(self.rng.bytes(2 * h.numel()), dtype=np.uint16)
                    keep = torch.from_numpy((bits >= self.threshold).view(np.uint8))
                else:
                    keep = torch.rand(h.shape, device=h.device) >= self.dropout
                coef = coef * keep.view(h.shape)
        return coef

    def first_layer(self, x: Any, cond_pos: Any | None) -> Any:
        """First-layer pre-activations ``(n, width)`` of rows ``[x, onehot(cond_pos)]``.

        ``x`` ``(n, act_dim)``; ``cond_pos`` ``(n,)`` is the hot position of each row's
        conditional vector (``None`` when there is none).
        """
        layer = self.hidden[0]
        weight = layer.weight
        h = torch_linear(x, weight[:, : self.act_dim], layer.bias)
        if cond_pos is not None:
            h = h + weight.index_select(1, cond_pos + self.act_dim).t()
        return h

    def _rest(self, h: Any, coefs: list[Any] | None = None) -> Any:
        """Scores ``(n, 1)`` from first-layer pre-activations ``h``; appends multipliers."""
        a = h
        for i, layer in enumerate(self.hidden):
            if i:
                h = torch_linear(a, layer.weight, layer.bias)
            coef = self._coef(h)
            if coefs is not None:
                coefs.append(coef)
            a = h * coef
        return torch_linear(a, self.out.weight, self.out.bias)

    def score(self, x: Any, cond_pos: Any | None) -> Any:
        """Critic scores ``(n, 1)`` of rows ``[x, onehot(cond_pos)]`` (fresh dropout)."""
        return self._rest(self.first_layer(x, cond_pos))

    def loss(
        self, fake: Any, real: Any, cond_fake: Any | None, cond_real: Any | None
    ) -> tuple[Any, Any]:
        """WGAN critic loss and its gradient penalty (lambda 10), two scalars.

        ``fake`` and ``real`` ``(m, act_dim)``; ``cond_*`` ``(m,)`` hot positions of
        their conditional vectors (or ``None``). Each interpolate mixes one real and one
        fake row with its own weight, as the module path does for ``pac = 1``.
        """
        torch = import_torch()
        m = fake.shape[0]
        both_cond = None if cond_fake is None else torch.cat([cond_fake, cond_real])
        h1 = self.first_layer(torch.cat([fake, real]), both_cond)
        scores = self._rest(h1)
        loss = scores[:m].mean() - scores[m:].mean()

        alpha = torch.rand(m, 1, device=fake.device)
        coefs: list[Any] = []
        with torch.no_grad():  # only the interpolates' activation pattern is needed
            self._rest(torch.lerp(h1[:m], h1[m:], alpha), coefs)
        # d score / d input, differentiable in the weights (the coefs are constants)
        delta = coefs[-1] * self.out.weight
        for layer, coef in zip(self.hidden[:0:-1], coefs[-2::-1], strict=True):
            delta = (delta @ layer.weight) * coef
        # |delta @ W_1| per row, through the Gram matrix W_1 W_1^T (_gram_norm_sq)
        sq = _gram_norm_sq().apply(delta, self.hidden[0].weight)
        norms = sq.clamp_min(1e-12).sqrt()
        return loss, 10.0 * ((norms - 1.0) ** 2).mean()


@cache
def _gram_norm_sq() -> Any:
    """autograd Function ``(delta (m, k), weight (k, d)) -> |delta @ weight|^2 (m,)``.

    Through ``G = weight @ weight.T`` ``(k, k)``: ``|delta_i W|^2 = delta_i G delta_i^T``,
    and the backward uses that ``G`` is symmetric. With ``k`` = 256 hidden units and
    ``d`` = 512 inputs (NHEFS) that is 4 products of ``k x k`` size instead of 3 of
    ``m x k x d`` (forward, and the backward's two) - the input gradient itself is
    never formed.
    """
    torch = import_torch()

    class GramNormSq(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, delta: Any, weight: Any) -> Any:
            q = delta @ (weight @ weight.t())
            ctx.save_for_backward(delta, weight, q)
            return (q * delta).sum(dim=1)

        @staticmethod
        def backward(ctx: Any, grad: Any) -> tuple[Any, Any]:
            delta, weight, q = ctx.saved_tensors
            weighted = grad[:, None] * delta
            d_gram = delta.t() @ weighted  # symmetric
            return 2.0 * grad[:, None] * q, 2.0 * (d_gram @ weight)

    return GramNormSq


def torch_linear(x: Any, weight: Any, bias: Any) -> Any:
    return import_torch().nn.functional.linear(x, weight, bias)
