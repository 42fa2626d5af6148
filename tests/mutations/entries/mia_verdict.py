"""The membership-inference verdict reads its 95% interval, not the noisy point (issue #25)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.mutations.catalogue import mutation

MIA = "tests/evaluation/test_mia_verdict.py"
NULL = f"{MIA}::test_null_generator_fails_no_more_often_than_alpha"


def _reshape_interval(patch: pytest.MonkeyPatch, reshape: Callable[[list], list]) -> None:
    """``domias_auc`` reports ``reshape(ci)`` instead of its interval."""
    from healthforge.evaluation import privacy

    real = privacy.auc_interval

    def patched(*args, **kwargs):  # type: ignore[no-untyped-def]
        out = real(*args, **kwargs)
        out["ci"] = reshape(out["ci"])
        return out

    patch.setattr(privacy, "auc_interval", patched)


@mutation(
    "mia-interval-dropped",
    "the MIA interval collapses to the point estimate: small holdouts fail on noise",
    tests=[NULL],
)
def _(patch: pytest.MonkeyPatch) -> None:
    from healthforge.evaluation import privacy

    patch.setattr(privacy, "MIA_Z", 0.0)


@mutation(
    "mia-interval-upper-bound",
    "the verdict reads the interval's upper bound: a null generator warns on a wide interval",
    tests=[NULL],
)
def _(patch: pytest.MonkeyPatch) -> None:
    _reshape_interval(patch, lambda ci: [ci[1], ci[1]])


@mutation(
    "mia-inconclusive-off",
    "the interval's upper bound is dropped: a wide interval passes instead of 'inconclusive'",
    tests=[f"{MIA}::test_copy_at_icu_size_is_never_a_pass"],
)
def _(patch: pytest.MonkeyPatch) -> None:
    _reshape_interval(patch, lambda ci: [ci[0], ci[0]])
