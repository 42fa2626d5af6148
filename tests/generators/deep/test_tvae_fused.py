"""tvae's fused training loss (generators/deep/tvae_fused.py) learns the same model as the
reference loss (``TvaeGenerator._loss``): same value, same gradients, same training
trajectory; and its stable path for blocks far below the row's largest logit."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from healthforge.generators.core.torch_support import configure, fused_adam
from healthforge.generators.deep.spans import SpanLayout
from healthforge.generators.deep.transform import NeuralTransformer
from healthforge.generators.deep.tvae import (
    TvaeGenerator,
    _alpha_observed,
    _fused_loss,
    _networks,
)
from healthforge.generators.deep.tvae_fused import (
    FusedReconstruction,
    TrainingOrder,
    permute_networks,
)
from tests.fixtures_data import bundled

torch = pytest.importorskip("torch")

SMALL = {"epochs": 3, "batch_size": 100, "threads": 1, "exact_rules": False, "seed": 4}


class Captured(TvaeGenerator):
    """tvae that keeps the encoded matrix it was fitted on (to replay the reference)."""

    def _fit(self, X: np.ndarray, progress: Any) -> None:
        self.X_ = X
        super()._fit(X, progress)


@pytest.fixture(scope="module")
def nhefs_fit() -> Captured:
    # NHEFS has numeric columns with missing values: the alpha mask takes part
    return Captured(**SMALL).fit(bundled("nhefs").head(320))


def _batch(transformer: NeuralTransformer, seed: int) -> Any:
    """Rows in the transformer's order: alphas in (-1, 1), one level per block."""
    rng = np.random.default_rng(seed)
    rows = np.zeros((64, transformer.dim), dtype=np.float32)
    rows[:, transformer.tanh_columns] = rng.uniform(-0.9, 0.9, (64, len(transformer.tanh_columns)))
    for start, size in transformer.softmax_spans:
        rows[np.arange(64), start + rng.integers(0, size, 64)] = 1.0
    return torch.as_tensor(rows)


def _named_grads(encoder: Any, decoder: Any) -> dict[str, Any]:
    named = [("enc." + k, p) for k, p in encoder.named_parameters()]
    named += [("dec." + k, p) for k, p in decoder.named_parameters()]
    return {k: p.grad.clone() for k, p in named}


def test_loss_and_gradients_match_the_reference(nhefs_fit: Captured) -> None:
    transformer = nhefs_fit.transformer_
    real = _batch(transformer, 0)
    observed = _alpha_observed(transformer, real)
    observed[::3] = 0.0  # missing alphas are masked out of the Gaussian term
    Encoder, Decoder = _networks()
    torch.manual_seed(0)
    encoder = Encoder(transformer.dim, (32,), 16)
    decoder = Decoder(16, (32,), transformer.dim)
    with torch.no_grad():
        decoder.sigma.uniform_(0.05, 0.5)

    torch.manual_seed(1)
    layout = SpanLayout(transformer, "cpu")
    ref = TvaeGenerator._loss(torch, encoder, decoder, layout, transformer, real, observed, 2.0)
    ref.backward()
    expected = _named_grads(encoder, decoder)
    for p in list(encoder.parameters()) + list(decoder.parameters()):
        p.grad = None

    columns = TrainingOrder.of(transformer)
    permute_networks(encoder, decoder, columns.order)
    torch.manual_seed(1)  # same latent noise
    fused = FusedReconstruction(columns, "cpu")
    loss = _fused_loss(torch, encoder, decoder, fused, real[:, columns.order], observed, 2.0)
    loss.backward()
    permute_networks(encoder, decoder, columns.inverse)
    got = _named_grads(encoder, decoder)
    # gradients of the permuted columns, back in the transformer's order
    inverse = torch.as_tensor(columns.inverse)
    got["enc.seq.0.weight"] = got["enc.seq.0.weight"][:, inverse]
    for key in ("dec.seq.1.weight", "dec.seq.1.bias", "dec.sigma"):
        got[key] = got[key][inverse]

    assert fused.fallbacks == 0
    assert loss.item() == pytest.approx(ref.item(), rel=1e-5)
    assert set(got) == set(expected)
    for key, grad in expected.items():
        scale = float(grad.abs().max()) + 1e-6
        assert float((got[key] - grad).abs().max()) <= 1e-4 * scale, key


def test_training_order_tiles_every_column(nhefs_fit: Captured) -> None:
    transformer = nhefs_fit.transformer_
    columns = TrainingOrder.of(transformer)
    assert sorted(columns.order) == list(range(transformer.dim))
    np.testing.assert_array_equal(columns.order[columns.inverse], np.arange(transformer.dim))
    np.testing.assert_array_equal(columns.order[: columns.n_alpha], transformer.tanh_columns)
    end = columns.n_alpha
    for start, n_blocks, width in columns.groups:
        assert start == end and n_blocks >= 1 and width >= 1
        end = start + n_blocks * width
    assert end == transformer.dim


