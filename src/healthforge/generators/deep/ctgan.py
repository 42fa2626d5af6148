"""CTGAN: a conditional Wasserstein GAN for tables (Xu et al., NeurIPS 2019).

Follows the paper: mode-specific normalisation
(:mod:`healthforge.generators.deep.transform`), a conditional vector with
training-by-sampling (a discrete column is picked uniformly, a level, then a real row
with that level), a residual generator, a Wasserstein critic with gradient penalty
(PacGAN: ``pac`` rows judged together) and a cross-entropy term that makes the generator
honour the conditional vector.

Defaults differ from the paper's (and SDV's), because the paper's lost the outcome:
on NHEFS (target ``death``, 80/20 split, 300 epochs, 1 split each) the paper's settings
reached TSTR/TRTR 0.56-0.67, like SDV's CTGAN (0.60), while synthcity's ctgan reached
0.98. Changed one or a few at a time (``benchmarks/results/deep_generators.md``):

* ``pac=1``: the decisive change. With ``pac=10`` the critic's first layer sees ten
  rows through the same 256 units and does not learn within-row relations well enough
  (0.73 with everything else below; ``pac=2``: 0.90; ``pac=1``: 0.98). PacGAN stays
  available (``pac > 1``) for data where mode collapse is the bigger risk;
* learning rate 1e-3 and weight decay 1e-3 for both networks, batches of 200 (more
  steps per epoch), no batch norm in the generator, dropout 0.1 in the critic and the
  critic shown plain softmax outputs (``gumbel_tau=None``), as synthcity does;
  together (with levels picked by frequency) they did not fix the outcome with
  ``pac=10`` (0.73);
* gradient norms clipped to 1 (``max_grad_norm``), as synthcity does: 1.00 on the same
  split, and on Pima the outcome's rate no longer swings between epochs (seed 0: 0.20
  vs real 0.33 without clipping, 0.33 with it);
* the paper's log-frequency choice of levels is kept (``log_frequency=True``; 1.01 on
  the same split): native conditions on a rare level need the generator to have seen
  it often; picked by frequency, a 5% group's conditioned rows were no closer to the
  group than unconditioned ones.

Differences, and why:

* **Epoch selection.** GAN losses say little about sample quality, so every
  ``check_every`` epochs the generator draws rows that are scored by a model-free
  fidelity signal (:class:`~healthforge.generators.deep.transform.FidelitySignal`:
  marginal total variation plus pairwise rank-correlation error against the training
  rows). The best generator is kept and training stops after ``patience`` checks
  without improvement. The reference is the training data, not a 10% holdout: the
  signal only compares low-dimensional summaries (it cannot reward memorising rows),
  and on small clinical tables a holdout of ~150 rows would be too noisy to rank
  epochs. Off by default (``early_stopping=False`` trains exactly ``epochs`` epochs):
  with the defaults below, on NHEFS split 1 the signal was best at epoch 20 and
  stopped training at epoch 120 with TSTR/TRTR 0.65; 300 epochs reached 0.98 on split
  0 (the main benchmark has all three splits at 300 epochs).
* **Speed.** All one-hot blocks are activated in a few padded tensor ops, the
  training-by-sampling draws are vectorised numpy, the gradient penalty and critic
  loss share one backward pass, and the critic and generator steps share one batch of
  generated rows (one generator forward per step instead of two, as in PyTorch's DCGAN
  example). With ``pac=1`` (the default) the critic is written out layer by layer
  (:mod:`~healthforge.generators.deep.ctgan_critic`: gradient penalty in closed form, the
  conditional vector looked up rather than multiplied, cheap dropout masks, the penalty's
  norm through the Gram matrix) and the generator looks up its conditional vector too and
  skips the gradient for its input columns (``forward_train``); the conditional
  cross-entropy is taken over each row's own block, and Adam is the fused kernel called
  directly (:mod:`~healthforge.generators.deep.adam_kernel`): the same model and losses, with
  17% and then 13% less CPU per training step (two rounds, ``ctgan_speed.md``).
* **Native conditions** (``conditioning = "native"``): a condition on a discrete (or
  one-hot numeric) column sets the conditional vector to the requested level, drawn by
  training frequency within an allowed set (:func:`conditioning_choice`); the base
  class's rejection handles what remains (numeric ranges, further columns).
* **Sampling** runs on the CPU with noise from the base class's numpy generator, so
  the same seed gives the same rows on every machine, whatever device trained the model.

Weights are kept as CPU tensors (``generator_state_``); the network is rebuilt on first
use after loading, so a model trained on a GPU samples on a CPU.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from healthforge.errors import HealthForgeError
from healthforge.generators.core.constraints import EncodedConstraint
from healthforge.generators.core.params import check_positive_int
from healthforge.generators.core.torch_support import (
    EarlyStopping,
    configure,
    import_torch,
    module_to_cpu_state,
)
from healthforge.generators.deep.adam_kernel import make_adam
from healthforge.generators.deep.base import SAMPLE_BATCH, DeepGenerator
from healthforge.generators.deep.ctgan_cond import (
    CondCrossEntropy,
    CondSampler,
    SamplingCond,
    conditioning_choice,
)
from healthforge.generators.deep.ctgan_critic import FastCritic
from healthforge.generators.deep.ctgan_nets import _networks, critic_loss
from healthforge.generators.deep.fidelity import FidelitySignal
from healthforge.generators.deep.spans import SpanLayout
from healthforge.generators.deep.transform import NeuralTransformer
from healthforge.progress import ProgressCallback, report

__all__ = ["GUMBEL_TAU", "CtganGenerator"]
_SamplingCond = SamplingCond  # the name older model files give the class

CHECK_ROWS = 5_000  # rows drawn for each fidelity check (fewer: the signal is noise)
GUMBEL_TAU = 0.2


class CtganGenerator(DeepGenerator):
    """Conditional tabular GAN (CTGAN; Xu et al. 2019) with epoch selection on fidelity.

    Args:
        epochs: most training epochs (an epoch is ``n_rows // batch_size`` steps).
        batch_size: rows per step (rounded down to a multiple of ``pac``).
        embedding_dim: size of the generator's noise input.
        generator_dims: widths of the residual generator layers.
        discriminator_dims: widths of the critic layers.
        generator_lr: Adam learning rate of the generator.
        discriminator_lr: Adam learning rate of the critic.
        weight_decay: Adam weight decay of both networks.
        pac: rows the critic judges together (PacGAN; counters mode collapse).
        discriminator_steps: critic steps per generator step.
        log_frequency: pick the conditional vector's level by log-frequency in training
            (the paper's choice: rare levels shown more often, which native conditions
            on rare levels need); ``False`` picks it by frequency.
        generator_batch_norm: batch normalisation in the generator's residual blocks.
        discriminator_dropout: dropout after each hidden critic layer.
        gumbel_tau: temperature of the gumbel-softmax the critic sees during training;
            ``None`` shows it the plain softmax probabilities.
        max_grad_norm: clip each network's gradient norm to this before its step
            (``None``: no clipping).
        early_stopping: keep the best epoch by the fidelity signal and stop after
            ``patience`` checks without improvement; ``False`` (default) trains all
            ``epochs``.
        check_every: epochs between fidelity checks.
        patience: checks without improvement before stopping.
        exact_rules: keep columns that are an exact function of others in the training
            rows (a state's cigarette price, a recode, ``wt82_71 = wt82 - wt71``) exact in
            generated rows (:mod:`.column_rules`); the target is never rewritten.
        device: ``"auto"`` (GPU if present, else CPU), ``"cpu"``, ``"cuda"``...
        threads: CPU threads for torch; ``None`` uses every core.
        seed: seed for fitting and the default seed for sampling.
    """

    name = "ctgan"
    summary = "Conditional tabular GAN (CTGAN, Xu et al. 2019); torch, CPU or GPU."
    conditioning = "native"
    keeps_column_rules = True

    # duplicates: parameters spelled out one by one, as every generator's are: get_params and
    # the registry read this signature (scikit-learn convention)
    def __init__(
        self,
        epochs: int = 300,
        batch_size: int = 200,
        embedding_dim: int = 128,
        generator_dims: tuple[int, ...] = (256, 256),
        discriminator_dims: tuple[int, ...] = (256, 256),
        generator_lr: float = 1e-3,
        discriminator_lr: float = 1e-3,
        weight_decay: float = 1e-3,
        pac: int = 1,
        discriminator_steps: int = 1,
        log_frequency: bool = True,
        generator_batch_norm: bool = False,
        discriminator_dropout: float = 0.1,
        gumbel_tau: float | None = None,
        max_grad_norm: float | None = 1.0,
        early_stopping: bool = False,
        check_every: int = 5,
        patience: int = 20,
        exact_rules: bool = True,
        device: str = "auto",
        threads: int | None = None,
        seed: int = 0,
    ) -> None:
        super().__init__(seed=seed)
        self.epochs = epochs
        self.batch_size = batch_size
        self.embedding_dim = embedding_dim
        self.generator_dims = tuple(generator_dims)
        self.discriminator_dims = tuple(discriminator_dims)
        self.generator_lr = generator_lr
        self.discriminator_lr = discriminator_lr
        self.weight_decay = weight_decay
        self.pac = pac
        self.discriminator_steps = discriminator_steps
        self.log_frequency = log_frequency
        self.generator_batch_norm = generator_batch_norm
        self.discriminator_dropout = discriminator_dropout
        self.gumbel_tau = gumbel_tau
        self.max_grad_norm = max_grad_norm
        self.early_stopping = early_stopping
        self.check_every = check_every
        self.patience = patience
        self.exact_rules = exact_rules
        self.device = device
        self.threads = threads

    # duplicates: parameter checks, alike in shape to other generators' (messages differ)
    def _check_params(self) -> None:
        for name in ("epochs", "batch_size", "embedding_dim", "pac", "discriminator_steps"):
            check_positive_int(getattr(self, name), name, "ctgan: ")
        if self.check_every < 1 or self.patience < 1:
            raise HealthForgeError("ctgan: check_every and patience must be at least 1")
        if not 0.0 <= self.discriminator_dropout < 1.0:
            raise HealthForgeError(
                f"ctgan: discriminator_dropout must be in [0, 1), not {self.discriminator_dropout}"
            )
        if self.gumbel_tau is not None and not self.gumbel_tau > 0:
            raise HealthForgeError(
                f"ctgan: gumbel_tau must be positive (or None for plain softmax), "
                f"not {self.gumbel_tau}"
            )

    # -- fitting ------------------------------------------------------------------------
    def _fit(self, X: np.ndarray, progress: ProgressCallback | None) -> None:
        self._check_params()
        torch = import_torch()
        configure(self.seed, self.threads)
        device = self._device()
        rng = np.random.default_rng(self.seed)
        check_rng_seed = [self.seed, 1]

        started = time.perf_counter()
        transformer = NeuralTransformer(seed=self.seed).fit(X, self.discrete_)
        transformed = time.perf_counter()
        data = torch.as_tensor(transformer.transform(X, rng), device=device)
        cond_cols = transformer.cond_columns
        n_levels = np.array([transformer.plans[j].n_levels for j in cond_cols], dtype=np.int64)
        sampler = CondSampler(transformer.level_codes(X, cond_cols), n_levels)
        layout = SpanLayout(transformer, device)
        cond_loss = CondCrossEntropy(transformer, device)

        n = len(X)
        pac = self.pac if min(self.batch_size, n) >= self.pac else 1
        batch = max(pac, min(self.batch_size, n) // pac * pac)
        steps = max(1, n // batch)
        _, GenNet, Critic = _networks()
        gen = GenNet(
            self.embedding_dim + sampler.cond_dim,
            self.generator_dims,
            transformer.dim,
            self.generator_batch_norm,
        )
        critic = Critic(
            transformer.dim + sampler.cond_dim,
            self.discriminator_dims,
            pac,
            self.discriminator_dropout,
        )
        gen, critic = gen.to(device), critic.to(device)
        # torch's fused Adam kernel called directly: the same update as
        # torch.optim.Adam(fused=True), without its per-step bookkeeping
        opt_g = make_adam(
            gen.parameters(), self.generator_lr, self.weight_decay, device, betas=(0.5, 0.9)
        )
        opt_d = make_adam(
            critic.parameters(), self.discriminator_lr, self.weight_decay, device, (0.5, 0.9)
        )
        signal = FidelitySignal(X, self.discrete_)
        stopper = EarlyStopping(patience=self.patience, min_delta=0.0)
        self.history_: list[dict[str, float]] = []
        has_cond = sampler.n_cond > 0

        # pac 1: the critic written out layer by layer (same loss, far fewer operations)
        fast = None
        if pac == 1:
            drop_rng = np.random.default_rng([self.seed, 2])
            fast = FastCritic(critic, transformer.dim, self.discriminator_dropout, drop_rng)
        offsets = sampler.offsets

        def cond_pos(col: np.ndarray, opt: np.ndarray) -> Any:
            # hot position of each row's conditional vector
            return torch.as_tensor(offsets[col] + opt, device=device) if has_cond else None

        def noise_and_cond() -> tuple[Any, Any, Any, np.ndarray, np.ndarray]:
            z = torch.randn(batch, self.embedding_dim, device=device)
            if not has_cond:
                return z, None, z, np.empty(0, int), np.empty(0, int)
            col, opt, vec = sampler.draw(batch, rng, self.log_frequency)
            cvec = torch.as_tensor(vec, device=device)
            return z, cvec, torch.cat([z, cvec], dim=1), col, opt

        epoch = 0
        for epoch in range(1, self.epochs + 1):
            gen.train()
            for _ in range(steps):
                for d_step in range(self.discriminator_steps):
                    z, cvec, zin, col, opt = noise_and_cond()
                    # hot positions of the conditional vectors (fast path: the critic
                    # and the generator look them up instead of multiplying one-hots)
                    pos = cond_pos(col, opt) if fast is not None else None
                    if d_step == self.discriminator_steps - 1:
                        # the generator step below reuses this batch (as PyTorch's DCGAN
                        # example does): one generator forward per step instead of two
                        raw = (
                            gen.forward_train(z, pos) if pos is not None else gen.forward_train(zin)
                        )
                        act = layout.activate(raw, self.gumbel_tau)
                        fake_act = act.detach()
                    else:
                        with torch.no_grad():  # no graph through gen for the critic
                            fake_act = layout.activate(gen(zin), self.gumbel_tau)
                    if has_cond:
                        perm = rng.permutation(batch)
                        real_idx = sampler.rows_for(col[perm], opt[perm], rng)
                    else:
                        real_idx = rng.integers(0, n, batch)
                    if fast is not None:
                        loss_d, penalty = fast.loss(
                            fake_act, data[real_idx], pos, None if pos is None else pos[perm]
                        )
                    elif has_cond:
                        real = torch.cat([data[real_idx], cvec[perm]], dim=1)
                        fake = torch.cat([fake_act, cvec], dim=1)
                        loss_d, penalty = critic_loss(torch, critic, real, fake, pac)
                    else:
                        loss_d, penalty = critic_loss(torch, critic, data[real_idx], fake_act, pac)
                    opt_d.zero_grad(set_to_none=True)
                    (loss_d + penalty).backward()
                    if self.max_grad_norm:
                        torch.nn.utils.clip_grad_norm_(critic.parameters(), self.max_grad_norm)
                    opt_d.step()
                critic.requires_grad_(False)  # only the generator learns here
                if fast is not None:
                    loss_g = -fast.score(act, pos).mean()
                else:
                    loss_g = -critic(torch.cat([act, cvec], dim=1) if has_cond else act).mean()
                critic.requires_grad_(True)
                if has_cond:
                    # the generator must output the level its conditional vector asks for
                    loss_g = loss_g + cond_loss(raw, col, opt)
                opt_g.zero_grad(set_to_none=True)
                loss_g.backward()
                if self.max_grad_norm:
                    torch.nn.utils.clip_grad_norm_(gen.parameters(), self.max_grad_norm)
                opt_g.step()
            entry = {
                "epoch": epoch,
                "loss_g": float(loss_g.detach()),
                "loss_d": float(loss_d.detach()),
            }
            report(progress, "training", epoch, self.epochs)
            if self.early_stopping and (epoch % self.check_every == 0 or epoch == self.epochs):
                check_rng = np.random.default_rng(check_rng_seed)
                synth = self._generate(
                    gen, layout, sampler, transformer, CHECK_ROWS, check_rng, device
                )
                entry["fidelity"] = signal(synth)
                stop = stopper.step(entry["fidelity"], gen)
                self.history_.append(entry)
                if stop:
                    break
            else:
                self.history_.append(entry)
        if self.early_stopping:
            stopper.restore(gen)
            self.best_fidelity_ = stopper.best
        self.epochs_trained_ = epoch
        # seconds spent on the representation and on training (benchmarks report both)
        self.timing_ = {
            "transformer_s": transformed - started,
            "training_s": time.perf_counter() - transformed,
        }
        self.transformer_ = transformer
        self.sampler_ = SamplingCond(sampler)
        self.net_dims_ = (self.embedding_dim + sampler.cond_dim, transformer.dim)
        self.generator_state_ = module_to_cpu_state(gen)

    @staticmethod
    def _generate(
        gen: Any,
        layout: SpanLayout,
        sampler: CondSampler | SamplingCond,
        transformer: NeuralTransformer,
        n: int,
        rng: np.random.Generator,
        device: Any,
        fixed: tuple[int, np.ndarray] | None = None,
    ) -> np.ndarray:
        """``n`` encoded rows ``(n, d)`` from generator ``gen`` (eval mode, no grad).

        ``fixed`` = ``(i, levels)`` sets every row's conditional vector to level
        ``levels[r]`` ``(n,)`` of conditioning column ``i`` (native conditioning; the
        column's output is not forced to that level, so a row whose generated level
        differs is still a coherent row, which the condition's mask then rejects);
        otherwise the conditional vectors follow the training frequencies.
        """
        torch = import_torch()
        was_training = gen.training
        gen.eval()
        parts = []
        emb = gen.seq[0].fc.in_features - sampler.cond_dim
        with torch.no_grad():
            for start in range(0, n, SAMPLE_BATCH):
                m = min(SAMPLE_BATCH, n - start)
                z = rng.standard_normal((m, emb), dtype=np.float32)
                if fixed is not None:
                    vec = np.zeros((m, sampler.cond_dim), dtype=np.float32)
                    vec[np.arange(m), sampler.offsets[fixed[0]] + fixed[1][start : start + m]] = 1
                    z = np.concatenate([z, vec], axis=1)
                elif sampler.n_cond > 0:
                    # at sampling time the conditions follow the real frequencies
                    _, _, vec = sampler.draw(m, rng, log_frequency=False)
                    z = np.concatenate([z, vec], axis=1)
                raw = gen(torch.as_tensor(z, device=device))
                # the conditioned column's output is left as generated: overwriting it
                # with the requested level labelled rows the generator made for another
                # level (women with men's lab values); the exact mask drops those rows
                parts.append(layout.activate(raw).cpu().numpy())
        gen.train(was_training)
        return transformer.inverse_transform(np.concatenate(parts), rng)

    # -- sampling -----------------------------------------------------------------------
    def _net(self) -> Any:
        net = getattr(self, "_net_cache", None)
        if net is None:
            _, GenNet, _ = _networks()
            in_dim, out_dim = self.net_dims_
            # dpctgan shares this method and has no batch-norm switch
            batch_norm = getattr(self, "generator_batch_norm", True)
            net = GenNet(in_dim, self.generator_dims, out_dim, batch_norm)
            net.load_state_dict(self.generator_state_)
            net.eval()
            self._net_cache = net
        return net

    def _sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return self._generate(
            self._net(), self._layout(), self.sampler_, self.transformer_, n, rng, "cpu"
        )

    def _sample_given(
        self, n: int, rng: np.random.Generator, constraints: dict[int, EncodedConstraint]
    ) -> np.ndarray:
        """Rows given ``constraints`` through the conditional vector.

        Of the constrained columns that take part in the conditional vector (discrete
        columns and numeric ones kept one-hot), the most selective one (least training
        mass allowed) drives it: each row's level is drawn from the training frequencies
        restricted to the allowed levels, the generator is fed that level - what
        training-by-sampling taught it to condition on. The column's output is not
        forced to that level: a row the generator made for another level is rejected by
        the exact mask rather than relabelled (#25). Other constraints (numeric ranges,
        further columns) are left to the base class's rejection on the decoded rows, which
        now starts from rows that already satisfy the rarest part.
        """
        choice = conditioning_choice(self.transformer_, self.sampler_, self.discrete_, constraints)
        if choice is None:
            return self._sample(n, rng)
        i, probs = choice
        levels = rng.choice(len(probs), size=n, p=probs)
        return self._generate(
            self._net(),
            self._layout(),
            self.sampler_,
            self.transformer_,
            n,
            rng,
            "cpu",
            fixed=(i, levels),
        )
