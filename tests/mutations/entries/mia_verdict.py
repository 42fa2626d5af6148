"""The membership-inference verdict reads its 95% interval, not the noisy point (issue #25)."""

from __future__ import annotations

import pytest

from tests.mutations.catalogue import mutation

MIA = "tests/evaluation/test_mia_verdict.py"
NULL = f"{MIA}::test_null_generator_fails_no_more_often_than_alpha"


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
    from healthforge.evaluation import privacy

    real = privacy.auc_interval

    def flipped(*args, **kwargs):  # type: ignore[no-untyped-def]
        out = real(*args, **kwargs)
        out["ci"] = [out["ci"][1], out["ci"][1]]
        return out

    patch.setattr(privacy, "auc_interval", flipped)


@mutation(
    "mia-inconclusive-off",
    "the interval's upper bound is dropped: a wide interval passes instead of 'inconclusive'",
    tests=[f"{MIA}::test_copy_at_icu_size_is_never_a_pass"],
)
def _(patch: pytest.MonkeyPatch) -> None:
    from healthforge.evaluation import privacy

    real = privacy.auc_interval

    def lower_only(*args, **kwargs):  # type: ignore[no-untyped-def]
        out = real(*args, **kwargs)
        out["ci"] = [out["ci"][0], out["ci"][0]]
        return out

    patch.setattr(privacy, "auc_interval", lower_only)
