"""The denoising network of ``ddpm``: an MLP with timestep and class embeddings.

torch is imported when the network is built, never at module import.
"""

from __future__ import annotations

import math
from typing import Any

from healthforge.generators.core.torch_support import import_torch


def build_net(arch: dict[str, Any]) -> Any:
    """The denoiser: MLP on ``[x_num, one-hot x_cat]`` plus time and label embeddings.

    Input ``(B, d_num + sum(cards))``; output ``(B, d_num + sum(cards))``: predicted noise
    of the numeric block, then logits of the clean category of each categorical column.
    """
    torch = import_torch()
    nn = torch.nn

    class Denoiser(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            h = arch["hidden"]
            d = arch["d_num"] + sum(arch["cards"])
            self.half = 64
            self.time = nn.Sequential(nn.Linear(2 * self.half, h), nn.SiLU(), nn.Linear(h, h))
            self.label = nn.Embedding(arch["n_classes"], h) if arch["n_classes"] else None
            self.inp = nn.Linear(max(d, 1), h)
            blocks: list[Any] = []
            for _ in range(arch["layers"]):
                blocks += [nn.SiLU(), nn.Linear(h, h)]
            self.body = nn.Sequential(*blocks, nn.SiLU())
            self.out = nn.Linear(h, max(d, 1))
            freqs = torch.exp(-math.log(10_000.0) * torch.arange(self.half) / self.half)
            self.register_buffer("freqs", freqs, persistent=False)

        def forward(self, x: Any, t: Any, y: Any) -> Any:
            angles = t.float()[:, None] * self.freqs[None, :]
            h = self.inp(x) + self.time(torch.cat([angles.sin(), angles.cos()], dim=1))
            if self.label is not None:
                h = h + self.label(y)
            return self.out(self.body(h))

    return Denoiser()
