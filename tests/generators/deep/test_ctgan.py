"""ctgan's own switches and module split (the shared deep-generator tests are in test_deep)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from healthforge.errors import HealthForgeError
from healthforge.generators import get_generator, load_model, save_model
from tests.fixtures_data import bundled

pytest.importorskip("torch")

FAST = {"epochs": 8, "batch_size": 100, "early_stopping": False, "threads": 1}


def test_names_other_modules_import_stay_in_ctgan() -> None:
    # tvae and the DP generators import these from ctgan; old model files name _SamplingCond
    from healthforge.generators.deep import ctgan, ctgan_cond

    for name in ("SAMPLE_BATCH", "DeepGenerator", "GUMBEL_TAU", "CtganGenerator", "_networks"):
        assert hasattr(ctgan, name), name
    assert ctgan._SamplingCond is ctgan_cond.SamplingCond


@pytest.mark.parametrize(
    "params",
    [
        {"generator_batch_norm": False, "gumbel_tau": None, "discriminator_dropout": 0.0},
        {"log_frequency": False, "pac": 10, "gumbel_tau": 0.2, "generator_batch_norm": True},
    ],
)
def test_switches_train_sample_and_round_trip(params: dict, tmp_path: Path) -> None:
    real = bundled("icu")
    gen = get_generator("ctgan", seed=0, **FAST, **params).fit(real)
    rows = gen.sample(300, seed=1)
    assert list(rows.columns) == list(real.columns) and len(rows) == 300
    # the outcome keeps both levels (the generator did not collapse onto one)
    assert rows["died"].nunique() == real["died"].nunique()
    save_model(gen, tmp_path / "m.hfm")
    pd.testing.assert_frame_equal(
        load_model(tmp_path / "m.hfm").sample(50, seed=2), gen.sample(50, seed=2)
    )


def test_one_generator_forward_per_step_is_seeded() -> None:
    # the critic and generator steps share a batch; refitting still gives the same rows
    real = bundled("pima")
    first = get_generator("ctgan", seed=3, **FAST).fit(real).sample(200, seed=0)
    again = get_generator("ctgan", seed=3, **FAST).fit(real).sample(200, seed=0)
    pd.testing.assert_frame_equal(first, again)
    assert np.isfinite(first.select_dtypes("number").to_numpy(dtype=float)).any()


@pytest.mark.parametrize(
    "params",
    [{"discriminator_dropout": 1.0}, {"discriminator_dropout": -0.1}, {"gumbel_tau": 0.0}],
)
def test_bad_switches_are_user_errors(params: dict) -> None:
    with pytest.raises(HealthForgeError):
        get_generator("ctgan", **FAST, **params).fit(bundled("pima"))


def test_native_condition_does_not_relabel_rows_made_for_another_level() -> None:
    # #25 defect 1: the conditioned column's output used to be overwritten with the asked
    # level, so a row the generator made for a man (lab near -3) came back as a woman.
    # A generator trained for 2 epochs often disobeys its conditional vector; those rows
    # must be rejected by the condition's mask, not relabelled. Before the fix no row was
    # ever rejected for a single condition on the conditional-vector column.
    rng = np.random.default_rng(0)
    sex = rng.choice(["F", "M"], 300, p=[0.3, 0.7])
    lab = np.round(np.where(sex == "F", 3.0, -3.0) + rng.normal(0, 0.5, 300), 3)
    real = pd.DataFrame({"sex": sex, "lab": lab})
    gen = get_generator("ctgan", seed=0, **{**FAST, "epochs": 2}).fit(real)
    rows = gen.sample(400, seed=1, conditions=["sex=F"])
    assert (rows["sex"] == "F").all() and len(rows) == 400
    assert gen.sample_stats_["rejected_conditions"] > 0
