"""``fit_model``: the one call that fits a generator, with publicness said explicitly."""

from __future__ import annotations

import pandas as pd
import pytest

from healthforge.data import load_table, prepare
from healthforge.generators import get_generator
from healthforge.pipeline import fit_model


@pytest.fixture(scope="module")
def icu() -> pd.DataFrame:
    return load_table("bundled:icu")


def test_a_prepared_schema_is_never_public_to_a_private_generator(icu: pd.DataFrame) -> None:
    prepared = prepare(icu, None, "died")
    inferred = fit_model(
        get_generator("dp_copula", epsilon=100.0, noise_seed=0),
        prepared.frame,
        schema=prepared.schema,
        excluded=prepared.excluded,
    )
    assert inferred.dp_budget_["public_schema"] is False  # its domain was released with DP
    declared = fit_model(
        get_generator("dp_copula", epsilon=100.0, noise_seed=0),
        prepared.frame,
        schema=prepared.schema,
        public=True,
    )
    assert declared.dp_budget_["public_schema"] is True


def test_the_forms_agree_for_a_generator_without_privacy(icu: pd.DataFrame) -> None:
    """Raw rows, a declared schema and prepared rows give the same model and rows."""
    prepared = prepare(icu, None, "died")
    raw = fit_model(get_generator("cart", seed=0), icu, target="died")
    declared = fit_model(get_generator("cart", seed=0), icu, schema=prepared.schema, public=True)
    kept = fit_model(
        get_generator("cart", seed=0), prepared.frame, schema=prepared.schema, excluded={}
    )
    first = raw.sample(50, seed=1)
    assert raw.schema_.target == kept.schema_.target == "died"
    pd.testing.assert_frame_equal(first, declared.sample(50, seed=1))
    pd.testing.assert_frame_equal(first, kept.sample(50, seed=1))
