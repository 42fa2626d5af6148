"""DP-SGD with opacus, shared by every generator that trains a network on private rows.

One call, :func:`make_private`, turns a torch module, its optimizer and a tensor of
training rows into their differentially private versions (Abadi et al. 2016):

* **Poisson sampling**: each step takes every row independently with probability
  ``q = batch_size / n`` (opacus' ``DPDataLoader``), which is what the accountants'
  subsampling analysis assumes; batches vary in size;
* **per-example clipping** of the gradient to L2 norm ``max_grad_norm`` and Gaussian
  noise of standard deviation ``noise_multiplier * max_grad_norm`` on the sum;
* the **noise multiplier is calibrated** so that ``epochs`` epochs spend at most the
  target (epsilon, delta) under the chosen accountant (``"rdp"``: Rényi DP of the
  sampled Gaussian mechanism, Mironov et al. 2019; ``"prv"``: the privacy random
  variable accountant, Gopi et al. 2021). Budget already spent on the same rows by
  zCDP mechanisms (``prior_rho``, e.g. a DP domain release) is composed in RDP:
  ``rho``-zCDP is ``(alpha, rho * alpha)``-RDP at every order ``alpha``.

Adjacency is opacus' add/remove-one-record. Only the module's own parameters learn
from the rows; everything else done with its outputs (a GAN generator's update, any
sampling) is post-processing and spends nothing.

Typical use::

    run = make_private(net, opt, rows, target_epsilon=1.0, delta=1e-6, epochs=30,
                       batch_size=64, max_grad_norm=1.0, seed=None)
    for epoch in range(30):
        for (batch,) in run.loader:        # Poisson batches of ``rows``
            loss = my_loss(run.module, batch)  # mean over the batch
            run.optimizer.zero_grad(); loss.backward(); run.optimizer.step()
    budget = run.budget()                  # DPSGDBudget: accountant's spent epsilon
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass
from typing import Any

from healthforge.errors import HealthForgeError
from healthforge.generators.core.params import check_positive_int
from healthforge.generators.core.torch_support import import_torch
from healthforge.privacy.accounting import check_delta, check_epsilon

ACCOUNTANTS = ("rdp", "prv")
RDP_ORDERS = [1 + x / 10.0 for x in range(1, 100)] + list(range(12, 64)) + [80, 128, 256]
MAX_SIGMA = 1e4  # beyond this the budget is too small to learn anything


@dataclass
class DPSGDBudget:
    """What one DP-SGD training spent (JSON-serialisable via :meth:`as_dict`).

    ``epsilon_spent`` is the accountant's figure for the steps actually taken,
    including ``prior_rho``; it never exceeds ``epsilon_target``.
    """

    mechanism: str
    epsilon_target: float
    epsilon_spent: float
    delta: float
    noise_multiplier: float
    sampling_rate: float
    steps: int
    planned_steps: int
    max_grad_norm: float
    accountant: str
    prior_rho: float = 0.0
    adjacency: str = "add/remove one record"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def check_dp_sgd_params(
    epochs: Any, batch_size: Any, max_grad_norm: Any, accountant: Any, prefix: str = ""
) -> None:
    """Clear errors for DP-SGD settings a user can get wrong."""
    for name, value in (("epochs", epochs), ("batch_size", batch_size)):
        check_positive_int(value, name, prefix)
    if isinstance(max_grad_norm, bool) or not isinstance(max_grad_norm, int | float):
        raise HealthForgeError(f"{prefix}max_grad_norm must be a positive number")
    if not 0 < max_grad_norm < math.inf:
        raise HealthForgeError(f"{prefix}max_grad_norm must be a positive number")
    if accountant not in ACCOUNTANTS:
        raise HealthForgeError(
            f"{prefix}accountant must be one of {', '.join(ACCOUNTANTS)}, not {accountant!r}"
        )


# duplicates: calibrate_noise restates these parameters, as it calls this
def spent_epsilon(
    noise_multiplier: float,
    sampling_rate: float,
    steps: int,
    delta: float,
    accountant: str = "rdp",
    prior_rho: float = 0.0,
) -> float:
    """Epsilon at ``delta`` of ``steps`` sampled-Gaussian steps plus ``prior_rho``-zCDP."""
    from opacus.accountants import create_accountant
    from opacus.accountants.analysis.rdp import compute_rdp, get_privacy_spent

    if steps == 0 and prior_rho == 0:
        return 0.0
    if accountant == "rdp":
        import numpy as np

        orders = np.array(RDP_ORDERS, dtype=float)
        rdp = prior_rho * orders
        if steps:
            rdp = rdp + np.asarray(
                compute_rdp(
                    q=sampling_rate, noise_multiplier=noise_multiplier, steps=steps, orders=orders
                )
            )
        eps, _ = get_privacy_spent(orders=orders, rdp=rdp, delta=delta)
        return float(eps)
    if prior_rho > 0:
        raise HealthForgeError(
            "the prv accountant cannot compose a zCDP domain release",
            "use accountant='rdp', or supply a public schema so no domain is released",
        )
    acc = create_accountant(mechanism=accountant)
    acc.history = [(noise_multiplier, sampling_rate, steps)]
    return float(acc.get_epsilon(delta=delta))


# duplicates: shares spent_epsilon's parameters, which it calls
def calibrate_noise(
    target_epsilon: float,
    delta: float,
    sampling_rate: float,
    steps: int,
    accountant: str = "rdp",
    prior_rho: float = 0.0,
    tolerance: float = 0.01,
) -> float:
    """Smallest noise multiplier (to ``tolerance`` in epsilon) keeping spent <= target."""
    floor = spent_epsilon(MAX_SIGMA, sampling_rate, steps, delta, accountant, prior_rho)
    if floor > target_epsilon:
        raise HealthForgeError(
            f"epsilon {target_epsilon:g} is too small for DP-SGD with these settings "
            "(the domain release alone, or the noise needed, is out of reach)",
            "raise epsilon, train fewer epochs, use a smaller batch_size, or supply a public "
            "schema so no budget goes to the domain",
        )
    low, high = 0.0, 1.0
    eps_high = spent_epsilon(high, sampling_rate, steps, delta, accountant, prior_rho)
    while eps_high > target_epsilon and high < MAX_SIGMA:
        low, high = high, 2 * high
        eps_high = spent_epsilon(high, sampling_rate, steps, delta, accountant, prior_rho)
    while target_epsilon - eps_high > tolerance and high - low > 1e-4:
        mid = (low + high) / 2
        eps = spent_epsilon(mid, sampling_rate, steps, delta, accountant, prior_rho)
        if eps <= target_epsilon:
            high, eps_high = mid, eps
        else:
            low = mid
    return high


@dataclass
class PrivateTraining:
    """A module, optimizer and Poisson loader made private, and how to read the budget."""

    module: Any  # opacus GradSampleModule (forward as usual; ``._module`` is the original)
    optimizer: Any  # opacus DPOptimizer
    loader: Any  # opacus DPDataLoader yielding ``(batch,)`` tuples
    engine: Any
    target_epsilon: float
    delta: float
    noise_multiplier: float
    sampling_rate: float
    planned_steps: int
    max_grad_norm: float
    accountant: str
    prior_rho: float
    mechanism: str

    def steps_taken(self) -> int:
        return int(sum(s for _, _, s in self.engine.accountant.history))

    def budget(self) -> DPSGDBudget:
        """The budget of the steps taken so far, with the accountant's epsilon."""
        steps = self.steps_taken()
        spent = spent_epsilon(
            self.noise_multiplier,
            self.sampling_rate,
            steps,
            self.delta,
            self.accountant,
            self.prior_rho,
        )
        # duplicates: a record built field by field; alike in shape to other keyword lists
        return DPSGDBudget(
            mechanism=self.mechanism,
            epsilon_target=self.target_epsilon,
            epsilon_spent=spent,
            delta=self.delta,
            noise_multiplier=self.noise_multiplier,
            sampling_rate=self.sampling_rate,
            steps=steps,
            planned_steps=self.planned_steps,
            max_grad_norm=self.max_grad_norm,
            accountant=self.accountant,
            prior_rho=self.prior_rho,
        )


