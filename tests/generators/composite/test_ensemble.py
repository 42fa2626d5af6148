"""The ensemble generator: a mixture of members, each row drawn by one of them."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from healthforge.errors import HealthForgeError
from healthforge.generators import describe, get_generator, load_model, save_model
from healthforge.generators.composite.ensemble import parse_members
from healthforge.generators.core.base import Generator
from tests.cli.test_cli import assert_clean_failure, run
from tests.fixtures_data import assert_rows_valid, bundled

FAST_DDPM = {"ddpm": {"max_epochs": 30, "check_every": 20}}


@cache
def fitted_default() -> Generator:
    """The default members (ddpm 2 : cart 1) on ICU, ddpm trained briefly."""
    return get_generator("ensemble", params=FAST_DDPM, seed=3).fit(bundled("icu"))


def test_default_members_give_valid_rows_in_their_shares() -> None:
    model = fitted_default()
    assert [m.name for m in model.models_] == ["ddpm", "cart"]
    np.testing.assert_allclose(model.weights_, [2 / 3, 1 / 3])
    # members are seeded apart, so a repeated name is a second, different fit
    assert [m.seed for m in model.models_] == [3, 4]
    drawn = []
    for member in model.models_:  # count the rows each member is asked for
        original = member._sample
        member._sample = lambda k, rng, f=original: (drawn.append(k), f(k, rng))[1]
    try:
        synthetic = model.sample(3000, seed=1)
    finally:
        for member in model.models_:
            del member._sample
    assert_rows_valid(model, bundled("icu"), synthetic, tol=0.08)
    ddpm_rows, cart_rows = drawn[0], drawn[1]
    assert ddpm_rows + cart_rows >= 3000
    assert abs(ddpm_rows / (ddpm_rows + cart_rows) - 2 / 3) < 0.05


def test_same_seed_same_rows_and_persistence(tmp_path: Path) -> None:
    model = fitted_default()
    first = model.sample(400, seed=5)
    pd.testing.assert_frame_equal(first, model.sample(400, seed=5))
    assert not first.equals(model.sample(400, seed=6))
    path = tmp_path / "ensemble.hfm"
    save_model(model, path)
    pd.testing.assert_frame_equal(first, load_model(path).sample(400, seed=5))


def test_conditions_hold_on_every_row() -> None:
    rows = fitted_default().sample(300, seed=2, conditions=["sex=Female", "age>=65"])
    assert len(rows) == 300 and (rows.sex == "Female").all() and (rows.age >= 65).all()


def test_members_without_ddpm_handle_wide_tables() -> None:
    wide = bundled("tissue_gene_expression")
    model = get_generator(
        "ensemble", members="cart:1,gaussian_copula:1", params={"cart": {"max_predictors": 10}}
    ).fit(wide)
    assert model.sample(50, seed=0).shape == (50, wide.shape[1])
    with pytest.raises(HealthForgeError, match="member 'ddpm' does not handle"):
        get_generator("ensemble").fit(wide)


def test_parse_members() -> None:
    assert parse_members("ddpm:2, cart") == [("ddpm", 2.0), ("cart", 1.0)]
    assert parse_members({"cart": 1, "arf": 0.5}) == [("cart", 1.0), ("arf", 0.5)]
    for bad in ("ddpm:-1", "ddpm:x", "ddpm:2,", ":3", "ddpm:nan"):
        with pytest.raises(HealthForgeError, match="positive weight"):
            parse_members(bad)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"members": "cart,nosuch"}, "nosuch"),
        ({"members": "cart,aim"}, "member 'aim' is differentially private"),
        ({"members": "cart,ensemble"}, "member 'ensemble' is this one"),
        ({"members": "cart", "params": {"ddpm": {}}}, "ddpm, which is not a member"),
        ({"members": "cart", "params": {"cart": {"max_predictors": "x"}}}, "must be a number"),
        ({"members": "cart", "params": {"cart": {"seed": 3}}}, "member 'cart' a seed"),
    ],
)
def test_bad_members_are_refused_before_fitting(params: dict, message: str) -> None:
    with pytest.raises(HealthForgeError, match=message):
        get_generator("ensemble", **params).fit(bundled("pima"))


def test_cli_fit_sample_and_one_line_errors(tmp_path: Path) -> None:
    model, out = tmp_path / "pima.hfm", tmp_path / "pima.csv"
    members = ("--param", "members=cart:2,bayesian_network:1")
    result = run("fit", "bundled:pima", "-g", "ensemble", *members, "--save", model)
    assert result.exit_code == 0, result.output
    assert run("sample", model, "-n", 500, "-o", out).exit_code == 0
    assert len(pd.read_csv(out)) == 500
    model.unlink()
    bad = ("--param", "members=cart:0")
    assert_clean_failure(
        run("fit", "bundled:pima", "-g", "ensemble", *bad, "--save", model), "positive weight"
    )
    assert not model.exists()


def test_registry_description() -> None:
    info = describe("ensemble")
    assert info.family == "ensemble" and info.conditioning == "native"
    assert info.params["members"] == "ddpm:2,cart:1" and not info.differential_privacy


# lm trained for one epoch: only whether the ensemble takes it is under test
FAST_LM = {"epochs": 1, "d_model": 8, "n_heads": 2, "n_layers": 1, "calibrate": False}
FAST_LM |= {"early_stopping": False, "threads": 1, "device": "cpu"}


def test_lm_is_a_member_only_without_epsilon() -> None:
    """Privacy is the configured instance's: lm without epsilon is not private."""
    data = bundled("icu")
    private = {"lm": {**FAST_LM, "epsilon": 1.0}}
    with pytest.raises(HealthForgeError, match="member 'lm' is differentially private"):
        get_generator("ensemble", members="lm:1,cart:1", params=private).fit(data)
    model = get_generator("ensemble", members="lm:1,cart:1", params={"lm": FAST_LM})
    model.fit(data)
    assert [m.name for m in model.models_] == ["lm", "cart"]
    assert not model.is_private and not model.models_[0].is_private
    assert len(model.sample(50, seed=1)) == 50
