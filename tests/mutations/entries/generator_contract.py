"""One contract for every generator: privacy is the instance's, the copy guard holds for
every registered generator (issue #21, items 2 and 3)."""

from __future__ import annotations

import pytest

from tests.mutations.catalogue import copy_guard_off, mutation

COMPOSITE = "tests/generators/composite"
ENSEMBLE_LM = f"{COMPOSITE}/test_ensemble.py::test_lm_is_a_member_only_without_epsilon"
FAIR_LM = f"{COMPOSITE}/test_fair_option.py::test_generate_fair_by_wraps_lm_only_without_epsilon"
COPY = "tests/generators/test_contract.py::test_no_copy_of_a_unique_training_row"


@mutation(
    "lm-private-without-epsilon",
    "lm counts as private whatever its epsilon (the old class flag): ensemble and "
    "--fair-by refuse a non-private lm",
    tests=[ENSEMBLE_LM, FAIR_LM],
)
def _(patch: pytest.MonkeyPatch) -> None:
    from healthforge.generators.lm.generator import LmGenerator

    patch.setattr(LmGenerator, "is_private", property(lambda self: True))


@mutation(
    "lm-never-private",
    "lm with epsilon counts as not private: ensemble and --fair-by would wrap a DP model "
    "whose budget they do not account",
    tests=[ENSEMBLE_LM, FAIR_LM],
)
def _(patch: pytest.MonkeyPatch) -> None:
    from healthforge.generators.lm.generator import LmGenerator

    patch.setattr(LmGenerator, "is_private", property(lambda self: False))


@mutation(
    "contract-copy-guard-off",
    "no training pattern counts as rare: the contract test must see copies of unique rows",
    tests=[f"{COPY}[cart]", f"{COPY}[arf]", f"{COPY}[fair(cart)]"],
)
def _(patch: pytest.MonkeyPatch) -> None:
    copy_guard_off(patch)
