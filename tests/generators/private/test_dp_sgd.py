"""The shared DP-SGD helper: calibration, composition with a prior, budget record."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.special import gammaln, logsumexp
from scipy.stats import binom, chi2, norm

from healthforge.errors import HealthForgeError
from healthforge.generators.private.sgd import calibrate_noise, make_private, spent_epsilon

torch = pytest.importorskip("torch")
pytest.importorskip("opacus")


def test_calibrated_noise_spends_at_most_the_target():
    sigma = calibrate_noise(1.0, 1e-6, 0.1, 100)
    assert spent_epsilon(sigma, 0.1, 100, 1e-6) <= 1.0
    # a little less noise would overspend: the calibration is tight
    assert spent_epsilon(sigma * 0.95, 0.1, 100, 1e-6) > 0.97


def test_prior_zcdp_costs_budget():
    alone = spent_epsilon(2.0, 0.1, 100, 1e-6)
    with_prior = spent_epsilon(2.0, 0.1, 100, 1e-6, prior_rho=0.01)
    assert with_prior > alone
    assert calibrate_noise(1.0, 1e-6, 0.1, 100, prior_rho=0.01) > calibrate_noise(
        1.0, 1e-6, 0.1, 100
    )


def test_budget_out_of_reach_is_a_clear_error():
    with pytest.raises(HealthForgeError, match="too small"):
        calibrate_noise(0.05, 1e-6, 0.1, 100, prior_rho=0.01)


def test_training_records_the_accountants_epsilon():
    torch.manual_seed(0)
    x = torch.randn(400, 4)
    rows = torch.cat([x, (x[:, :1] > 0).float()], dim=1)
    net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))
    opt = torch.optim.SGD(net.parameters(), lr=0.5)
    run = make_private(
        net, opt, rows, target_epsilon=2.0, delta=1e-5, epochs=2, batch_size=50, seed=0
    )
    assert run.sampling_rate == pytest.approx(50 / 400)
    for _ in range(2):
        for (batch,) in run.loader:
            out = run.module(batch[:, :4]).squeeze(1)
            loss = torch.nn.functional.binary_cross_entropy_with_logits(out, batch[:, 4])
            run.optimizer.zero_grad()
            loss.backward()
            run.optimizer.step()
    budget = run.budget()
    assert budget.steps == budget.planned_steps == 16
    assert 0 < budget.epsilon_spent <= 2.0
    assert budget.as_dict()["accountant"] == "rdp"


def test_invalid_settings_are_clear_errors():
    net = torch.nn.Linear(2, 1)
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    rows = torch.zeros(100, 2)
    with pytest.raises(HealthForgeError, match="epsilon"):
        make_private(net, opt, rows, target_epsilon=0, delta=1e-6, epochs=1, batch_size=10)
    with pytest.raises(HealthForgeError, match="delta"):
        make_private(net, opt, rows, target_epsilon=1, delta=0.5, epochs=1, batch_size=10)
    with pytest.raises(HealthForgeError, match="accountant"):
        make_private(
            net, opt, rows, target_epsilon=1, delta=1e-6, epochs=1, batch_size=10, accountant="x"
        )


# --- issue 20: tests that tell a weakened DP-SGD mechanism from a correct one -------------
# Each runs the real make_private (the path dpctgan, dptvae and lm take) on a tiny linear
# model whose per-example gradients are known in closed form, so the test's own arithmetic
# (clipping, the clipped sum) is independent of opacus. Seeds are fixed: each test is
# deterministic; the stated false-positive rate is over the choice of seeds.

NOISE_ROWS, NOISE_BATCH, NOISE_FEATURES, NOISE_OUTPUTS = 40, 10, 16, 8
NOISE_STEPS = 100  # x (16 x 8 weights + 8 biases) = 13,600 noise draws
NOISE_TARGET, NOISE_DELTA, NOISE_PRIOR = 1.0, 1e-5, 0.005


def _per_example_grads(batch, outputs: int):
    """Gradients of ``linear(x).sum()`` per row: weight ``1 x^T`` (outputs x d), bias ``1``."""
    weight = batch[:, None, :].expand(-1, outputs, -1).reshape(len(batch), -1)
    return torch.cat([weight, torch.ones(len(batch), outputs, dtype=batch.dtype)], dim=1)


def _clipped_sum(grads, max_norm: float):
    """Sum of per-example gradients, each scaled to L2 norm at most ``max_norm``."""
    norms = grads.norm(dim=1, keepdim=True)
    return (grads * torch.clamp(max_norm / norms, max=1.0)).sum(dim=0)


def _flat_params(net):
    return torch.cat([net.weight.detach().reshape(-1), net.bias.detach().reshape(-1)]).clone()


def _noisy_sum(run, net, batch):
    """One DP-SGD step with SGD(lr=1); the released noisy sum of clipped gradients.

    opacus releases ``(clipped sum + noise) / expected_batch_size`` as the gradient, so the
    parameter change times ``-expected_batch_size`` is the noisy sum.
    """
    before = _flat_params(net)
    loss = run.module(batch).sum(dim=1).mean()
    run.optimizer.zero_grad()
    loss.backward()
    run.optimizer.step()
    return -(_flat_params(net) - before).double() * run.optimizer.expected_batch_size


@pytest.fixture(scope="module")
def noise_run():
    """NOISE_STEPS Poisson-sampled steps through make_private; the noise each one added."""
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(NOISE_ROWS, NOISE_FEATURES, generator=gen)
    # per-example gradient norms from ~0.5 to ~40: some clipped at max_grad_norm 2, some not
    rows = x * torch.logspace(-2, 0, NOISE_ROWS)[:, None] * 2
    net = torch.nn.Linear(NOISE_FEATURES, NOISE_OUTPUTS)
    opt = torch.optim.SGD(net.parameters(), lr=1.0)
    run = make_private(
        net,
        opt,
        rows,
        target_epsilon=NOISE_TARGET,
        delta=NOISE_DELTA,
        epochs=4,
        batch_size=NOISE_BATCH,
        max_grad_norm=2.0,
        prior_rho=NOISE_PRIOR,
        seed=2,
    )
    noise, sizes = [], []
    while len(sizes) < NOISE_STEPS:
        for (batch,) in run.loader:
            released = _noisy_sum(run, net, batch)
            clipped = _clipped_sum(_per_example_grads(batch.double(), NOISE_OUTPUTS), 2.0)
            noise.append(released - clipped)
            sizes.append(len(batch))
            if len(sizes) == NOISE_STEPS:
                break
    return run, torch.cat(noise).numpy(), np.array(sizes)


def test_noise_added_to_the_clipped_sum_has_the_declared_spread(noise_run) -> None:
    """std(noisy sum - clipped sum) = noise_multiplier x max_grad_norm (chi-square test).

    Under the null the released noise is N(0, s^2) per coordinate with s the recorded
    sigma x the recorded norm, so sum(z^2)/s^2 ~ chi^2(N): a two-sided 99.9% interval
    (false-positive rate 0.1%) is +-2.0% on the standard deviation for N = 13,600.
    The mean is checked at the same rate (z-test), so 0.2% in all.
    """
    run, noise, _ = noise_run
    declared = run.noise_multiplier * run.max_grad_norm
    assert run.budget().noise_multiplier == run.noise_multiplier  # what is recorded
    n = noise.size
    statistic = float(np.sum(noise**2) / declared**2)
    low, high = chi2.ppf(0.0005, n), chi2.ppf(0.9995, n)
    ratio = math.sqrt(statistic / n)  # measured std / declared std
    assert low <= statistic <= high, f"noise std is {ratio:.3f} x the declared {declared:.4f}"
    assert abs(noise.mean()) <= norm.ppf(0.9995) * declared / math.sqrt(n)


def test_batches_are_poisson_samples(noise_run) -> None:
    """Batch sizes follow Binomial(n, q), as the accountant's subsampling analysis assumes.

    Chi-square goodness of fit over NOISE_STEPS batches (bins merged to expected counts
    >= 5), false-positive rate 0.1%. Fixed-size batches (all of size 10) fail it.
    """
    run, _, sizes = noise_run
    q = run.sampling_rate
    assert q == pytest.approx(NOISE_BATCH / NOISE_ROWS)
    edges = [0, 7, 8, 9, 10, 11, 12, 13, NOISE_ROWS + 1]  # [0,7), [7,8), ..., [13, n]
    observed = np.histogram(sizes, bins=edges)[0]
    cdf = binom.cdf(np.array(edges) - 1, NOISE_ROWS, q)
    expected = np.diff(np.concatenate([[0.0], cdf[1:]])) * len(sizes)
    assert expected.min() >= 5
    statistic = float(np.sum((observed - expected) ** 2 / expected))
    assert statistic <= chi2.ppf(0.999, len(expected) - 1), (observed, expected.round(1))


def independent_epsilon(
    sigma: float, q: float, steps: int, delta: float, prior_rho: float = 0.0
) -> float:
    """(epsilon, delta) of ``steps`` Poisson-subsampled Gaussian steps + rho-zCDP, by hand.

    RDP at integer orders a (Mironov, Talwar & Zhang 2019, add/remove adjacency):
    ``log A_a / (a - 1)``, ``A_a = sum_k C(a, k) (1-q)^(a-k) q^k exp((k^2 - k) / (2 sigma^2))``;
    composition adds RDP (rho-zCDP is ``rho * a``); conversion to (epsilon, delta) as
    Balle et al. 2020 (Thm 21): ``rdp + log((a-1)/a) - (log delta + log a) / (a - 1)``.
    Only integer orders 2..256, so never below opacus' figure over its finer grid.
    """
    best = math.inf
    for a in range(2, 257):
        k = np.arange(a + 1)
        log_terms = (
            gammaln(a + 1)
            - gammaln(k + 1)
            - gammaln(a - k + 1)
            + (a - k) * math.log1p(-q)
            + k * math.log(q)
            + (k * k - k) / (2 * sigma**2)
        )
        rdp = steps * logsumexp(log_terms) / (a - 1) + prior_rho * a
        eps = rdp + math.log((a - 1) / a) - (math.log(delta) + math.log(a)) / (a - 1)
        best = min(best, eps)
    return best


def test_the_optimizers_sigma_spends_the_target_by_an_independent_accountant(
    noise_run,
) -> None:
    """The sigma the optimizer uses, fed into a hand-written RDP accountant: eps <= target.

    Also close to it (calibration is tight: the independent figure at integer orders is
    within 0.03 of the target), and the record states the sigma, norm and rate in use.
    """
    run, _, _ = noise_run
    sigma = run.optimizer.noise_multiplier
    assert sigma == run.noise_multiplier == run.budget().noise_multiplier
    assert run.optimizer.max_grad_norm == run.max_grad_norm == run.budget().max_grad_norm
    assert run.loader.sample_rate == run.sampling_rate == run.budget().sampling_rate
    planned = run.planned_steps
    eps = independent_epsilon(sigma, run.sampling_rate, planned, NOISE_DELTA, NOISE_PRIOR)
    assert NOISE_TARGET - 0.03 <= eps <= NOISE_TARGET, eps
    # and 10% less noise would overspend, by the same independent accountant
    assert independent_epsilon(
        0.9 * sigma, run.sampling_rate, planned, NOISE_DELTA, NOISE_PRIOR
    ) > (NOISE_TARGET)


def test_independent_accountant_agrees_with_opacus_at_integer_orders() -> None:
    """The hand-written RDP of the sampled Gaussian equals opacus' at integer orders."""
    from opacus.accountants.analysis.rdp import compute_rdp

    for sigma, q in ((0.8, 0.05), (2.0, 0.25), (5.0, 1.0)):
        orders = [2, 3, 8, 32, 100]
        theirs = compute_rdp(q=q, noise_multiplier=sigma, steps=1, orders=orders)
        for a, rdp in zip(orders, theirs, strict=True):
            k = np.arange(a + 1)
            log_terms = (
                gammaln(a + 1)
                - gammaln(k + 1)
                - gammaln(a - k + 1)
                + (a - k) * (math.log1p(-q) if q < 1 else 0.0)
                + k * math.log(q)
                + (k * k - k) / (2 * sigma**2)
            )
            if q == 1:
                log_terms = log_terms[-1:]  # only k = a has weight
            assert logsumexp(log_terms) / (a - 1) == pytest.approx(rdp, rel=1e-6)


