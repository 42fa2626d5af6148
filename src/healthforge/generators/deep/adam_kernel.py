"""Adam through torch's fused kernel, without constructing a ``torch.optim`` optimizer.

Constructing any ``torch.optim.Optimizer`` imports ``torch._dynamo`` (torch 2.13), which
took 1.1 s per process on the 2-core benchmark machine at load average 3, and 3-4 s at
load 10 (``python -X importtime``): a fixed cost of every fresh fit, about an eighth of
a 300-epoch TVAE fit on NHEFS (8.1 s timed). The update
itself is one call of ``torch._fused_adam_``, the kernel ``torch.optim.Adam(fused=True)``
runs, with the same state (``exp_avg``, ``exp_avg_sq``, a float32 step per parameter):
same update, bit for bit (the tests compare trajectories).

Devices without the fused kernel (anything but CPU and CUDA) use ``torch.optim.Adam``:
see :func:`make_adam`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from healthforge.generators.core.torch_support import fused_adam, import_torch


class KernelAdam:
    """``torch.optim.Adam(params, lr, betas, eps, weight_decay, fused=True)`` (L2 weight
    decay, as Adam, not AdamW), with only ``step()`` and ``zero_grad()``.

    Args:
        params: the tensors to optimise (each ``requires_grad``).
        lr: learning rate.
        weight_decay: L2 penalty added to the gradient.
        betas: decay rates of the moment estimates.
        eps: added to the denominator.
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float,
        weight_decay: float = 0.0,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
    ) -> None:
        torch = import_torch()
        self.params = list(params)
        self.lr, self.weight_decay, self.betas, self.eps = lr, weight_decay, betas, eps
        self.exp_avgs = [torch.zeros_like(p) for p in self.params]
        self.exp_avg_sqs = [torch.zeros_like(p) for p in self.params]
        # float32 step counters on the parameter's device, as torch.optim's fused path
        self.steps = [torch.zeros((), dtype=torch.float32, device=p.device) for p in self.params]

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.params:
            p.grad = None

    def step(self) -> None:
        """One Adam update of every parameter that has a gradient (as torch.optim)."""
        torch = import_torch()
        live = [i for i, p in enumerate(self.params) if p.grad is not None]
        if not live:
            return
        steps = [self.steps[i] for i in live]
        torch._foreach_add_(steps, 1)
        with torch.no_grad():
            torch._fused_adam_(
                [self.params[i] for i in live],
                [self.params[i].grad for i in live],
                [self.exp_avgs[i] for i in live],
                [self.exp_avg_sqs[i] for i in live],
                [],
                steps,
                amsgrad=False,
                lr=self.lr,
                beta1=self.betas[0],
                beta2=self.betas[1],
                weight_decay=self.weight_decay,
                eps=self.eps,
                maximize=False,
                grad_scale=None,
                found_inf=None,
            )


def make_adam(
    params: Iterable[Any],
    lr: float,
    weight_decay: float,
    device: Any,
    betas: tuple[float, float] = (0.9, 0.999),
) -> Any:
    """:class:`KernelAdam` where torch has the fused kernel (CPU, CUDA), else
    ``torch.optim.Adam`` - the same update either way."""
    torch = import_torch()
    if fused_adam(device) and hasattr(torch, "_fused_adam_"):
        return KernelAdam(params, lr=lr, weight_decay=weight_decay, betas=betas)
    return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay, betas=betas)
