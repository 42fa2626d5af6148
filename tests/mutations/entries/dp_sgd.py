"""DP-SGD (dpctgan, dptvae, lm with epsilon): the mechanism the optimizer really runs.

Every DP-SGD training reaches opacus through ``dp_sgd.attach_opacus``; each mutation wraps
it so the optimizer gets a weaker setting while ``make_private`` records the calibrated one
(and so the recorded epsilon is unchanged).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.mutations.catalogue import mutation

SGD = "tests/generators/private/test_dp_sgd.py"
DEEP = "tests/generators/private/test_dp_deep.py"
AUDIT = "tests/privacy/test_dp_sgd_audit.py"


def _wrap(patch: pytest.MonkeyPatch, change: dict[str, Any]) -> None:
    """Patch ``attach_opacus`` to call the real one with ``change`` applied to its settings.

    ``change`` maps a keyword to a function of its real value.
    """
    from healthforge.generators.private import sgd as dp_sgd

    real = dp_sgd.attach_opacus

    def weakened(*args: Any, **kwargs: Any) -> Any:
        return real(*args, **{**kwargs, **{k: f(kwargs[k]) for k, f in change.items()}})

    patch.setattr(dp_sgd, "attach_opacus", weakened)


@mutation(
    "dp-sgd-noise-tenth",
    "DP-SGD noise multiplier x0.1 in the optimizer, sigma and epsilon recorded unchanged",
    tests=[
        f"{SGD}::test_noise_added_to_the_clipped_sum_has_the_declared_spread",
        f"{SGD}::test_the_optimizers_sigma_spends_the_target_by_an_independent_accountant",
        f"{AUDIT}::test_single_step_audit_stays_below_the_claimed_epsilon",
        f"{DEEP}::test_a_value_outside_the_public_domain_is_never_released",
        f"{DEEP}::test_lm_with_epsilon_records_what_its_optimizer_ran",
    ],
)
def _(patch: pytest.MonkeyPatch) -> None:
    _wrap(patch, {"noise_multiplier": lambda sigma: 0.1 * sigma})


@mutation(
    "dp-sgd-clip-ten",
    "DP-SGD clipping norm x10 in the optimizer (opacus scales its noise with it), norm "
    "recorded unchanged",
    tests=[
        f"{SGD}::test_one_huge_gradient_moves_the_release_by_at_most_the_clipping_norm",
        f"{SGD}::test_noise_added_to_the_clipped_sum_has_the_declared_spread",
        f"{DEEP}::test_lm_with_epsilon_records_what_its_optimizer_ran",
    ],
)
def _(patch: pytest.MonkeyPatch) -> None:
    _wrap(patch, {"max_grad_norm": lambda norm: 10 * norm})


@mutation(
    "dp-sgd-clip-ten-same-noise",
    "DP-SGD clipping norm x10 with the noise's standard deviation unchanged (so each row "
    "can move the release 10x more), norm, sigma and epsilon recorded unchanged",
    tests=[
        f"{SGD}::test_one_huge_gradient_moves_the_release_by_at_most_the_clipping_norm",
        f"{AUDIT}::test_single_step_audit_stays_below_the_claimed_epsilon",
    ],
)
def _(patch: pytest.MonkeyPatch) -> None:
    _wrap(
        patch,
        {"max_grad_norm": lambda norm: 10 * norm, "noise_multiplier": lambda sigma: sigma / 10},
    )


@mutation(
    "dp-sgd-fixed-batches",
    "DP-SGD batches are fixed-size slices instead of Poisson samples; the sampling rate "
    "(and so epsilon) recorded unchanged",
    tests=[
        f"{SGD}::test_batches_are_poisson_samples",
        f"{DEEP}::test_lm_with_epsilon_records_what_its_optimizer_ran",
    ],
)
def _(patch: pytest.MonkeyPatch) -> None:
    _wrap(patch, {"poisson_sampling": lambda _: False})


@mutation(
    "dp-sgd-accountant-half",
    "the RDP accountant reports half the epsilon, so calibration picks too little noise "
    "(and the record shows the halved figure)",
    tests=[f"{SGD}::test_the_optimizers_sigma_spends_the_target_by_an_independent_accountant"],
)
def _(patch: pytest.MonkeyPatch) -> None:
    from healthforge.generators.private import sgd as dp_sgd

    real = dp_sgd.spent_epsilon
    patch.setattr(dp_sgd, "spent_epsilon", lambda *a, **k: 0.5 * real(*a, **k))
