"""TabDDPM: denoising diffusion for mixed-type tables, sized for a laptop CPU.

Kotelnikov A, Baranchuk D, Rubachev I, Babenko A (2023). TabDDPM: Modelling tabular data
with diffusion models. ICML. Numeric columns follow Gaussian diffusion (Ho et al. 2020)
after a quantile transform to normal scores; categorical columns follow multinomial
diffusion (Hoogeboom et al. 2021), where noise replaces a category by a uniformly drawn
one. One MLP with a timestep embedding denoises both: it predicts the Gaussian noise of
the numeric block and the logits of the clean category of every categorical column.

What differs from the reference implementation, and why:

* **Few sampling steps.** Training uses ``T`` = 1000 steps of a cosine schedule, but
  sampling visits only ``sample_steps`` (default 50) of them: DDIM (Song et al. 2021)
  for the numeric block and the exact skip-step posterior of multinomial diffusion for
  the categorical one (``q(x_s | x_t, x_0)`` has a closed form for any ``s < t``, and the
  model's ``p(x_0 | x_t)`` is marginalised out exactly). 10k NHEFS rows took 13.5
  CPU-seconds on one thread (benchmarks/results/ddpm_latent.md), not minutes.
* **Early stopping** on a validation loss computed with fixed noise (a deterministic
  function of the weights, so checks are comparable), on an exponential moving average
  of the weights, instead of a fixed iteration count.
* **Class-conditioning on the target.** When the schema names a discrete target, it is
  not diffused: its value is drawn from the training proportions and fed to the denoiser
  as an embedding (as TabDDPM does for classification tables). The target's rate is then
  right by construction - an unconditional sampler can drift towards the majority class.
* **Native conditions** (``conditioning = "native"``, :mod:`.ddpm_conditions`): a
  categorical set steers the numeric scores by guidance from the denoiser's own
  category head and is imposed by replacement (the clean category drawn within the set,
  noised forward); a known numeric value is replaced by its noised value at each step;
  a numeric range clamps the predicted clean score. A conditioned target's class is
  drawn from P(class | conditions), estimated from a small pilot sample.
* **Missing values.** A numeric column with missing values gets a two-category
  indicator column diffused with the categorical block (its value is filled with the
  median normal score for training); a discrete column gets "missing" as one more
  category.
* **Heaped columns.** Numeric columns with few distinct values (coarsely rounded
  measurements, counts) are snapped to their observed values after the inverse
  quantile transform, since off-grid values are a strong tell for detectors.

Weights are stored as CPU tensors (``module_to_cpu_state``), so a model trained on a GPU
loads and samples on a CPU.
"""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np
from sklearn.preprocessing import QuantileTransformer

from healthforge.errors import HealthForgeError
from healthforge.generators.base import Generator
from healthforge.generators.conditions import EncodedConstraint
from healthforge.generators.ddpm_conditions import Clamp, encoded_mask
from healthforge.generators.torch_support import (
    EarlyStopping,
    configure,
    import_torch,
    module_to_cpu_state,
    select_device,
)
from healthforge.progress import ProgressCallback, report

MAX_SUPPORT = 64  # numeric columns with at most this many values are snapped to them
MAX_CLASSES = 100  # a discrete target with more categories is diffused, not conditioned on
QT_ROWS = 10_000  # the quantile transform is fitted on at most this many rows
SAMPLE_BATCH = 10_000  # rows denoised at once when sampling
GUIDANCE = 1.0  # scale of the categorical-head guidance of conditioned numeric scores
RESAMPLE = 1  # RePaint resampling: conditioned reverse steps taken this many times (3 measured
# KS 0.17 vs 0.19 with 1 on tests/generators/test_native_conditions.py's rare group, at 3x cost)
PILOT_ROWS = 1_000  # unconditioned rows that estimate P(class | conditions)
_CLIP = 5.5  # normal scores from the quantile transform lie within about +-5.2


