"""CTGAN's networks and its critic loss (Xu et al. 2019), built lazily so importing stays
torch-free.

* generator: residual blocks ``x -> [relu(norm(fc(x))), x]`` (widths add up), then a
  linear layer to the raw ``(n, dim)`` outputs that
  :class:`~healthforge.generators.deep.transform.SpanLayout` activates;
* critic: a PacGAN critic, ``pac`` rows judged together, trained with WGAN-GP.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from healthforge.generators.core.torch_support import import_torch


@cache
def _networks() -> Any:
    """The torch module classes ``(Residual, CtganGeneratorNet, Critic)``, defined on first
    use."""
    torch = import_torch()
    nn = torch.nn

    class Residual(nn.Module):
        """``x -> [relu(bn(fc(x))), x]``: widths add up layer by layer."""

        def __init__(self, i: int, o: int, batch_norm: bool = True) -> None:
            super().__init__()
            self.fc = nn.Linear(i, o)
            # identity keeps the state-dict keys of the batch-norm version minimal
            self.bn = nn.BatchNorm1d(o) if batch_norm else nn.Identity()

        def forward(self, x: Any) -> Any:
            return torch.cat([torch.relu(self.bn(self.fc(x))), x], dim=1)

    class CtganGeneratorNet(nn.Module):
        """``(n, embedding + cond)`` noise -> ``(n, dim)`` raw outputs (pre-activation)."""

        def __init__(
            self, in_dim: int, dims: tuple[int, ...], out_dim: int, batch_norm: bool = True
        ) -> None:
            super().__init__()
            layers: list[Any] = []
            width = in_dim
            for d in dims:
                layers.append(Residual(width, d, batch_norm))
                width += d
            layers.append(nn.Linear(width, out_dim))
            self.seq = nn.Sequential(*layers)

        def forward(self, x: Any) -> Any:
            return self.seq(x)

        def forward_train(self, x: Any, cond_pos: Any | None = None) -> Any:
            """``forward`` for training, when the input (noise and conditional vector)
            needs no gradient.

            ``x`` ``(n, in_dim)`` is the whole input; or, with ``cond_pos`` ``(n,)``, ``x``
            is the noise ``(n, in_dim - cond_dim)`` and each row's conditional vector is
            one-hot at ``cond_pos``. Each layer's product is split into its part on the
            input and its part on the earlier layers' outputs, so the backward pass skips
            the gradient for the input columns (on NHEFS ~90 of ~1,500 million
            multiply-adds of a training step); with ``cond_pos`` the one-hot part is one
            weight column per row, gathered instead of multiplied (~140 million
            multiply-adds forward and backward on NHEFS, whose conditional vector is 165
            of the 293 inputs).
            """
            functional = torch.nn.functional
            k = self.seq[0].fc.in_features  # noise + conditional vector
            noise = x.shape[1]
            outs: list[Any] = []  # newest first, as the residual blocks concatenate
            for i, layer in enumerate(self.seq):
                fc = layer if i == len(self.seq) - 1 else layer.fc
                weight = fc.weight
                first = weight.shape[1] - k  # the input's columns come last
                h = functional.linear(x, weight[:, first : first + noise], fc.bias)
                if cond_pos is not None:
                    h = h + weight.index_select(1, cond_pos + (first + noise)).t()
                if outs:
                    h = h + functional.linear(torch.cat(outs, dim=1), weight[:, :first])
                if fc is not layer:
                    outs.insert(0, torch.relu(layer.bn(h)))
            return h

    class Critic(nn.Module):
        """PacGAN critic: ``pac`` rows ``(n, in_dim)`` are scored together, ``(n/pac, 1)``."""

        def __init__(
            self, in_dim: int, dims: tuple[int, ...], pac: int, dropout: float = 0.5
        ) -> None:
            super().__init__()
            self.pac = pac
            self.pacdim = in_dim * pac
            layers: list[Any] = []
            width = self.pacdim
            for d in dims:
                layers += [nn.Linear(width, d), nn.LeakyReLU(0.2)]
                if dropout > 0:
                    layers.append(nn.Dropout(dropout))
                width = d
            layers.append(nn.Linear(width, 1))
            self.seq = nn.Sequential(*layers)

        def forward(self, x: Any) -> Any:
            return self.seq(x.reshape(-1, self.pacdim))

    return Residual, CtganGeneratorNet, Critic


def critic_loss(torch: Any, critic: Any, real: Any, fake: Any, pac: int) -> tuple[Any, Any]:
    """WGAN critic loss and its gradient penalty (lambda 10).

    ``real`` and ``fake`` are ``(m, in_dim)`` with ``m`` a multiple of ``pac``; the
    interpolates use one mixing weight per pac group. Fake and real rows are scored in
    one ``(2m, in_dim)`` batch (pac groups never straddle the parts); the interpolates
    get a forward of their own so the double backward of the penalty covers ``m`` rows.
    """
    m, dim = real.shape
    k = m // pac
    scores = critic(torch.cat([fake, real], dim=0))
    alpha = torch.rand(k, 1, 1, device=real.device)
    alpha = alpha.expand(-1, pac, dim).reshape(-1, dim)
    mixed = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
    s_mixed = critic(mixed)
    (grads,) = torch.autograd.grad(s_mixed, mixed, torch.ones_like(s_mixed), create_graph=True)
    norms = grads.reshape(-1, pac * dim).norm(2, dim=1)
    return scores[:k].mean() - scores[k:].mean(), 10.0 * ((norms - 1.0) ** 2).mean()