def test_fit_follows_the_reference_training_loop(nhefs_fit: Captured) -> None:
    # replay the previous training loop (gathers + reference loss, transformer order)
    # with the same seeds: the per-epoch losses must agree
    gen = nhefs_fit
    X, seed = gen.X_, gen.seed
    configure(seed, 1)
    rng = np.random.default_rng(seed)
    transformer = NeuralTransformer(seed=seed).fit(X, gen.discrete_)
    data = torch.as_tensor(transformer.transform(X, rng))
    layout = SpanLayout(transformer, "cpu")
    rng.permutation(len(X))  # the fit draws its validation split order here
    observed = _alpha_observed(transformer, data)
    Encoder, Decoder = _networks()
    encoder = Encoder(transformer.dim, gen.compress_dims, gen.embedding_dim)
    decoder = Decoder(gen.embedding_dim, gen.decompress_dims, transformer.dim)
    params = list(encoder.parameters()) + list(decoder.parameters())
    opt = torch.optim.Adam(params, lr=gen.lr, weight_decay=gen.weight_decay, **fused_adam("cpu"))
    history = []
    for _ in range(gen.epochs):
        perm = torch.as_tensor(rng.permutation(len(data)))
        steps = -(-len(data) // gen.batch_size)
        total = 0.0
        for step in range(steps):
            idx = perm[step * gen.batch_size : (step + 1) * gen.batch_size]
            loss = TvaeGenerator._loss(
                torch, encoder, decoder, layout, transformer, data[idx], observed[idx], 2.0
            )
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            decoder.sigma.data.clamp_(0.01, 1.0)
            total += float(loss.detach())
        history.append(total / steps)
    got = [entry["loss"] for entry in gen.history_]
    np.testing.assert_allclose(got, history, rtol=1e-4)
    # the saved decoder is back in the transformer's order: same weights as the replay
    state = gen.decoder_state_
    np.testing.assert_allclose(state["sigma"].numpy(), decoder.sigma.detach().numpy(), atol=1e-4)
    np.testing.assert_allclose(
        state["seq.1.bias"].numpy(), decoder.seq[1].bias.detach().numpy(), atol=1e-4
    )
    assert gen.stable_path_batches_ == 0


def test_blocks_far_below_the_row_maximum_take_the_stable_path() -> None:
    # two blocks of width 2 after one alpha; the second block sits 200 below the first:
    # after a row-wide shift its exp underflows, so the batch is redone block by block
    columns = TrainingOrder(np.arange(5), np.arange(5), 1, ((1, 2, 2),))
    fused = FusedReconstruction(columns, "cpu")
    raw = torch.tensor([[0.1, 5.0, 4.0, -200.0, -201.0]] * 3, requires_grad=True)
    real = torch.tensor([[0.2, 1.0, 0.0, 0.0, 1.0]] * 3)
    sigma = torch.tensor([0.3], requires_grad=True)
    observed = torch.ones(3, 1)
    loss = fused(raw, sigma, real, observed)
    loss.backward()
    assert fused.fallbacks == 1

    ref_raw = raw.detach().clone().requires_grad_()
    ref_sigma = sigma.detach().clone().requires_grad_()
    t = torch.tanh(ref_raw[:, :1])
    gauss = ((real[:, :1] - t) ** 2 / (2 * ref_sigma**2) + torch.log(ref_sigma)).sum()
    blocks = ref_raw[:, 1:].view(3, 2, 2)
    ce = -(torch.log_softmax(blocks, dim=-1) * real[:, 1:].view(3, 2, 2)).sum()
    (gauss + ce).backward()
    assert torch.isfinite(loss)
    # ~600 of logsumexp minus ~600 of logits in float32: compare to 1e-4
    assert loss.item() == pytest.approx((gauss + ce).item(), abs=1e-4)
    torch.testing.assert_close(raw.grad, ref_raw.grad)
    torch.testing.assert_close(sigma.grad, ref_sigma.grad)


def test_kernel_adam_updates_as_torch_optim_fused_adam() -> None:
    from healthforge.generators.deep.adam_kernel import KernelAdam

    torch.manual_seed(0)
    ours = torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.ReLU(), torch.nn.Linear(5, 2))
    theirs = torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.ReLU(), torch.nn.Linear(5, 2))
    theirs.load_state_dict(ours.state_dict())
    unused = torch.nn.Parameter(torch.ones(3))  # no gradient: left alone, as torch.optim
    opt_ours = KernelAdam([*ours.parameters(), unused], lr=1e-2, weight_decay=1e-3)
    opt_theirs = torch.optim.Adam(theirs.parameters(), lr=1e-2, weight_decay=1e-3, fused=True)
    for step in range(5):
        x = torch.randn(16, 6, generator=torch.Generator().manual_seed(step))
        for net, opt in ((ours, opt_ours), (theirs, opt_theirs)):
            opt.zero_grad(set_to_none=True)
            (net(x) ** 2).mean().backward()
            opt.step()
    for a, b in zip(ours.parameters(), theirs.parameters(), strict=True):
        assert torch.equal(a, b)
    assert torch.equal(unused, torch.ones(3))


def test_early_stopping_runs_on_the_fused_validation_loss() -> None:
    # the validation -ELBO (loss_factor 1, no gradient) goes through the fused loss too
    gen = Captured(**{**SMALL, "epochs": 6, "early_stopping": True, "patience": 2})
    gen.fit(bundled("nhefs").head(500))
    scores = [entry["valid_nelbo"] for entry in gen.history_]
    assert all(np.isfinite(scores)) and 1 <= len(scores) <= 6
    assert gen.epochs_trained_ == len(scores)
    assert len(gen.sample(50, seed=0)) == 50
