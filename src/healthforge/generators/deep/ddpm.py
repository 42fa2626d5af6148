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
* **Exact rules** (``exact_rules``, :mod:`.column_rules`, applied by the base class). A
  column that is a function of another on every training row (NHEFS: the cigarette
  price and tax columns of the state in ``birthplace``; ``education`` from ``school``)
  or the sum or difference of two others (``wt82_71 = wt82 - wt71``) is rewritten
  from its sources after sampling. Diffusion gets such columns nearly but not exactly
  right, and the mismatches were the detector's strongest features: on NHEFS split 0
  the rules alone moved detection AUC from 0.98 to 0.62 (TSTR/TRTR 0.95 either way;
  ``benchmarks/results/tvae_ddpm.md``).
* **Heaped columns.** Numeric columns with few distinct values (coarsely rounded
  measurements, counts) are snapped to their observed values after the inverse
  quantile transform, since off-grid values are a strong tell for detectors.

Weights are stored as CPU tensors (``module_to_cpu_state``), so a model trained on a GPU
loads and samples on a CPU.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
from sklearn.preprocessing import QuantileTransformer

from healthforge.errors import HealthForgeError
from healthforge.generators.core.base import Generator
from healthforge.generators.core.constraints import EncodedConstraint
from healthforge.generators.core.torch_support import (
    EarlyStopping,
    configure,
    import_torch,
    module_to_cpu_state,
    select_device,
)
from healthforge.generators.deep.ddpm_conditions import Clamp, encoded_mask
from healthforge.generators.deep.ddpm_diffusion import CLIP, Schedule, fixed_validation
from healthforge.generators.deep.ddpm_net import build_net
from healthforge.progress import ProgressCallback, report

MAX_SUPPORT = 64  # numeric columns with at most this many values are snapped to them
MAX_CLASSES = 100  # a discrete target with more categories is diffused, not conditioned on
QT_ROWS = 10_000  # the quantile transform is fitted on at most this many rows
SAMPLE_BATCH = 10_000  # rows denoised at once when sampling
PILOT_ROWS = 1_000  # unconditioned rows that estimate P(class | conditions)


