"""The shared DP-SGD helper: calibration, composition with a prior, budget record."""

from __future__ import annotations

import pytest

from healthforge.errors import HealthForgeError
from healthforge.generators.dp_sgd import calibrate_noise, make_private, spent_epsilon

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
