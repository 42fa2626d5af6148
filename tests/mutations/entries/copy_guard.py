"""The copy guard: no copy of a rare training row, common patterns kept (issue #20, 7)."""

from __future__ import annotations

import pytest

from tests.mutations.catalogue import copy_guard_off, mutation

GUARD = "tests/privacy/test_copy_guard.py"
RARE = f"{GUARD}::test_rare_rows_are_never_copied_and_common_ones_are_kept"
MISSING = f"{GUARD}::test_missing_rates_are_kept"


@mutation(
    "copy-guard-off",
    "no training pattern counts as rare: copies of unique training rows are released",
    tests=[RARE],
)
def _(patch: pytest.MonkeyPatch) -> None:
    copy_guard_off(patch)


@mutation(
    "copy-guard-inverted",
    "the guard rejects copies of common patterns and lets rare ones through",
    tests=[RARE],
)
def _(patch: pytest.MonkeyPatch) -> None:
    from healthforge.generators.core import base

    real = base._pattern_hashes
    patch.setattr(base, "_pattern_hashes", lambda df, k: real(df, k)[::-1])


@mutation("copy-guard-k1", "RARE_PATTERN_K = 1: no pattern is rare", tests=[RARE])
def _(patch: pytest.MonkeyPatch) -> None:
    from healthforge.generators.core import base

    patch.setattr(base, "RARE_PATTERN_K", 1)


@mutation(
    "copy-guard-every-copy",
    "the old guard: every training pattern is redrawn, biasing missing rates",
    tests=[MISSING],
)
def _(patch: pytest.MonkeyPatch) -> None:
    from healthforge.generators.core import base

    patch.setattr(base, "RARE_PATTERN_K", 10**9)