class DdpmGenerator(Generator):
    """TabDDPM-style diffusion: Gaussian for numeric, multinomial for categorical columns.

    Args:
        hidden: width of the denoising MLP; ``"auto"`` (default): :func:`auto_hidden`
            of the number of training rows - 256 from 1,024 rows up (NHEFS), 64 below
            256 rows (ICU), where a wider net learnt the rows themselves.
        layers: number of hidden layers of the MLP.
        batch_size: rows per training step (capped at the training rows).
        lr: AdamW learning rate; 2e-3 as TabDDPM's (on 3 NHEFS splits it stopped after
            2,400 steps instead of 3,400 at 1e-3, with TSTR/TRTR 1.011 vs 0.986 and
            detection AUC 0.612 vs 0.620: ``benchmarks/results/tvae_ddpm.md``).
        weight_decay: Adam weight decay.
        max_steps: upper bound on optimiser steps; early stopping usually ends sooner.
        max_epochs: upper bound on passes over the training rows (``None``: none). The
            validation loss kept improving long after a small table's rows were being
            reproduced: on ICU (144 rows, one full batch per step) the checkpoint it chose
            at 800-1,400 steps gave DCR ratio 0.80, 600 steps of the 64-wide net 1.12
            (``benchmarks/results/best_generator.md``). On NHEFS the cap does not bind:
            the best checkpoint is at about 1,200 steps on all 3 splits and early
            stopping's patience ends training at 2,400: same rows as before.
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
        exact_rules: keep columns that are an exact function of another in the training
            rows (a state's cigarette price; a recode; a difference of two columns)
            exact in generated rows (:mod:`.column_rules`); the target is never rewritten.
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
    keeps_column_rules = True

    # duplicates: parameters spelled out one by one, as every generator's are: get_params and
    # the registry read this signature (scikit-learn convention)
    def __init__(
        self,
        hidden: int | str = "auto",
        layers: int = 3,
        batch_size: int = 256,
        lr: float = 2e-3,
        weight_decay: float = 1e-5,
        max_steps: int = 20_000,
        max_epochs: int | None = 600,
        check_every: int = 200,
        patience: int = 6,
        validation: float = 0.1,
        ema: float = 0.995,
        timesteps: int = 1000,
        sample_steps: int = 50,
        eta: float = 1.0,
        condition_on_target: bool = True,
        exact_rules: bool = True,
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
        self.max_epochs = max_epochs
        self.check_every = check_every
        self.patience = patience
        self.validation = validation
        self.ema = ema
        self.timesteps = timesteps
        self.sample_steps = sample_steps
        self.eta = eta
        self.condition_on_target = condition_on_target
        self.exact_rules = exact_rules
        self.device = device
        self.threads = threads

    # -- layout of the encoded table ---------------------------------------------------
    # duplicates: parameter checks, alike in shape to other generators' (messages differ)
    def _check_params(self) -> None:
        checks = [
            (_auto_or_positive(self.hidden), "hidden must be 'auto' or a whole number >= 1"),
            (int(self.layers) >= 1, "layers must be >= 1"),
            (self.max_epochs is None or int(self.max_epochs) >= 1, "max_epochs must be >= 1"),
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
            "hidden": auto_hidden(n) if self.hidden == "auto" else int(self.hidden),
            "layers": int(self.layers),
        }
        net = build_net(self.arch_).to(device)
        schedule = Schedule(int(self.timesteps), self.arch_["d_num"], self.arch_["cards"], device)
        tensors = [torch.as_tensor(a) for a in (num, codes, labels)]
        train = [t[torch.as_tensor(~val_mask)].to(device) for t in tensors]
        val = fixed_validation(
            [t[torch.as_tensor(val_mask)] for t in tensors], schedule, gen, device
        )

        ema_net = copy.deepcopy(net)
        for p in ema_net.parameters():
            p.requires_grad_(False)
        opt = torch.optim.AdamW(net.parameters(), lr=float(self.lr), weight_decay=self.weight_decay)
        stopper = EarlyStopping(patience=int(self.patience), min_delta=1e-4)
        n_train = len(train[0])
        batch = min(int(self.batch_size), n_train)
        max_steps = int(self.max_steps)
        if self.max_epochs is not None:
            max_steps = min(max_steps, int(self.max_epochs) * (n_train // batch))
        self.loss_history_: list[float] = []
        step = 0
        while step < max_steps:
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
                if step % int(self.check_every) == 0 or step >= max_steps:
                    with torch.no_grad():
                        val_loss = float(schedule.loss(ema_net, *val))
                    self.loss_history_.append(val_loss)
                    report(progress, "training", step, max_steps)
                    if stopper.step(val_loss, ema_net):
                        step = max_steps
                if step >= max_steps:
                    break
        stopper.restore(ema_net)
        self.steps_ = len(self.loss_history_) * int(self.check_every)
        self.best_loss_ = stopper.best
        self.state_ = module_to_cpu_state(ema_net)
        report(progress, "training", max_steps, max_steps)

    # -- sampling ----------------------------------------------------------------------
    def _network(self, device: Any) -> Any:
        """The denoiser on ``device``, rebuilt from CPU weights (not pickled with the model)."""
        cached = getattr(self, "_net", None)
        if cached is not None and cached[0] == device:
            return cached[1]
        net = build_net(self.arch_)
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

    def _denoise(
        self,
        n: int,
        rng: np.random.Generator,
        clamp: Clamp | None,
    ) -> np.ndarray:
        """``n`` encoded rows (the base class then applies the exact column rules)."""
        torch = import_torch()
        gen = configure(int(rng.integers(2**62)), self.threads)
        device = select_device(self.device)
        net = self._network(device)
        schedule = Schedule(int(self.timesteps), self.arch_["d_num"], self.arch_["cards"], device)
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
            values = self.quantile_.inverse_transform(np.clip(num, -CLIP, CLIP))
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
def _auto_or_positive(value: Any) -> bool:
    if isinstance(value, str):
        return value == "auto"
    return isinstance(value, int | np.integer) and not isinstance(value, bool) and value >= 1


def auto_hidden(n: int) -> int:
    """Default width of the denoiser for ``n`` training rows: a power of two near ``n / 4``.

    Within [64, 256]: 64 below 512 rows (ICU's 160, the bundled Pima's 426 training rows),
    128 from 512 to 1,023 rows, 256 from 1,024 up (NHEFS's 1,303).
    """
    return int(np.clip(2 ** np.floor(np.log2(max(n, 4) / 4)), 64, 256))


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
