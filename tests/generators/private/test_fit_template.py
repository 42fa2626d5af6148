"""A private instance fits through the one ``Generator.fit`` template and keeps only the
released domain: nothing of the private fit's state (rows, noise generator) stays on it."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from healthforge.data import load_table
from healthforge.data.infer import infer_schema
from healthforge.generators import Generator, get_generator


@pytest.fixture(scope="module")
def icu():  # type: ignore[no-untyped-def]
    return load_table("bundled:icu")[["died", "age", "sex", "systolic", "service"]].head(150)


@pytest.mark.parametrize("name", ["dp_copula", "mst"])
def test_a_dp_fit_runs_the_template_and_keeps_only_the_release(name: str, icu) -> None:  # type: ignore[no-untyped-def]
    assert "fit" not in type(get_generator(name)).__dict__  # no override of the template
    model = get_generator(name, epsilon=1.0, noise_seed=0).fit(icu, infer_schema(icu))
    assert type(model).fit is Generator.fit
    assert "_private_run" not in model.__dict__  # the release's rows and rng: dropped
    assert model.train_hashes_.size == 0 and model.column_rules_ is None
    assert model.train_profile_ is None and "common_hashes_" not in model.__dict__
    state = pickle.loads(pickle.dumps(model)).__dict__
    assert not any(isinstance(v, np.ndarray) and v.shape[0] == len(icu) for v in state.values())
    assert model.schema_ is not None and model.dp_budget_["epsilon"] == 1.0


def test_no_generator_overrides_the_fit_template() -> None:
    from healthforge.generators import FairGenerator, generator_class, generator_names

    classes = [generator_class(n) for n in generator_names(installed_only=True)]
    overriding = [c.__name__ for c in [*classes, FairGenerator] if c.fit is not Generator.fit]
    assert not overriding
