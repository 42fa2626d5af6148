"""Canary tests: a record inside the public domain must not be learnt (issue #20)."""

from __future__ import annotations

import pytest

from tests.mutations.catalogue import mutation

CANARY = "tests/privacy/test_privacy.py::test_a_canary_inside_the_public_domain_is_not_learnt"


@mutation(
    "dp-noise-for-huge-epsilon",
    "aim/mst/dp_copula add the noise of epsilon x 1e5 while claiming epsilon",
    tests=[f"{CANARY}[mst]", f"{CANARY}[dp_copula]", f"{CANARY}[aim]"],
)
def _(patch: pytest.MonkeyPatch) -> None:
    from healthforge.generators.private import fit

    real = fit.check_epsilon
    patch.setattr(fit, "check_epsilon", lambda epsilon: real(epsilon) * 1e5)
