"""The two diffusions of ``ddpm``: Gaussian for normal scores, multinomial for categories.

:class:`Schedule` holds the cosine schedule shared by both processes, the training loss
(noise-prediction MSE plus the cross-entropy of the clean categories) and the few-step
reverse sampler (DDIM for the numeric block, the exact skip-step posterior of
multinomial diffusion for the categorical one), including the native-condition
machinery that :mod:`.ddpm_conditions` feeds it. Shapes are given per method.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from healthforge.generators.core.torch_support import import_torch

GUIDANCE = 1.0  # scale of the categorical-head guidance of conditioned numeric scores
RESAMPLE = 1  # RePaint resampling: conditioned reverse steps taken this many times (3 measured
# KS 0.17 vs 0.19 with 1 on test_native_conditions.py's rare group, at 3x cost)
CLIP = 5.5  # normal scores from the quantile transform lie within about +-5.2


class Schedule:
    """Cosine noise schedule shared by both diffusions, with losses and the sampler.

    ``abar[t]`` for ``t`` = 0..T-1 is the share of signal left after ``t + 1`` steps.
    Categorical columns are handled padded to the largest cardinality ``K`` with a mask,
    so every step is a few tensor operations whatever the number of columns.
    """

    def __init__(self, timesteps: int, d_num: int, cards: list[int], device: Any) -> None:
        torch = import_torch()
        self.torch, self.T, self.device, self._d_num = torch, timesteps, device, d_num
        s = 0.008
        grid = np.linspace(0, timesteps, timesteps + 1) / timesteps
        f = np.cos((grid + s) / (1 + s) * np.pi / 2) ** 2
        betas = np.clip(1 - f[1:] / f[:-1], 0, 0.999)
        self.abar = torch.as_tensor(np.cumprod(1 - betas), dtype=torch.float32, device=device)
        self.cards = cards
        self.n_cat = len(cards)
        kmax = max(cards, default=1)
        offsets = np.concatenate([[0], np.cumsum(cards)[:-1]]).astype(np.int64)
        pos = offsets[:, None] + np.arange(kmax)[None, :]
        valid = np.arange(kmax)[None, :] < np.asarray(cards, dtype=np.int64).reshape(-1, 1)
        self.offsets = torch.as_tensor(offsets, device=device)
        self.pad_index = torch.as_tensor(np.where(valid, pos, 0), device=device)  # (n_cat, K)
        self.valid = torch.as_tensor(valid, device=device)
        k = torch.as_tensor(np.asarray(cards, dtype=np.float32).reshape(-1, 1), device=device)
        self.uniform = self.valid.float() / k  # (n_cat, K): 1/K on valid categories
        self.k = torch.as_tensor(np.asarray(cards, dtype=np.float32), device=device)
        self.width = int(sum(cards))

    # forward process ---------------------------------------------------------------------
    def noise(self, b: int, gen: Any) -> tuple[Any, Any, Any, Any]:
        """Random draws of one training batch: t ``(b,)``, eps, keep ``(b, n_cat)``, u."""
        torch = self.torch
        t = torch.randint(0, self.T, (b,), generator=gen)
        return (
            t.to(self.device),
            torch.randn(b, self._d_num, generator=gen).to(self.device),
            torch.rand(b, self.n_cat, generator=gen).to(self.device),
            torch.rand(b, self.n_cat, generator=gen).to(self.device),
        )

    def one_hot(self, codes: Any) -> Any:
        """Flat one-hot ``(B, sum(cards))`` of codes ``(B, n_cat)``."""
        torch = self.torch
        out = torch.zeros(codes.shape[0], self.width, device=codes.device)
        if self.n_cat:
            out.scatter_(1, codes + self.offsets[None, :], 1.0)
        return out

    def padded_logits(self, flat: Any) -> Any:
        """``(B, n_cat, K)`` logits from the flat output, invalid categories at -1e9."""
        logits = flat[:, self.pad_index]
        return logits.masked_fill(~self.valid[None], -1e9)

    def loss(
        self, net: Any, num: Any, codes: Any, y: Any, t: Any, eps: Any, keep: Any, u: Any
    ) -> Any:
        """Noise-prediction MSE of the numeric block + cross-entropy of the clean categories."""
        torch = self.torch
        a = self.abar[t][:, None]
        x_num = a.sqrt() * num + (1 - a).sqrt() * eps
        # multinomial forward: keep the category with prob abar, else a uniform one
        random_codes = (u * self.k[None, :]).long().clamp_max(self.k.long()[None, :] - 1)
        x_cat = torch.where(keep < a, codes, random_codes)
        out = net(torch.cat([x_num, self.one_hot(x_cat)], dim=1), t, y)
        loss = out.new_zeros(())
        d = num.shape[1]
        if d:
            loss = loss + ((out[:, :d] - eps) ** 2).mean()
        if self.n_cat:
            logits = self.padded_logits(out[:, d:])
            ce = torch.nn.functional.cross_entropy(
                logits.reshape(-1, logits.shape[-1]), codes.reshape(-1), reduction="mean"
            )
            loss = loss + ce
        return loss

    # reverse process ---------------------------------------------------------------------
    def sample(
        self, net: Any, y: Any, steps: int, eta: float, gen: Any, clamp: Any = None
    ) -> tuple[Any, Any]:
        """Denoise ``len(y)`` rows in ``steps`` strided steps: normal scores and codes.

        ``clamp`` (from :meth:`Clamp.tensors`): ``(low, high, known, value, allowed)``,
        numeric bounds ``(d,)`` on the clean normal scores, a ``(d,)`` mask of known
        scores with their ``value``, and the ``(n_cat, K)`` allowed categories. With a
        clamp, each step is taken ``RESAMPLE`` times, noising back in between (RePaint's
        resampling), so the free columns harmonise with the clamped ones.
        """
        torch = self.torch
        b, d = len(y), self._d_num
        x_num = torch.randn(b, d, generator=gen).to(self.device)
        u = torch.rand(b, self.n_cat, generator=gen).to(self.device)
        x_cat = self._uniform_codes(u)
        repeats = 1
        if clamp is not None:
            _, _, known, value, allowed = clamp
            # constrained categorical columns: (n_cat, 1) mask of columns with a set
            clamp = (*clamp, (allowed < self.valid.float()).any(dim=1, keepdim=True))
            a_top = self.abar[-1]
            x_num = torch.where(known, a_top.sqrt() * value + (1 - a_top).sqrt() * x_num, x_num)
            repeats = RESAMPLE
        ts = np.unique(np.linspace(0, self.T - 1, steps).round().astype(np.int64))[::-1]
        for i, t in enumerate(ts):
            s = int(ts[i + 1]) if i + 1 < len(ts) else -1
            a_t = self.abar[int(t)]
            a_s = self.abar[s] if s >= 0 else torch.ones((), device=self.device)
            tt = torch.full((b,), int(t), device=self.device, dtype=torch.long)
            for r in range(repeats if s >= 0 else 1):
                if r:  # noise x_s back to step t: q(x_t | x_s)
                    keep = a_t / a_s
                    fresh = torch.randn(b, d, generator=gen).to(self.device)
                    x_num = keep.sqrt() * x_num + (1 - keep).sqrt() * fresh
                    u = torch.rand(b, self.n_cat, generator=gen).to(self.device)
                    flip = torch.rand(b, self.n_cat, generator=gen).to(self.device) >= keep
                    x_cat = torch.where(flip, self._uniform_codes(u), x_cat)
                x_num, x_cat = self._step(net, x_num, x_cat, y, tt, a_t, a_s, eta, gen, clamp)
        return x_num, x_cat

    def _uniform_codes(self, u: Any) -> Any:
        """Uniform category codes ``(B, n_cat)`` from uniforms ``u`` of that shape."""
        return (u * self.k[None, :]).long().clamp_max(self.k.long()[None, :] - 1)

    def _step(
        self,
        net: Any,
        x_num: Any,
        x_cat: Any,
        y: Any,
        tt: Any,
        a_t: Any,
        a_s: Any,
        eta: float,
        gen: Any,
        clamp: Any,
    ) -> tuple[Any, Any]:
        """One reverse step from ``t`` to ``s`` (``a_s`` = 1 at the end), clamped or not."""
        torch = self.torch
        b, d = x_num.shape
        last = bool(a_s >= 1.0)
        guide = None
        if clamp is not None and d and GUIDANCE > 0 and bool(clamp[5].any()):
            # guidance by the denoiser's own categorical head (classifier guidance,
            # Dhariwal & Nichol 2021): push the numeric scores towards values whose
            # predicted clean category lies in the allowed set
            with torch.enable_grad():
                x_in = x_num.detach().requires_grad_(True)
                out = net(torch.cat([x_in, self.one_hot(x_cat)], dim=1), tt, y)
                p0 = torch.softmax(self.padded_logits(out[:, d:]), dim=-1)
                hit = (p0 * clamp[4][None]).sum(-1).clamp_min(1e-12).log()
                (guide,) = torch.autograd.grad((hit * clamp[5].T).sum(), x_in)
            out = out.detach()
        else:
            out = net(torch.cat([x_num, self.one_hot(x_cat)], dim=1), tt, y)
        if d:
            eps = out[:, :d]
            if guide is not None:
                eps = eps - GUIDANCE * (1 - a_t).sqrt() * guide
            x0 = ((x_num - (1 - a_t).sqrt() * eps) / a_t.sqrt()).clamp(-CLIP, CLIP)
            if clamp is not None:  # ranges: the clean value must lie inside them
                x0 = torch.minimum(torch.maximum(x0, clamp[0]), clamp[1])
            eps = (x_num - a_t.sqrt() * x0) / (1 - a_t).sqrt()
            sigma = eta * ((1 - a_s) / (1 - a_t) * (1 - a_t / a_s)).clamp_min(0).sqrt()
            x_num = a_s.sqrt() * x0 + (1 - a_s - sigma**2).clamp_min(0).sqrt() * eps
            if not last and eta > 0:
                x_num = x_num + sigma * torch.randn(b, d, generator=gen).to(self.device)
            if clamp is not None:  # known scores: replaced by their noised value
                noised = a_s.sqrt() * clamp[3]
                if not last:
                    fresh = torch.randn(b, d, generator=gen).to(self.device)
                    noised = noised + (1 - a_s).sqrt() * fresh
                x_num = torch.where(clamp[2], noised, x_num)
        if self.n_cat:
            probs = self._posterior(out[:, d:], x_cat, a_t, a_s)
            if clamp is not None:
                # replacement for a categorical set: draw the clean category from the
                # model restricted to the set, then noise it forward to step s
                allowed, limited = clamp[4], clamp[5]
                p0 = torch.softmax(self.padded_logits(out[:, d:]), dim=-1) * allowed[None]
                p0 = p0 / p0.sum(-1, keepdim=True).clamp_min(1e-12)
                known_s = a_s * p0 + (1 - a_s) * self.uniform[None]
                probs = torch.where(limited[None], known_s, probs)
            x_cat = _categorical(probs, torch.rand(b, self.n_cat, 1, generator=gen), self)
        return x_num, x_cat

    def _posterior(self, flat_logits: Any, x_t: Any, a_t: Any, a_s: Any) -> Any:
        """Exact ``p(x_s | x_t) = sum_c p(x_0 = c | x_t) q(x_s | x_t, x_0 = c)``, ``(B, n_cat, K)``.

        With ``q(x_t | x_s) = a x_s + (1 - a) / K`` (``a = abar_t / abar_s``) and
        ``q(x_s | x_0) = abar_s x_0 + (1 - abar_s) / K``, the normaliser of the posterior
        for ``x_0 = c`` is ``q(x_t | x_0 = c) = abar_t [x_t = c] + (1 - abar_t) / K``.
        """
        torch = self.torch
        p0 = torch.softmax(self.padded_logits(flat_logits), dim=-1)
        onehot = torch.nn.functional.one_hot(x_t, p0.shape[-1]).float()
        uni = self.uniform[None]
        step = a_t / a_s
        forward = step * onehot + (1 - step) * uni  # q(x_t | x_s = j) over j
        z = a_t * onehot + (1 - a_t) * uni  # q(x_t | x_0 = c) over c
        w = torch.where(self.valid[None], p0 / z.clamp_min(1e-12), 0.0)
        probs = forward * (a_s * w + (1 - a_s) * uni * w.sum(-1, keepdim=True))
        return probs * self.valid[None]


def _categorical(probs: Any, u: Any, schedule: Schedule) -> Any:
    """One draw per ``(B, n_cat)`` from unnormalised ``probs`` ``(B, n_cat, K)``."""
    cdf = probs.cumsum(-1)
    total = cdf[..., -1:]
    u = u.to(probs.device) * total
    codes = (cdf < u).sum(-1)
    return codes.clamp_max(schedule.k.long()[None, :] - 1)


def fixed_validation(tensors: list[Any], schedule: Schedule, gen: Any, device: Any) -> list[Any]:
    """Validation rows repeated with fixed noise and evenly spread timesteps.

    The loss on this set is a deterministic function of the weights, so successive checks
    compare the model, not the luck of the noise draw.
    """
    torch = import_torch()
    num, codes, y = tensors
    m = len(num)
    repeats = int(min(64, max(1, math.ceil(4096 / max(m, 1)))))
    num, codes, y = (t.repeat(repeats, *([1] * (t.dim() - 1))) for t in (num, codes, y))
    b = len(num)
    t = torch.linspace(0, schedule.T - 1, b).round().long()
    _, eps, keep, u = schedule.noise(b, gen)
    return [x.to(device) for x in (num, codes, y, t, eps, keep, u)]
