"""Mutations of the marginal-based DP generators (aim, mst, dp_copula): noise and selection."""

from __future__ import annotations

import pytest

from tests.mutations.catalogue import mutation, weaker_noise

T = "tests/privacy/test_marginal_mechanisms.py"


@mutation(
    "pgm-noise-tenth",
    "aim/mst marginal noise x0.1 (drawn), sigma and epsilon recorded unchanged",
    tests=[
        f"{T}::test_pgm_marginal_noise_matches_recorded_sigma",
        f"{T}::test_mst_audit_lower_bound_stays_below_claimed_epsilon",
    ],
)
def _(patch: pytest.MonkeyPatch) -> None:
    from healthforge.generators.private import pgm as private_pgm

    weaker_noise(patch, private_pgm)


@mutation(
    "mst-audit-noise-tenth",
    "mst marginal noise x0.1: the empirical audit's epsilon lower bound exceeds the claim",
    tests=[f"{T}::test_mst_audit_lower_bound_stays_below_claimed_epsilon"],
)
def _(patch: pytest.MonkeyPatch) -> None:
    from healthforge.generators.private import pgm as private_pgm

    weaker_noise(patch, private_pgm)


@mutation(
    "copula-histogram-noise-tenth",
    "dp_copula histogram noise x0.1 (1-D tables), recorded sigma unchanged",
    tests=[f"{T}::test_copula_noise_matches_recorded_sigma"],
)
def _(patch: pytest.MonkeyPatch) -> None:
    from healthforge.generators.private import copula as dp_copula

    weaker_noise(patch, dp_copula, when=lambda table: table.ndim == 1)


@mutation(
    "copula-pair-noise-tenth",
    "dp_copula pair-table noise x0.1 (2-D tables), recorded sigma unchanged",
    tests=[f"{T}::test_copula_noise_matches_recorded_sigma"],
)
def _(patch: pytest.MonkeyPatch) -> None:
    from healthforge.generators.private import copula as dp_copula

    weaker_noise(patch, dp_copula, when=lambda table: table.ndim == 2)


@mutation(
    "mst-scores-true-count",
    "mst tree scores scaled by the true row count again (sensitivity 2, mechanism told 1)",
    tests=[f"{T}::test_selection_scores_move_at_most_the_told_sensitivity"],
)
def _(patch: pytest.MonkeyPatch) -> None:
    from healthforge.generators.private import pgm as private_pgm

    real = private_pgm._mst_scores
    patch.setattr(
        private_pgm,
        "_mst_scores",
        lambda codes, s, p, synth, total: real(codes, s, p, synth, len(codes)),
    )


@mutation(
    "mst-selection-sensitivity-half",
    "mst's exponential mechanism told sensitivity 0.5 instead of the true 1",
    tests=[f"{T}::test_selection_scores_move_at_most_the_told_sensitivity"],
)
def _(patch: pytest.MonkeyPatch) -> None:
    from healthforge.generators.private import pgm as private_pgm

    patch.setattr(private_pgm, "TREE_SCORE_SENSITIVITY", 0.5)
