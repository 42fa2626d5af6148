"""dpctgan: CTGAN (:mod:`healthforge.generators.deep.ctgan`) with a DP-SGD discriminator.

Only the discriminator reads private rows, so only it is trained with DP-SGD
(:mod:`healthforge.generators.private.sgd`); the generator learns from the discriminator's
(already private) outputs, which is post-processing. Networks are CTGAN's own, with
these changes, each forced by the privacy analysis:

* **pac = 1.** PacGAN judges ``pac`` rows together, so one pack's gradient would mix
  several patients and per-example clipping would bound a pack, not a patient;
* **no training-by-sampling.** CTGAN picks a real row *having* a drawn level, a
  data-dependent choice of rows that the Poisson-sampling analysis does not cover.
  Real rows arrive by Poisson sampling; each is paired with the conditional vector of
  one of its own discrete columns (chosen uniformly). Fake rows get conditional vectors
  drawn from **noisy** level frequencies (Gaussian mechanism, charged to the budget),
  so both sides carry the same distribution of conditions;
* **standard GAN loss** (logistic), not WGAN-GP: the gradient penalty differentiates
  through per-example gradients, which opacus' hooks do not support; the clipping
  already bounds the discriminator's per-row influence;
* **no epoch selection**: picking the best epoch by comparing with the training rows
  would be an unpaid query. All epochs run; the last generator is kept.

Each discriminator step sees the Poisson batch of real rows plus a fixed number
(``batch_size``) of fake rows; fake rows' clipped gradients carry no private data.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from healthforge.generators.core.torch_support import configure, import_torch, module_to_cpu_state
from healthforge.generators.deep.ctgan import GUMBEL_TAU, CtganGenerator
from healthforge.generators.deep.ctgan_cond import SamplingCond
from healthforge.generators.deep.ctgan_nets import _networks
from healthforge.generators.deep.spans import SpanLayout
from healthforge.generators.deep.transform import NeuralTransformer
from healthforge.generators.private.deep import DeepDPGenerator, isolated_rng
from healthforge.generators.private.sgd import DPSGDBudget
from healthforge.progress import ProgressCallback, report


class NoisyCond(SamplingCond):
    """Conditional vectors over discrete columns, levels drawn by noisy frequencies.

    ``histograms`` maps column position -> noisy counts ``(levels,)``; ``offsets``
    place each column's levels in the ``(cond_dim,)`` vector. Holds no row data. Draws
    like :class:`SamplingCond`, from noisy rather than exact frequencies.
    """

    # duplicates: parameters spelled out one by one, as every generator's are: get_params and
    # the registry read this signature (scikit-learn convention)
    def __init__(self, columns: list[int], histograms: dict[int, np.ndarray]) -> None:
        self.columns = list(columns)
        self.n_cond = len(self.columns)
        self.n_levels = np.array([len(histograms[j]) for j in self.columns], dtype=np.int64)
        self.offsets = np.r_[0, np.cumsum(self.n_levels)[:-1]].astype(np.int64)
        self.cond_dim = int(self.n_levels.sum())
        width = int(self.n_levels.max()) if self.n_cond else 1
        freq = np.zeros((self.n_cond, width))
        for c, j in enumerate(self.columns):
            counts = np.maximum(histograms[j], 0.0)
            counts = counts if counts.sum() > 0 else np.ones_like(counts)  # all noise: uniform
            freq[c, : len(counts)] = counts / counts.sum()
        self.freq_cum = np.cumsum(freq, axis=1)


class DPCtganGenerator(DeepDPGenerator):
    """CTGAN whose discriminator is trained with DP-SGD: (epsilon, delta)-DP.

    Args:
        epsilon, delta, bounds, max_bins, noise_seed: as :class:`DPGenerator`.
        epochs: discriminator epochs (all of them: the budget is planned for them).
        batch_size: expected Poisson batch of real rows (and fake rows per step).
        embedding_dim, generator_dims, discriminator_dims: as ``ctgan``.
        generator_lr, discriminator_lr: Adam learning rates.
        generator_steps: generator updates per discriminator step (free: post-processing).
        max_grad_norm: per-example gradient clipping norm of the discriminator.
        accounting: ``"rdp"`` (composes with a DP domain release) or ``"prv"``.
        threads: CPU threads for torch (default 1, as ``dptvae``); ``None``: every core.
        device, seed: as ``ctgan``.
    """

    name: ClassVar[str] = "dpctgan"
    summary: ClassVar[str] = "DP (ε, δ): CTGAN, discriminator trained with DP-SGD (opacus); torch"
    mechanism: ClassVar[str] = (
        "DP-SGD CTGAN (discriminator; pac 1; noisy condition frequencies; generator is "
        "post-processing)"
    )
    count_columns: ClassVar[bool] = True

    # duplicates: parameters spelled out one by one, as every generator's are: get_params and
    # the registry read this signature (scikit-learn convention)
    def __init__(
        self,
        epsilon: float = 1.0,
        delta: float | None = None,
        bounds: str = "auto",
        max_bins: int = 16,
        epochs: int = 40,
        batch_size: int = 128,
        embedding_dim: int = 64,
        generator_dims: tuple[int, ...] = (128, 128),
        discriminator_dims: tuple[int, ...] = (128, 128),
        generator_lr: float = 1e-3,
        discriminator_lr: float = 1e-3,
        generator_steps: int = 1,
        max_grad_norm: float = 1.0,
        accounting: str = "rdp",
        device: str = "auto",
        threads: int | None = 1,
        noise_seed: int | None = None,
        seed: int = 0,
    ) -> None:
        super().__init__(epsilon, delta, bounds, max_bins, noise_seed, seed)
        self.epochs = epochs
        self.batch_size = batch_size
        self.embedding_dim = embedding_dim
        self.generator_dims = tuple(generator_dims)
        self.discriminator_dims = tuple(discriminator_dims)
        self.generator_lr = generator_lr
        self.discriminator_lr = discriminator_lr
        self.generator_steps = generator_steps
        self.max_grad_norm = max_grad_norm
        self.accounting = accounting
        self.device = device
        self.threads = threads

    # duplicates: the signature of DeepDPGenerator._train, which dpctgan and dptvae implement
    def _train(
        self,
        onehot: np.ndarray,
        codes: np.ndarray,
        transformer: NeuralTransformer,
        prior_rho: float,
        delta: float,
        progress: ProgressCallback | None,
    ) -> DPSGDBudget:
        torch = import_torch()
        configure(self.seed, self.threads)
        device = self._device()
        rng = np.random.default_rng(self.seed)  # the generator's draws (post-processing)
        step_rng = np.random.default_rng([self.seed, 1])  # seeds of each critic step
        cond_cols = [j for j in transformer.cond_columns if self.discrete_[j]]
        sampler = NoisyCond(cond_cols, {j: self.noisy_histograms_[j] for j in cond_cols})
        has_cond = sampler.n_cond > 0
        layout = SpanLayout(transformer, device)
        block_of = {start: b for b, start in enumerate(layout.block_start)}
        cond_blocks = torch.as_tensor(
            [block_of[transformer.plans[j].softmax_start] for j in cond_cols], device=device
        )
        _, GenNet, Critic = _networks()
        gen = GenNet(self.embedding_dim + sampler.cond_dim, self.generator_dims, transformer.dim)
        critic = Critic(transformer.dim + sampler.cond_dim, self.discriminator_dims, 1)
        gen, critic = gen.to(device), critic.to(device)
        opt_g = torch.optim.Adam(gen.parameters(), lr=self.generator_lr, betas=(0.5, 0.9))
        opt_d = torch.optim.Adam(critic.parameters(), lr=self.discriminator_lr, betas=(0.5, 0.9))
        # each private row carries its one-hot block and its codes of the cond columns
        rows = np.concatenate([onehot, codes[:, cond_cols].astype(np.float32)], axis=1)
        run = self._make_private(
            critic, opt_d, torch.as_tensor(rows, device=device), prior_rho, delta
        )
        n_fake = min(self.batch_size, len(rows))
        bce = torch.nn.functional.binary_cross_entropy_with_logits
        dim = transformer.dim

        def fake_rows(batch: int) -> tuple[Any, Any, np.ndarray, np.ndarray]:
            z = torch.randn(batch, self.embedding_dim, device=device)
            if not has_cond:
                return gen(z), None, np.empty(0, int), np.empty(0, int)
            col, opt, vec = sampler.draw(batch, rng)
            cvec = torch.as_tensor(vec, device=device)
            return gen(torch.cat([z, cvec], dim=1)), cvec, col, opt

        self.history_: list[dict[str, float]] = []
        for epoch in range(1, self.epochs + 1):
            loss_g_sum, steps = 0.0, 0
            for (batch,) in run.loader:
                # -- discriminator: DP-SGD on real (Poisson) + fake rows ----------------
                with torch.no_grad():
                    raw, cvec, _, _ = fake_rows(n_fake)
                    fake = layout.activate(raw, GUMBEL_TAU)
                with isolated_rng(torch, step_rng):
                    real = batch[:, :dim]
                    if has_cond:
                        # its own rng: the draws depend on the (private) batch size
                        real_rng = np.random.default_rng(int(step_rng.integers(2**62)))
                        col = real_rng.integers(0, sampler.n_cond, len(batch))
                        level = batch[:, dim:].cpu().numpy()[np.arange(len(batch)), col]
                        real_cvec = torch.as_tensor(
                            sampler.vectors(col, level.astype(np.int64)), device=device
                        )
                        real = torch.cat([real, real_cvec], dim=1)
                        fake = torch.cat([fake, cvec], dim=1)
                    both = torch.cat([real, fake], dim=0)
                    labels = torch.cat(
                        [torch.ones(len(real), device=device), torch.zeros(n_fake, device=device)]
                    )
                    loss_d = bce(run.module(both).squeeze(1), labels)
                    run.optimizer.zero_grad(set_to_none=True)
                    loss_d.backward()
                    run.optimizer.step()  # accounted on every step, even with no real row
                # -- generator: post-processing of the private discriminator -------------
                run.module.disable_hooks()
                for _ in range(self.generator_steps):
                    raw, cvec, col, opt = fake_rows(n_fake)
                    act = layout.activate(raw, GUMBEL_TAU)
                    score = run.module(torch.cat([act, cvec], dim=1) if has_cond else act)
                    loss_g = bce(score.squeeze(1), torch.ones(n_fake, device=device))
                    if has_cond:
                        logp = torch.log_softmax(layout.padded(raw), dim=-1)
                        blocks = cond_blocks[torch.as_tensor(col, device=device)]
                        picked = logp[
                            torch.arange(n_fake, device=device),
                            blocks,
                            torch.as_tensor(opt, device=device),
                        ]
                        loss_g = loss_g - picked.mean()
                    opt_g.zero_grad(set_to_none=True)
                    loss_g.backward()
                    opt_g.step()
                run.module.enable_hooks()
                run.optimizer.zero_grad(set_to_none=True)  # drop the generator's critic grads
                loss_g_sum += float(loss_g.detach())
                steps += 1
            # the generator's loss only: the critic's is computed on private rows
            self.history_.append({"epoch": epoch, "loss_g": loss_g_sum / max(steps, 1)})
            report(progress, "training (DP-SGD discriminator)", epoch, self.epochs)
        self.epochs_trained_ = self.epochs
        self.sampler_ = sampler
        self.net_dims_ = (self.embedding_dim + sampler.cond_dim, transformer.dim)
        self.generator_state_ = module_to_cpu_state(gen)
        return run.budget()

    _net = CtganGenerator._net  # the same generator network, attributes and cache as CTGAN

    def _sample_codes(self, n: int, rng: np.random.Generator) -> np.ndarray:
        # CTGAN's own sampling; its transformer here decodes to the public codes
        decoded = CtganGenerator._generate(
            self._net(), self._layout(), self.sampler_, self.transformer_, n, rng, "cpu"
        )
        return decoded.astype(np.int64)
