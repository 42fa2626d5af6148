"""dptvae: TVAE (:mod:`healthforge.generators.deep.tvae`) trained end to end with DP-SGD.

The whole variational autoencoder reads the private rows, so encoder and decoder are
both trained with per-example clipping and calibrated Gaussian noise
(:mod:`healthforge.generators.private.sgd`). Networks and loss are TVAE's own; the input is
the public one-hot representation of :mod:`healthforge.generators.private.deep` (no
mixtures fitted on the data), so the decoder's Gaussian ``alpha`` head is unused and
frozen. Sampling runs the decoder alone: post-processing, no further budget.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from healthforge.generators.core.torch_support import configure, import_torch, module_to_cpu_state
from healthforge.generators.deep.base import SAMPLE_BATCH
from healthforge.generators.deep.spans import SpanLayout
from healthforge.generators.deep.transform import NeuralTransformer
from healthforge.generators.deep.tvae import TvaeGenerator, _networks
from healthforge.generators.private.deep import DeepDPGenerator, isolated_rng
from healthforge.generators.private.sgd import DPSGDBudget
from healthforge.progress import ProgressCallback, report


class DPTvaeGenerator(DeepDPGenerator):
    """TVAE with (epsilon, delta)-differential privacy by DP-SGD.

    Args:
        epsilon, delta, bounds, max_bins, noise_seed: as :class:`DPGenerator`.
        epochs: training epochs (all of them: the budget is planned for them).
        batch_size: expected Poisson batch (sampling rate ``batch_size / n``).
        embedding_dim, compress_dims, decompress_dims, loss_factor: as ``tvae``.
        lr: Adam learning rate.
        max_grad_norm: per-example gradient clipping norm.
        accounting: ``"rdp"`` (composes with a DP domain release) or ``"prv"``.
        device: ``"auto"``, ``"cpu"``, ``"cuda"``...
        threads: CPU threads for torch (default 1: per-example gradients of small
            batches gain nothing from more; on our loaded 2-core machine 2 threads were
            4x slower); ``None`` uses every core.
        seed: seed of the network initialisation and of sampling.
    """

    name: ClassVar[str] = "dptvae"
    # measured on NHEFS: marginals but no associations at ε <= 1000 - too few steps for the
    # DP noise, not a code defect (diagnostics in benchmarks/results/dp_deep.md)
    summary: ClassVar[str] = (
        "DP (ε, δ): TVAE trained with DP-SGD (opacus); EXPERIMENTAL, learns marginals only"
    )
    mechanism: ClassVar[str] = "DP-SGD TVAE (whole VAE; Poisson sampling, clipping, Gaussian)"

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
        compress_dims: tuple[int, ...] = (128, 128),
        decompress_dims: tuple[int, ...] = (128, 128),
        loss_factor: float = 2.0,
        lr: float = 3e-3,
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
        self.compress_dims = tuple(compress_dims)
        self.decompress_dims = tuple(decompress_dims)
        self.loss_factor = loss_factor
        self.lr = lr
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
        Encoder, Decoder = _networks()
        encoder = Encoder(transformer.dim, self.compress_dims, self.embedding_dim)
        decoder = Decoder(self.embedding_dim, self.decompress_dims, transformer.dim)
        decoder.sigma.requires_grad_(False)  # no numeric alpha outputs: sigma is unused
        both = torch.nn.ModuleDict({"encoder": encoder, "decoder": decoder}).to(device)
        params = [p for p in both.parameters() if p.requires_grad]
        opt = torch.optim.Adam(params, lr=self.lr)
        rows = torch.as_tensor(onehot, device=device)
        run = self._make_private(both, opt, rows, prior_rho, delta)
        layout = SpanLayout(transformer, device)
        step_rng = np.random.default_rng(self.seed)  # data-independent seeds of each step
        for epoch in range(1, self.epochs + 1):
            for (batch,) in run.loader:
                with isolated_rng(torch, step_rng):
                    observed = torch.ones(len(batch), 0, device=device)
                    loss = TvaeGenerator._loss(
                        torch,
                        encoder,
                        decoder,
                        layout,
                        transformer,
                        batch,
                        observed,
                        self.loss_factor,
                    )
                    run.optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    run.optimizer.step()  # every step, even on an empty batch: accounted
            # no loss history is kept: it is computed on private rows without noise
            report(progress, "training (DP-SGD)", epoch, self.epochs)
        self.epochs_trained_ = self.epochs
        self.decoder_state_ = module_to_cpu_state(decoder)
        return run.budget()

    _net = TvaeGenerator._net  # the same decoder, attributes and cache as TVAE

    def _sample_codes(self, n: int, rng: np.random.Generator) -> np.ndarray:
        probs = self._sample_onehot(n, rng)
        return self.transformer_.inverse_transform(probs, rng).astype(np.int64)

    def _sample_onehot(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``(n, dim)`` probabilities (or one-hots) per public level."""
        torch = import_torch()
        net, layout = self._net(), self._layout()
        parts = []
        with torch.no_grad():
            for start in range(0, n, SAMPLE_BATCH):
                m = min(SAMPLE_BATCH, n - start)
                z = torch.as_tensor(rng.standard_normal((m, self.embedding_dim), dtype=np.float32))
                parts.append(layout.activate(net(z)).numpy())
        return np.concatenate(parts) if parts else np.zeros((0, self.transformer_.dim))
