"""ctgan's written-out critic and split generator forward compute what the modules do."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from healthforge.generators.deep.ctgan_critic import FastCritic  # noqa: E402
from healthforge.generators.deep.ctgan_nets import _networks, critic_loss  # noqa: E402

ACT, COND, M = 30, 12, 64


def _critic(dims: tuple[int, ...], dropout: float) -> object:
    torch.manual_seed(0)
    return _networks()[2](ACT + COND, dims, 1, dropout)


def _rows() -> tuple[object, object, object, object]:
    gen = torch.Generator().manual_seed(1)
    fake, real = torch.rand(M, ACT, generator=gen), torch.rand(M, ACT, generator=gen)
    cond_fake = torch.randint(0, COND, (M,), generator=gen)
    return fake, real, cond_fake, cond_fake[torch.randperm(M, generator=gen)]


@pytest.mark.parametrize("dims", [(32, 16), (24,), (16, 16, 8)])
def test_loss_and_gradients_match_the_module_path(dims: tuple[int, ...]) -> None:
    # without dropout both paths are deterministic given the interpolation weights
    critic = _critic(dims, 0.0)
    fake, real, cond_fake, cond_real = _rows()
    onehot = torch.nn.functional.one_hot
    torch.manual_seed(5)  # the interpolation weights
    loss, penalty = critic_loss(
        torch,
        critic,
        torch.cat([real, onehot(cond_real, COND).float()], dim=1),
        torch.cat([fake, onehot(cond_fake, COND).float()], dim=1),
        1,
    )
    (loss + penalty).backward()
    expected = [p.grad.clone() for p in critic.parameters()]
    critic.zero_grad()

    fast = FastCritic(critic, ACT, 0.0, np.random.default_rng(0))
    torch.manual_seed(5)
    fast_loss, fast_penalty = fast.loss(fake, real, cond_fake, cond_real)
    (fast_loss + fast_penalty).backward()
    assert float(fast_loss.detach()) == pytest.approx(float(loss.detach()), rel=1e-5, abs=1e-6)
    assert float(fast_penalty.detach()) == pytest.approx(float(penalty.detach()), rel=1e-5)
    for want, param in zip(expected, critic.parameters(), strict=True):
        torch.testing.assert_close(param.grad, want, rtol=1e-4, atol=1e-6)
    # the generator's score is the module's forward on [x, onehot(cond)]
    scores = fast.score(fake, cond_fake)
    full = torch.cat([fake, onehot(cond_fake, COND).float()], dim=1)
    torch.testing.assert_close(scores, critic(full), rtol=1e-5, atol=1e-6)


def test_dropout_masks_keep_the_rate_and_are_seeded() -> None:
    critic = _critic((256,), 0.1)
    h = torch.randn(400, 256)
    coef = FastCritic(critic, ACT, 0.1, np.random.default_rng(3))._coef(h)
    dropped = float((coef == 0).float().mean())
    assert dropped == pytest.approx(0.1, abs=0.005)
    # kept units carry the leaky-ReLU slope and the 1 / (1 - p) scale
    kept = coef != 0
    torch.testing.assert_close(
        coef[kept], torch.where(h[kept] > 0, 1 / 0.9, 0.2 / 0.9), rtol=1e-6, atol=1e-7
    )
    again = FastCritic(critic, ACT, 0.1, np.random.default_rng(3))._coef(h)
    assert torch.equal(coef, again)


def test_pac_above_one_is_refused() -> None:
    critic = _networks()[2](ACT + COND, (16,), 2, 0.0)
    with pytest.raises(ValueError, match="pac = 1"):
        FastCritic(critic, ACT, 0.0, np.random.default_rng(0))


@pytest.mark.parametrize("batch_norm", [False, True])
def test_generator_forward_train_matches_forward(batch_norm: bool) -> None:
    torch.manual_seed(0)
    gen = _networks()[1](20, (16, 16), 30, batch_norm)
    x = torch.randn(64, 20)
    out = gen(x)
    out.square().sum().backward()
    expected = [p.grad.clone() for p in gen.parameters()]
    gen.zero_grad()
    again = gen.forward_train(x)
    again.square().sum().backward()
    torch.testing.assert_close(again, out, rtol=1e-5, atol=1e-6)
    for want, param in zip(expected, gen.parameters(), strict=True):
        torch.testing.assert_close(param.grad, want, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("batch_norm", [False, True])
def test_generator_forward_train_with_looked_up_condition_matches_forward(
    batch_norm: bool,
) -> None:
    # input = 8 noise columns + a one-hot conditional vector of 12; pos are the hot spots
    torch.manual_seed(0)
    gen = _networks()[1](8 + COND, (16, 16), 30, batch_norm)
    z = torch.randn(64, 8)
    pos = torch.randint(0, COND - 2, (64,))  # the last two levels never asked for
    x = torch.cat([z, torch.nn.functional.one_hot(pos, COND).float()], dim=1)
    out = gen(x)
    out.square().sum().backward()
    expected = [p.grad.clone() for p in gen.parameters()]
    gen.zero_grad()
    again = gen.forward_train(z, pos)
    again.square().sum().backward()
    torch.testing.assert_close(again, out, rtol=1e-5, atol=1e-5)
    for want, param in zip(expected, gen.parameters(), strict=True):
        torch.testing.assert_close(param.grad, want, rtol=1e-4, atol=1e-5)
    # columns of levels no row asked for get no gradient, as in the dense product
    cond_grad = gen.seq[0].fc.weight.grad[:, 8:]
    assert float(cond_grad[:, COND - 2 :].abs().max()) == 0.0
    assert float(cond_grad[:, : COND - 2].abs().max()) > 0.0


def test_conditional_cross_entropy_matches_every_blocks_normaliser() -> None:
    # the generator's conditional loss over each row's own block equals the previous
    # form, raw[target] - logsumexp of that block taken from every block's normaliser
    from healthforge.generators.deep.ctgan_cond import CondCrossEntropy
    from healthforge.generators.deep.spans import SpanLayout
    from healthforge.generators.deep.transform import NeuralTransformer

    rng = np.random.default_rng(0)
    X = np.column_stack(
        [
            rng.integers(0, 3, 300),  # 3 levels
            rng.integers(0, 7, 300),  # 7 levels: blocks of different widths
            rng.normal(size=300),  # a mixture column (its modes are not conditioned on)
            rng.integers(0, 2, 300),
        ]
    ).astype(float)
    transformer = NeuralTransformer(seed=0).fit(X, np.array([True, True, False, True]))
    layout = SpanLayout(transformer, "cpu")
    cond_cols = transformer.cond_columns
    n_levels = np.array([transformer.plans[j].n_levels for j in cond_cols])
    assert len(cond_cols) == 3 and set(n_levels) == {2, 3, 7}
    raw = torch.randn(200, transformer.dim, requires_grad=True)
    col = rng.integers(0, len(cond_cols), 200)
    opt = rng.integers(0, n_levels[col])
    loss = CondCrossEntropy(transformer, "cpu")(raw, col, opt)
    (grad,) = torch.autograd.grad(loss, raw)

    block_of = {start: b for b, start in enumerate(layout.block_start)}
    blocks = torch.as_tensor([block_of[transformer.plans[cond_cols[c]].softmax_start] for c in col])
    target = torch.as_tensor(layout.block_start)[blocks] + torch.as_tensor(opt)
    lse = layout.block_logsumexp(raw).gather(1, blocks[:, None])
    want = -(raw.gather(1, target[:, None]) - lse).mean()
    (want_grad,) = torch.autograd.grad(want, raw)
    torch.testing.assert_close(loss, want, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(grad, want_grad, rtol=1e-5, atol=1e-8)