class DdpmGenerator(Generator):
    """TabDDPM-style diffusion: Gaussian for numeric, multinomial for categorical columns.

    Args:
        hidden: width of the denoising MLP.
        layers: number of hidden layers of the MLP.
        batch_size: rows per training step (capped at the training rows).
        lr: Adam learning rate.
        weight_decay: Adam weight decay.
        max_steps: upper bound on optimiser steps; early stopping usually ends sooner.
        check_every: optimiser steps between validation checks.
        patience: checks without improvement before training stops.
        validation: share of rows held out for the validation loss (at least 1 row).
        ema: decay of the moving average of the weights used for checks and sampling.
        timesteps: diffusion steps ``T`` of training.
        sample_steps: steps visited when sampling (strided; at most ``timesteps``).
        eta: DDIM noise for the numeric block, 0 (deterministic) to 1 (DDPM-like, the
            default): on pima, eta = 0 inflated numeric standard deviations by 20-40%
            (an imperfect noise estimate is never corrected), eta = 1 matched them.
        condition_on_target: feed a discrete target to the denoiser instead of diffusing it.
        device: ``"auto"`` (GPU when present), ``"cpu"``, ``"cuda"``, ...
        threads: torch CPU threads; ``None`` uses every core. One by default: this MLP's
            operations are too short to split, and with other work on the machine two
            threads measured 15-70x slower per training step than one (threads waiting
            at barriers) and 1.5-2x slower when sampling.
        seed: seed for fitting and the default seed for sampling.
    """

    name = "ddpm"
    summary = "TabDDPM diffusion (Gaussian + multinomial), few-step sampling; needs torch."
    family = "deep"
    high_dimensional = False
    conditioning = "native"

    def __init__(
        self,
        hidden: int = 256,
        layers: int = 3,
        batch_size: int = 256,
        lr: float = 1e-3,
        weight_decay: float = 1e-5,
        max_steps: int = 20_000,
        check_every: int = 200,
        patience: int = 6,
        validation: float = 0.1,
        ema: float = 0.995,
        timesteps: int = 1000,
        sample_steps: int = 50,
        eta: float = 1.0,
        condition_on_target: bool = True,
        device: str | None = "auto",
        threads: int | None = 1,
        seed: int = 0,
    ) -> None:
        super().__init__(seed=seed)
        self.hidden = hidden
        self.layers = layers
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.max_steps = max_steps
        self.check_every = check_every
        self.patience = patience
        self.validation = validation
        self.ema = ema
        self.timesteps = timesteps
        self.sample_steps = sample_steps
        self.eta = eta
        self.condition_on_target = condition_on_target
        self.device = device
        self.threads = threads

    # -- layout of the encoded table ---------------------------------------------------
    def _check_params(self) -> None:
        checks = [
            (int(self.hidden) >= 1 and int(self.layers) >= 1, "hidden and layers must be >= 1"),
            (int(self.batch_size) >= 1, "batch_size must be >= 1"),
            (int(self.max_steps) >= 1 and int(self.check_every) >= 1, "steps must be >= 1"),
            (0.0 < float(self.validation) < 0.5, "validation must be in (0, 0.5)"),
            (0.0 <= float(self.ema) < 1.0, "ema must be in [0, 1)"),
            (int(self.timesteps) >= 2, "timesteps must be >= 2"),
            (1 <= int(self.sample_steps) <= int(self.timesteps), "need 1 <= sample_steps <= T"),
            (0.0 <= float(self.eta) <= 1.0, "eta must be in [0, 1]"),
        ]
        for ok, message in checks:
            if not ok:
                raise HealthForgeError(
                    f"ddpm: {message}", "see `healthforge generators` for defaults"
                )

    def _layout(self, X: np.ndarray) -> None:
        """Decide which encoded columns are diffused how, and which one conditions."""
        d = X.shape[1]
        finite = np.isfinite(X)
        target = self.schema_.target
        names = [c.name for c in self.schema_.modelled]
        self.cond_col_: int | None = None
        if self.condition_on_target and target in names:
            j = names.index(target)
            if self.discrete_[j] and 1 < int(self.cardinalities_[j]) <= MAX_CLASSES:
                self.cond_col_ = j
        self.num_cols_ = np.array([j for j in range(d) if not self.discrete_[j]], dtype=np.int64)
        # categorical block: (encoded column, number of categories, kind)
        cats: list[tuple[int, int, str]] = []
        for j in range(d):
            if j == self.cond_col_ or not self.discrete_[j]:
                continue
            k = max(int(self.cardinalities_[j]), 1)
            cats.append((j, k + 1 if not finite[:, j].all() else k, "value"))
        for j in self.num_cols_:
            if not finite[:, j].all():
                cats.append((int(j), 2, "missing"))
        self.cat_cols_ = cats
        self.n_classes_ = 0
        if self.cond_col_ is not None:
            k = int(self.cardinalities_[self.cond_col_])
            self.n_classes_ = k + 1 if not finite[:, self.cond_col_].all() else k

    def _to_model_space(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Normal scores ``(n, d_num)``, category codes ``(n, n_cat)`` and labels ``(n,)``."""
        n = len(X)
        num = np.zeros((n, len(self.num_cols_)), dtype=np.float32)
        if len(self.num_cols_):
            scores = self.quantile_.transform(X[:, self.num_cols_])
            # a missing value sits at the median score; its indicator carries the fact
            num[:] = np.nan_to_num(scores, nan=0.0)
        codes = np.zeros((n, len(self.cat_cols_)), dtype=np.int64)
        for c, (j, k, kind) in enumerate(self.cat_cols_):
            col = X[:, j]
            if kind == "missing":
                codes[:, c] = ~np.isfinite(col)
            else:
                missing_code = k - 1  # only used when the column has missing values
                codes[:, c] = np.where(np.isfinite(col), np.nan_to_num(col), missing_code)
        labels = np.zeros(n, dtype=np.int64)
        if self.cond_col_ is not None:
            col = X[:, self.cond_col_]
            labels[:] = np.where(np.isfinite(col), np.nan_to_num(col), self.n_classes_ - 1)
        return num, codes, labels

    # -- fitting -----------------------------------------------------------------------
    def _fit(self, X: np.ndarray, progress: ProgressCallback | None) -> None:
        self._check_params()
        torch = import_torch()
        gen = configure(int(self.seed), self.threads)
        device = select_device(self.device)
        rng = np.random.default_rng(self.seed)
        n = len(X)
        if n < 10:
            raise HealthForgeError(f"ddpm needs at least 10 rows to train, not {n}")
        self._layout(X)
        if len(self.num_cols_):
            self.quantile_ = QuantileTransformer(
                output_distribution="normal",
                n_quantiles=max(min(1000, n), 2),
                subsample=QT_ROWS,
                random_state=int(self.seed) & 0xFFFFFFFF,
            ).fit(X[:, self.num_cols_])
        self.supports_ = [_small_support(X[:, j]) for j in self.num_cols_]
        num, codes, labels = self._to_model_space(X)
        if self.n_classes_:
            self.class_probs_ = np.bincount(labels, minlength=self.n_classes_) / n

        # hold out a validation share, stratified by label so rare classes appear in both
        val_mask = np.zeros(n, dtype=bool)
        for label in np.unique(labels):
            idx = rng.permutation(np.flatnonzero(labels == label))
            val_mask[idx[: round(len(idx) * float(self.validation))]] = True
        if not val_mask.any():
            val_mask[rng.integers(n)] = True

        self.arch_ = {
            "d_num": num.shape[1],
            "cards": [k for _, k, _ in self.cat_cols_],
            "n_classes": self.n_classes_,
            "hidden": int(self.hidden),
            "layers": int(self.layers),
        }
        net = _build_net(self.arch_).to(device)
        schedule = _Schedule(int(self.timesteps), self.arch_["d_num"], self.arch_["cards"], device)
        tensors = [torch.as_tensor(a) for a in (num, codes, labels)]
        train = [t[torch.as_tensor(~val_mask)].to(device) for t in tensors]
        val = _fixed_validation(
            [t[torch.as_tensor(val_mask)] for t in tensors], schedule, gen, device
        )

        ema_net = copy.deepcopy(net)
        for p in ema_net.parameters():
            p.requires_grad_(False)
        opt = torch.optim.AdamW(net.parameters(), lr=float(self.lr), weight_decay=self.weight_decay)
        stopper = EarlyStopping(patience=int(self.patience), min_delta=1e-4)
        n_train = len(train[0])
        batch = min(int(self.batch_size), n_train)
        self.loss_history_: list[float] = []
        step = 0
        while step < int(self.max_steps):
            order = torch.randperm(n_train, generator=gen).to(device)
            for start in range(0, n_train - batch + 1, batch):
                idx = order[start : start + batch]
                noise = schedule.noise(batch, gen)
                loss = schedule.loss(net, *(t[idx] for t in train), *noise)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                with torch.no_grad():
                    for e, p in zip(ema_net.parameters(), net.parameters(), strict=True):
                        e.lerp_(p, 1.0 - float(self.ema))
                step += 1
                if step % int(self.check_every) == 0 or step >= int(self.max_steps):
                    with torch.no_grad():
                        val_loss = float(schedule.loss(ema_net, *val))
                    self.loss_history_.append(val_loss)
                    report(progress, "training", step, int(self.max_steps))
                    if stopper.step(val_loss, ema_net):
                        step = int(self.max_steps)
                if step >= int(self.max_steps):
                    break
        stopper.restore(ema_net)
        self.steps_ = len(self.loss_history_) * int(self.check_every)
        self.best_loss_ = stopper.best
        self.state_ = module_to_cpu_state(ema_net)
        report(progress, "training", int(self.max_steps), int(self.max_steps))

    # -- sampling ----------------------------------------------------------------------
    def _network(self, device: Any) -> Any:
        """The denoiser on ``device``, rebuilt from CPU weights (not pickled with the model)."""
        cached = getattr(self, "_net", None)
        if cached is not None and cached[0] == device:
            return cached[1]
        net = _build_net(self.arch_)
        net.load_state_dict(self.state_)
        net = net.to(device).eval()
        self._net = (device, net)
        return net

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state.pop("_net", None)
        return state

    def _sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return self._denoise(n, rng, None)

    def _sample_given(
        self, n: int, rng: np.random.Generator, constraints: dict[int, EncodedConstraint]
    ) -> np.ndarray:
        """Rows given ``constraints``, satisfied by construction where the model can.

        Conditioning inside the diffusion (:class:`.ddpm_conditions.Clamp`): a numeric
        equality is a known coordinate, replaced at every reverse step by its
        forward-noised value (RePaint's replacement; ``RESAMPLE`` repeats per step); a
        numeric range clamps the predicted clean value into the range; a categorical
        set is imposed by replacement (the clean category drawn from the model within
        the set, then noised forward) and steers the numeric scores by guidance from
        the denoiser's own category head (``GUIDANCE``); a constrained target restricts
        the class draw. The base class still checks every row.
        """
        clamp = Clamp.build(self, constraints)
        if self.cond_col_ is not None and any(j != self.cond_col_ for j in constraints):
            # the class is drawn before denoising, so it must follow P(class | conditions),
            # not P(class): reweight by each class's acceptance rate in a pilot sample
            pilot = self._denoise(PILOT_ROWS, rng, None)
            accepted = encoded_mask(pilot, constraints)
            labels = pilot[:, self.cond_col_]
            clamp.reweight_classes(labels, accepted, self.n_classes_)
        return self._denoise(n, rng, clamp)

    def _denoise(self, n: int, rng: np.random.Generator, clamp: Clamp | None) -> np.ndarray:
        torch = import_torch()
        gen = configure(int(rng.integers(2**62)), self.threads)
        device = select_device(self.device)
        net = self._network(device)
        schedule = _Schedule(int(self.timesteps), self.arch_["d_num"], self.arch_["cards"], device)
        labels = np.zeros(n, dtype=np.int64)
        if self.n_classes_:
            probs = self.class_probs_ if clamp is None else clamp.class_probs
            labels = rng.choice(self.n_classes_, size=n, p=probs)
        tensors = None if clamp is None else clamp.tensors(torch, device)
        num_parts, cat_parts = [], []
        with torch.no_grad():
            for start in range(0, n, SAMPLE_BATCH):
                y = torch.as_tensor(labels[start : start + SAMPLE_BATCH]).to(device)
                num, cat = schedule.sample(
                    net, y, int(self.sample_steps), float(self.eta), gen, tensors
                )
                num_parts.append(num.cpu().numpy().astype(float))
                cat_parts.append(cat.cpu().numpy())
        out = self._from_model_space(np.vstack(num_parts), np.vstack(cat_parts), labels)
        return out if clamp is None else clamp.finish(out)

    def _from_model_space(self, num: np.ndarray, codes: np.ndarray, labels: np.ndarray) -> Any:
        n = len(num)
        out = np.full((n, len(self.discrete_)), np.nan)
        if len(self.num_cols_):
            values = self.quantile_.inverse_transform(np.clip(num, -_CLIP, _CLIP))
            for c, j in enumerate(self.num_cols_):
                out[:, j] = _snap(values[:, c], self.supports_[c])
        for c, (j, k, kind) in enumerate(self.cat_cols_):
            if kind == "missing":
                out[codes[:, c] == 1, j] = np.nan
            else:
                has_missing = k > max(int(self.cardinalities_[j]), 1)
                value = codes[:, c].astype(float)
                out[:, j] = np.where(has_missing & (codes[:, c] == k - 1), np.nan, value)
        if self.cond_col_ is not None:
            k = int(self.cardinalities_[self.cond_col_])
            out[:, self.cond_col_] = np.where(labels >= k, np.nan, labels)
        return out


# -- pieces ------------------------------------------------------------------------------
def _small_support(values: np.ndarray) -> np.ndarray | None:
    """Sorted distinct finite values when there are at most ``MAX_SUPPORT``, else ``None``."""
    support = np.unique(values[np.isfinite(values)])
    return support if 0 < len(support) <= MAX_SUPPORT else None


def _snap(values: np.ndarray, support: np.ndarray | None) -> np.ndarray:
    """Each of ``values`` ``(n,)`` moved to the nearest value of ``support``."""
    if support is None or len(support) == 1:
        return values if support is None else np.full_like(values, support[0])
    idx = np.clip(np.searchsorted(support, values), 1, len(support) - 1)
    lower, upper = support[idx - 1], support[idx]
    return np.where(values - lower <= upper - values, lower, upper)


def _build_net(arch: dict[str, Any]) -> Any:
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


class _Schedule:
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
            x0 = ((x_num - (1 - a_t).sqrt() * eps) / a_t.sqrt()).clamp(-_CLIP, _CLIP)
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


def _categorical(probs: Any, u: Any, schedule: _Schedule) -> Any:
    """One draw per ``(B, n_cat)`` from unnormalised ``probs`` ``(B, n_cat, K)``."""
    cdf = probs.cumsum(-1)
    total = cdf[..., -1:]
    u = u.to(probs.device) * total
    codes = (cdf < u).sum(-1)
    return codes.clamp_max(schedule.k.long()[None, :] - 1)


def _fixed_validation(tensors: list[Any], schedule: _Schedule, gen: Any, device: Any) -> list[Any]:
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
