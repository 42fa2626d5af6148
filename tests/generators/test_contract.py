"""The generator contract, checked on every registered generator (as scikit-learn's
``check_estimator``): a new generator registered in ``healthforge.generators.core.registry``
gets every check here for free.

Per generator: parameters round-trip; fit and sample on a small mixed table and on a
missing-heavy one; a wide table (more columns than rows) is fitted, or refused in one
line exactly when the registry says ``high_dimensional = False``; the same seed gives the
same rows (from one model, from a refit and from a saved and loaded model); rows decode
to the training columns, dtypes and categories; a condition holds on every row or is
refused in one line; and no synthetic row of a non-private generator equals a unique
training row (the copy guard, ``generators.core.base.RARE_PATTERN_K``).

Settings are tiny (``FAST``) so the whole file takes about a minute on two cores; the
quality of the rows is not judged here, only the contract.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from healthforge.errors import HealthForgeError
from healthforge.generators import describe, get_generator, load_model, save_model
from healthforge.generators.composite.fair import FairGenerator
from healthforge.generators.core.base import Generator
from healthforge.generators.core.registry import generator_names, missing_extra

_DDPM = {"hidden": 16, "layers": 1, "max_epochs": 2, "check_every": 1, "timesteps": 20}
_DDPM |= {"sample_steps": 5, "batch_size": 64}
_GAN = {"embedding_dim": 8, "generator_dims": (16,), "discriminator_dims": (16,)}
_VAE = {"embedding_dim": 8, "compress_dims": (16,), "decompress_dims": (16,)}
_DP = {"epsilon": 10.0, "noise_seed": 0}  # seeded noise: a refit gives the same rows;
# epsilon 10: at 1, 160 rows are too few to release categories without a public schema

# Tiny settings per generator: the contract, not the quality, is under test.
FAST: dict[str, dict[str, Any]] = {
    "arf": {"n_estimators": 5, "max_iters": 2, "n_jobs": 1},
    "aim": {**_DP, "max_model_size": 0.5},
    "mst": _DP,
    "dp_copula": _DP,
    # one full batch (sampling rate 1): the RDP noise calibration is then closed-form;
    # at batch 40 of 160 rows it took ~17 s of the fit
    "dpctgan": {**_DP, **_GAN, "epochs": 1, "batch_size": 160, "threads": 1, "device": "cpu"},
    "dptvae": {**_DP, **_VAE, "epochs": 1, "batch_size": 160, "threads": 1, "device": "cpu"},
    "ctgan": {**_GAN, "epochs": 1, "batch_size": 160, "threads": 1, "device": "cpu"},
    "tvae": {**_VAE, "epochs": 1, "batch_size": 160, "threads": 1, "device": "cpu"},
    "ddpm": {**_DDPM, "threads": 1, "device": "cpu"},
    "ensemble": {"params": {"ddpm": {**_DDPM, "threads": 1, "device": "cpu"}}},
    "lm": {
        "epochs": 1,
        "d_model": 8,
        "n_heads": 2,
        "n_layers": 1,
        "calibrate": False,
        "early_stopping": False,
        "threads": 1,
        "device": "cpu",
    },
    "llm": {},
}

# FairGenerator is a wrapper, not in the registry (see its docstring); it keeps the same
# contract, so it is checked here as a case of its own.
WRAPPERS: dict[str, Callable[[str, int], Generator]] = {
    "fair(cart)": lambda table, seed: FairGenerator(
        base="cart", fair_by="c0" if table == "wide" else "sex", min_group_rows=5, seed=seed
    ),
}


def _case(name: str) -> Any:
    extra = missing_extra(name)
    marks = [pytest.mark.llm] if name == "llm" else []
    if extra:
        why = f"'{name}' needs the {extra} extra (pip install 'healthforge[{extra}]')"
        marks.append(pytest.mark.skip(reason=why))
    return pytest.param(name, marks=marks, id=name)


CASES = [_case(n) for n in generator_names()] + [pytest.param(n, id=n) for n in WRAPPERS]
REGISTERED = [_case(n) for n in generator_names()]


def build(name: str, seed: int = 0, table: str = "mixed") -> Generator:
    if name in WRAPPERS:
        return WRAPPERS[name](table, seed)
    return get_generator(name, seed=seed, **FAST.get(name, {}))


def high_dimensional(name: str) -> bool:
    return True if name in WRAPPERS else describe(name).high_dimensional


# -- tables -----------------------------------------------------------------------------
def mixed_table(n: int = 160, seed: int = 0) -> pd.DataFrame:
    """Integers, one-decimal floats, strings and a binary outcome; few distinct values,
    so a generator that copies rows would meet unique training rows often."""
    rng = np.random.default_rng(seed)
    sex = rng.choice(["F", "M"], n)
    age = rng.integers(20, 80, n)
    bmi = np.round(rng.normal(26, 4, n) + (sex == "M"), 1)
    smoker = rng.choice(["never", "former", "current"], n, p=[0.5, 0.3, 0.2])
    visits = rng.poisson(2 + (age > 50), n)
    outcome = (rng.random(n) < 0.2 + 0.3 * (age > 60)).astype(int)
    return pd.DataFrame(
        {"age": age, "sex": sex, "bmi": bmi, "smoker": smoker, "visits": visits, "y": outcome}
    )


def missing_table() -> pd.DataFrame:
    """The mixed table with 40% of values missing in four columns."""
    df = mixed_table(seed=1)
    rng = np.random.default_rng(2)
    for column in ("bmi", "smoker", "visits", "age"):
        df[column] = df[column].astype("float64") if column != "smoker" else df[column]
        df.loc[rng.random(len(df)) < 0.4, column] = np.nan
    return df


def wide_table(n: int = 40, p: int = 70) -> pd.DataFrame:
    """More columns than rows (p >> n, as gene expression): 66 numeric and 4 categorical."""
    rng = np.random.default_rng(3)
    latent = rng.normal(size=(n, 1))
    numeric = np.round(latent + rng.normal(size=(n, p - 4)), 3)
    df = pd.DataFrame(numeric, columns=[f"g{i:02d}" for i in range(p - 4)])
    for j in range(4):
        df[f"c{j}"] = rng.choice(["a", "b", "c"], n)
    return df


TABLES: dict[str, Callable[[], pd.DataFrame]] = {
    "mixed": mixed_table,
    "missing": missing_table,
    "wide": wide_table,
}


@cache
def fitted(name: str, table: str, seed: int = 0) -> Generator:
    return build(name, seed, table).fit(TABLES[table]())


def one_line_refusal(error: HealthForgeError) -> None:
    assert str(error).strip() and "\n" not in str(error), f"not one line: {error}"


def check_decoded(synthetic: pd.DataFrame, train: pd.DataFrame, n: int, model: Generator) -> None:
    """Same columns and dtypes as the training frame; categories from the training ones.

    One exception: without a public schema, whether a column has gaps is private, so a
    DP model's released domain gives every column a missing level and an integer column
    comes back as pandas' nullable ``Int64`` (the same values, written the same way).
    """
    assert len(synthetic) == n
    assert list(synthetic.columns) == list(train.columns)
    expected = dict(train.dtypes)
    if model.is_private:
        nullable = {k: pd.Int64Dtype() for k, v in expected.items() if v == np.int64}
        got = dict(synthetic.dtypes)
        expected |= {k: v for k, v in nullable.items() if got[k] == v}
    assert dict(synthetic.dtypes) == expected
    for column in train.columns:
        if train[column].dtype == object:
            new = set(synthetic[column].dropna()) - set(train[column].dropna())
            assert not new, f"{column}: categories not in the training data: {new}"


# -- the checks ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", REGISTERED)
def test_params_round_trip(name: str) -> None:
    default = get_generator(name)
    assert describe(name).params == default.get_params()
    configured = build(name, seed=7)
    params = configured.get_params()
    assert params["seed"] == 7
    assert type(configured)(**params).get_params() == params  # constructor takes them back
    assert repr(configured).startswith(type(configured).__name__ + "(")


@pytest.mark.parametrize("name", CASES)
def test_mixed_table_decodes_to_the_training_columns(name: str) -> None:
    train = mixed_table()
    model = fitted(name, "mixed")
    check_decoded(model.sample(200, seed=1), train, 200, model)


@pytest.mark.parametrize("name", CASES)
def test_same_seed_same_rows(name: str) -> None:
    model = fitted(name, "mixed")
    first = model.sample(150, seed=4)
    pd.testing.assert_frame_equal(first, model.sample(150, seed=4))
    # a second fit with the same parameters and seed learns the same model
    pd.testing.assert_frame_equal(first, build(name).fit(mixed_table()).sample(150, seed=4))


@pytest.mark.parametrize("name", CASES)
def test_save_and_load_give_the_same_rows(name: str, tmp_path: Path) -> None:
    model = fitted(name, "mixed")
    save_model(model, tmp_path / "model.hf")
    loaded = load_model(tmp_path / "model.hf")
    assert loaded.is_private == model.is_private
    pd.testing.assert_frame_equal(loaded.sample(150, seed=9), model.sample(150, seed=9))


@pytest.mark.parametrize("name", CASES)
def test_condition_holds_on_every_row_or_is_refused(name: str) -> None:
    model = fitted(name, "mixed")
    try:
        synthetic = model.sample(100, seed=2, conditions=["age>=50", "sex=F"])
    except HealthForgeError as error:
        one_line_refusal(error)
        return
    assert len(synthetic) == 100
    assert ((synthetic["age"] >= 50) & (synthetic["sex"] == "F")).all()


@pytest.mark.parametrize("name", CASES)
def test_no_copy_of_a_unique_training_row(name: str) -> None:
    model = fitted(name, "mixed")
    train = mixed_table()
    synthetic = model.sample(2000, seed=3)
    hashes = pd.util.hash_pandas_object(train[synthetic.columns], index=False).to_numpy()
    values, counts = np.unique(hashes, return_counts=True)
    unique = values[counts == 1]
    drawn = pd.util.hash_pandas_object(synthetic, index=False).to_numpy()
    copies = int(np.isin(drawn, unique).sum())
    if model.is_private:  # no hashes of training rows are kept: DP covers its output
        assert model.train_hashes_.size == 0
    else:
        assert copies == 0, f"{copies} synthetic rows copy a unique training row"


@pytest.mark.parametrize("name", CASES)
def test_missing_heavy_table(name: str) -> None:
    train = missing_table()
    model = fitted(name, "missing")
    synthetic = model.sample(400, seed=5)
    check_decoded(synthetic, train, 400, model)
    # 40% missing in training: a generator that drops missingness gives none in 400 rows
    # (a generator reproducing the share misses it with probability 0.6^400 ~ 1e-89)
    for column in ("bmi", "smoker", "visits", "age"):
        assert synthetic[column].isna().any(), f"{column}: missing values never come back"


@pytest.mark.parametrize("name", CASES)
def test_wide_table_fits_or_is_refused_as_the_registry_says(name: str) -> None:
    train = wide_table()
    if not high_dimensional(name):
        with pytest.raises(HealthForgeError) as refused:
            build(name, table="wide").fit(train)
        one_line_refusal(refused.value)
        return
    model = fitted(name, "wide")
    check_decoded(model.sample(50, seed=6), train, 50, model)
