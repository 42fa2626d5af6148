"""Mutations of the DP domain release and of what a DP ``lm`` keeps (issue #20: 1, 2, 5)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tests.mutations.catalogue import mutation, weaker_noise

DOMAIN = "tests/privacy/test_dp_domain.py"
LM = "tests/privacy/test_lm_private.py"


@mutation(
    "domain-bounds-flat-grid",
    "numeric bounds by the old exponential mechanism on the flat 1e-3..1e9 grid",
    tests=[
        f"{DOMAIN}::test_released_bounds_of_a_skewed_lab_value_hug_its_range",
        f"{DOMAIN}::test_released_bounds_of_bundled_tables_hug_their_range",
    ],
)
def _(patch: pytest.MonkeyPatch) -> None:
    from healthforge.data.encoding import TableEncoder
    from healthforge.generators.private import budget, domain
    from healthforge.privacy.accounting import check_epsilon, default_delta

    mantissas = (1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 7.0)
    positive = np.array([m * 10.0**k for k in range(-3, 10) for m in mantissas])
    grid = np.unique(np.concatenate([-positive, [0.0], positive]))

    def old(prepared, epsilon, delta, noise_seed, widths=None):  # type: ignore[no-untyped-def]
        # the same budget split (rho = 1 / (2 sigma^2) per column) spent on two
        # exponential mechanisms with utility -|rank error| around the 0.5% quantiles
        n = len(prepared.frame)
        delta = default_delta(n) if delta is None else delta
        _, rho, _ = budget.private_budget(check_epsilon(epsilon), delta, False, prepared.schema)
        plan = domain.domain_plan(prepared.schema, False, rho)
        matrix = TableEncoder(prepared.schema).encode(prepared.frame)
        rng = np.random.default_rng(noise_seed)
        em_epsilon = math.sqrt(8 / (2 * plan.bounds_sigma**2))
        out = {}
        for j in plan.need_bounds:
            x = np.sort(matrix[:, j][np.isfinite(matrix[:, j])])
            target = 0.005 * len(x)
            below = np.searchsorted(x, grid, "left")
            above = len(x) - np.searchsorted(x, grid, "right")
            picks = []
            for utility in (-np.abs(below - target), -np.abs(above - target)):
                logits = em_epsilon / 2 * utility / 2
                p = np.exp(logits - logits.max())
                picks.append(grid[rng.choice(len(p), p=p / p.sum())])
            out[prepared.schema.modelled[j].name] = tuple(float(v) for v in sorted(picks))
        return out

    patch.setattr(domain, "released_bounds", old)


@mutation(
    "domain-bounds-no-threshold",
    "every bounds window counts as occupied: the scan's thresholds are 0",
    tests=[
        f"{DOMAIN}::test_released_bounds_of_a_skewed_lab_value_hug_its_range",
        f"{DOMAIN}::test_released_bounds_of_bundled_tables_hug_their_range",
    ],
)
def _(patch: pytest.MonkeyPatch) -> None:
    from healthforge.generators.private import bounds

    def zero(sigma: float, widths: tuple[int, ...] = bounds.BOUNDS_WIDTHS, failure: float = 0.0):
        return {w: 0.0 for w in widths}

    patch.setattr(bounds, "bounds_thresholds", zero)


@mutation(
    "domain-noise-tenth",
    "the domain release draws its noise with a tenth of the sigma it records",
    tests=[f"{DOMAIN}::test_domain_release_noise_has_the_recorded_sigma"],
)
def _(patch: pytest.MonkeyPatch) -> None:
    from healthforge.generators.private import domain

    weaker_noise(patch, domain)


@mutation(
    "domain-prepared-schema-public",
    "a PreparedData's inferred schema is trusted as public (lm's old rule)",
    tests=[
        f"{LM}::test_strict_bounds_refuse_a_prepared_table",
        f"{LM}::test_cli_lm_strict_bounds_without_a_schema_is_refused",
        f"{LM}::test_a_prepared_tables_domain_is_released_with_dp",
    ],
)
def _(patch: pytest.MonkeyPatch) -> None:
    from healthforge.data.prepare import PreparedData
    from healthforge.generators.core import base

    real = base.private_fit  # looked up here by Generator.fit, the one caller

    def trusting(name, data, schema, **kwargs):  # type: ignore[no-untyped-def]
        if isinstance(data, PreparedData) and schema is None:
            data, schema = data.frame, data.schema
        return real(name, data, schema, **kwargs)

    patch.setattr(base, "private_fit", trusting)


@mutation(
    "lm-dp-keeps-loss-history",
    "a DP lm keeps its per-epoch mean training loss (unnoised) in the model file",
    tests=[f"{LM}::test_a_dp_model_file_keeps_no_loss_history"],
)
def _(patch: pytest.MonkeyPatch) -> None:
    from healthforge.generators.lm.generator import LmGenerator

    real = LmGenerator._train

    def keeping(self, tokenizer, codes, progress, private):  # type: ignore[no-untyped-def]
        result = real(self, tokenizer, codes, progress, private)
        self.history_ = result.history
        return result

    patch.setattr(LmGenerator, "_train", keeping)