def attach_opacus(
    module: Any,
    optimizer: Any,
    loader: Any,
    *,
    accountant: str,
    noise_multiplier: float,
    max_grad_norm: float,
    poisson_sampling: bool,
    generator: Any,
) -> tuple[Any, Any, Any, Any]:
    """The one call into opacus: ``(engine, module, optimizer, loader)`` made private.

    Every DP-SGD training (``dpctgan``, ``dptvae``, ``lm`` with epsilon) reaches opacus
    only here, so the noise multiplier, clipping norm and sampling that the optimizer
    really uses are set in one place (tests/mutations patches this function to check that
    the tests notice a weakened mechanism).
    """
    from opacus import PrivacyEngine

    with warnings.catch_warnings():
        # opacus warns that secure_mode is off: we seed from the OS unless a test pins it
        warnings.simplefilter("ignore")
        engine = PrivacyEngine(accountant=accountant)
        made = engine.make_private(
            module=module,
            optimizer=optimizer,
            data_loader=loader,
            noise_multiplier=noise_multiplier,
            max_grad_norm=max_grad_norm,
            poisson_sampling=poisson_sampling,
            noise_generator=generator,
        )
    return engine, made[0], made[1], made[-1]


def make_private(
    module: Any,
    optimizer: Any,
    rows: Any,
    *,
    target_epsilon: float,
    delta: float,
    epochs: int,
    batch_size: int,
    max_grad_norm: float = 1.0,
    accountant: str = "rdp",
    prior_rho: float = 0.0,
    seed: int | None = None,
    mechanism: str = "DP-SGD (Poisson sampling, per-example clipping, Gaussian noise)",
) -> PrivateTraining:
    """Make ``module`` + ``optimizer`` private for ``epochs`` epochs over ``rows``.

    Args:
        module: a torch module whose trainable layers opacus supports (``Linear``,
            ``LayerNorm``, ``Embedding``...; no ``BatchNorm``, which mixes rows).
        optimizer: the optimizer over ``module``'s parameters.
        rows: tensor ``(n, ...)`` of private rows; one row = one record.
        target_epsilon, delta: the budget for this training (delta < 1/n).
        epochs: planned epochs; ``n / batch_size`` steps each.
        batch_size: expected Poisson batch size; sampling rate ``1 / ceil(n / batch)``.
        max_grad_norm: per-example clipping norm.
        accountant: ``"rdp"`` or ``"prv"``.
        prior_rho: zCDP already spent on the same rows (composed in RDP).
        seed: seed of the sampling and noise; ``None`` draws it from the OS (noise from a
            known seed could be subtracted: only tests should set it).
    Returns:
        a :class:`PrivateTraining`; iterate ``loader``, step ``optimizer`` as usual.
    """
    torch = import_torch()

    check_dp_sgd_params(epochs, batch_size, max_grad_norm, accountant)
    n = len(rows)
    epsilon = check_epsilon(target_epsilon)
    delta = check_delta(delta, n)
    generator = torch.Generator()
    if seed is None:
        generator.seed()
    else:
        generator.manual_seed(seed)
    dataset = torch.utils.data.TensorDataset(rows)
    loader = torch.utils.data.DataLoader(
        dataset, batch_size=min(batch_size, n), shuffle=False, generator=generator
    )
    sampling_rate = 1.0 / len(loader)
    planned_steps = epochs * len(loader)
    sigma = calibrate_noise(epsilon, delta, sampling_rate, planned_steps, accountant, prior_rho)
    engine, private_module, private_optimizer, private_loader = attach_opacus(
        module,
        optimizer,
        loader,
        accountant=accountant,
        noise_multiplier=sigma,
        max_grad_norm=float(max_grad_norm),
        poisson_sampling=True,
        generator=generator,
    )
    return PrivateTraining(
        module=private_module,
        optimizer=private_optimizer,
        loader=private_loader,
        engine=engine,
        target_epsilon=epsilon,
        delta=delta,
        noise_multiplier=sigma,
        sampling_rate=sampling_rate,
        planned_steps=planned_steps,
        max_grad_norm=float(max_grad_norm),
        accountant=accountant,
        prior_rho=float(prior_rho),
        mechanism=mechanism,
    )
