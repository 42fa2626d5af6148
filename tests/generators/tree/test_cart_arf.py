"""The tree generators (cart, arf) on every bundled dataset: validity, determinism,
dependence, no training copies, persistence. Small settings keep the file fast."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from healthforge.errors import HealthForgeError
from healthforge.generators import describe, get_generator, load_model, save_model
from healthforge.generators.core.base import Generator
from tests.fixtures_data import BUNDLED, assert_rows_valid, bundled

TREES = ("cart", "arf")
N = 1000
# small settings per dataset: the wide gene-expression table gets fewer predictors/trees
PARAMS: dict[str, dict[str, dict]] = {
    "cart": {"tissue_gene_expression": {"max_predictors": 20}},
    "arf": {"*": {"n_estimators": 10, "max_iters": 3}},
}


def _params(name: str, dataset: str) -> dict:
    table = PARAMS[name]
    return dict(table.get(dataset, table.get("*", {})))


@cache
def fitted(name: str, dataset: str, seed: int = 0) -> Generator:
    return get_generator(name, seed=seed, **_params(name, dataset)).fit(bundled(dataset))


@cache
def sampled(name: str, dataset: str) -> pd.DataFrame:
    return fitted(name, dataset).sample(N, seed=7)


@pytest.mark.parametrize("dataset", BUNDLED)
@pytest.mark.parametrize("name", TREES)
def test_rows_are_valid(name: str, dataset: str) -> None:
    real = bundled(dataset)
    gen = fitted(name, dataset)
    synth = sampled(name, dataset)
    assert len(synth) == N
    # missing rates follow the real ones (a few points of sampling noise)
    assert_rows_valid(gen, real, synth, tol=0.05)


@pytest.mark.parametrize("name", TREES)
def test_same_seed_same_rows(name: str) -> None:
    first = fitted(name, "pima")
    again = get_generator(name, **_params(name, "pima")).fit(bundled("pima"))
    pd.testing.assert_frame_equal(first.sample(300, seed=3), again.sample(300, seed=3))
    assert not first.sample(300, seed=3).equals(first.sample(300, seed=4))


@pytest.mark.parametrize("name", TREES)
def test_weight_dependence_preserved(name: str) -> None:
    # wt71 and wt82 (weights 11 years apart) correlate at about 0.88 in NHEFS
    real = bundled("nhefs")[["wt71", "wt82"]].dropna().corr().iloc[0, 1]
    synth = sampled(name, "nhefs")[["wt71", "wt82"]].dropna().corr().iloc[0, 1]
    assert abs(real - synth) < 0.1


def test_cart_conditional_rate_preserved() -> None:
    # ICU: the share who died differs by admission type (emergency vs elective)
    real, synth = bundled("icu"), sampled("cart", "icu")
    gap = [df.groupby("admit")["died"].apply(lambda s: (s == "Yes").mean()) for df in (real, synth)]
    assert (gap[0].idxmax() == gap[1].idxmax()) and abs(gap[0].max() - gap[1].max()) < 0.15


@pytest.mark.parametrize("dataset", ["icu", "pima"])
@pytest.mark.parametrize("name", TREES)
def test_no_training_rows_copied(name: str, dataset: str) -> None:
    gen = fitted(name, dataset)
    train = gen.encoder_.decode(gen.encoder_.encode(bundled(dataset)))
    seen = set(map(tuple, train.astype(str).to_numpy()))
    synth = sampled(name, dataset)
    assert not any(tuple(row) in seen for row in synth.astype(str).to_numpy())


@pytest.mark.parametrize("name", TREES)
def test_save_load_round_trip(name: str, tmp_path: Path) -> None:
    gen = fitted(name, "icu")
    path = tmp_path / "model.hfm"
    save_model(gen, path)
    loaded = load_model(path)
    assert loaded.get_params() == gen.get_params()
    pd.testing.assert_frame_equal(loaded.sample(200, seed=1), gen.sample(200, seed=1))


def test_tissue_class_depends_on_genes() -> None:
    # the 7 tissues are separable from expression; synthetic rows must keep that link
    from sklearn.ensemble import RandomForestClassifier

    real = bundled("tissue_gene_expression")
    for name in TREES:
        synth = sampled(name, "tissue_gene_expression")
        genes = [c for c in real.columns if c != "tissue"]
        model = RandomForestClassifier(50, random_state=0, n_jobs=2)
        model.fit(synth[genes], synth["tissue"].astype(str))
        accuracy = (model.predict(real[genes]) == real["tissue"].astype(str)).mean()
        assert accuracy > 0.8, name


def test_registry_and_descriptions() -> None:
    for name in TREES:
        info = describe(name)
        assert info.family == "tree" and info.summary and info.high_dimensional


def test_cart_visit_sequence() -> None:
    df = bundled("pima")
    gen = get_generator("cart", visit_sequence=["age", "glu"]).fit(df, target="type")
    names = gen.encoder_.names
    assert [names[j] for j in gen.order_[:2]] == ["age", "glu"]
    auto = get_generator("cart").fit(df, target="type")
    assert auto.encoder_.names[auto.order_[-1]] == "type"  # target last
    with pytest.raises(HealthForgeError):
        get_generator("cart", visit_sequence="random").fit(df)
    with pytest.raises(HealthForgeError):
        get_generator("cart", visit_sequence=["nope"]).fit(df)


def test_arf_reports_iterations_and_finds_constraints() -> None:
    calls: list[tuple[str, int, int | None]] = []
    gen = get_generator("arf", n_estimators=10, max_iters=2).fit(
        bundled("icu"), progress=lambda *a: calls.append(a)
    )
    assert calls and calls[-1][0] == "adversarial iterations" and calls[-1][1] == calls[-1][2]
    assert len(gen.accuracy_) >= 1
    names = gen.encoder_.names
    # `white` is derived from `race`: they must be drawn jointly
    assert gen.block_[names.index("race")] == gen.block_[names.index("white")]


def test_smoothing_keeps_coarse_columns_exact() -> None:
    # price71 has 42 distinct values: synthetic values must come from that set
    real = bundled("nhefs")["price71"].dropna().round(6)
    for name in TREES:
        synth = sampled(name, "nhefs")["price71"].dropna().round(6)
        assert np.isin(synth, real.unique()).all(), name