def test_one_huge_gradient_moves_the_release_by_at_most_the_clipping_norm() -> None:
    """Per-example clipping: a row whose gradient is ~10^4 x the norm shifts the noisy sum
    by exactly max_grad_norm along its direction, plus noise.

    Every row is in every batch (batch_size >= n). On each of 20 steps the release minus
    the other rows' clipped sum must be within max_grad_norm + the noise's 99.99% radius
    (chi^2 with 5 degrees of freedom; false-positive rate <= 20 x 0.01% = 0.2%), and its
    mean component along the huge gradient must be max_grad_norm within 3.9 standard
    errors (0.01%): clipped, not dropped and not unclipped.
    """
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(3)
    rows = 0.3 * torch.randn(20, 4, generator=gen)
    rows[7] = torch.tensor([1e4, 0.0, 0.0, 0.0])  # the huge row
    net = torch.nn.Linear(4, 1)
    opt = torch.optim.SGD(net.parameters(), lr=1.0)
    norm_c = 0.5
    run = make_private(
        net,
        opt,
        rows,
        target_epsilon=8.0,
        delta=1e-5,
        epochs=1,
        batch_size=20,
        max_grad_norm=norm_c,
        seed=4,
    )
    assert run.sampling_rate == 1.0
    sigma = run.noise_multiplier
    others = torch.cat([rows[:7], rows[8:]]).double()
    radius = norm_c + sigma * norm_c * math.sqrt(chi2.ppf(0.9999, 5))
    along = []
    for _ in range(20):
        for (batch,) in run.loader:
            assert len(batch) == 20
            rest = _noisy_sum(run, net, batch) - _clipped_sum(_per_example_grads(others, 1), norm_c)
            assert float(rest.norm()) <= radius, (float(rest.norm()), radius)
            along.append(float(rest[0]))
    # the huge row's clipped gradient is (1e4, 0, 0, 0, 1) scaled to norm_c: ~norm_c along x0
    spread = sigma * norm_c / math.sqrt(len(along))
    assert abs(np.mean(along) - norm_c) <= norm.ppf(0.99995) * spread, np.mean(along)
