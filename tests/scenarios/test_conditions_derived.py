"""Conditions (parsing, satisfaction, rarity, conditional fidelity) and derived columns."""

from __future__ import annotations

import math
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from healthforge.data import load_table, prepare
from healthforge.data.derived import (
    DerivedColumn,
    add_demographics,
    add_derived,
    with_derived,
)
from healthforge.data.prepare import PreparedData
from healthforge.data.schema import Schema
from healthforge.errors import HealthForgeError
from healthforge.evaluation.features import FeatureSpace, encode_codes
from healthforge.evaluation.fidelity import column_similarities
from healthforge.generators import get_generator
from healthforge.generators.core.conditions import Condition, mask, parse_conditions, resolve
from healthforge.generators.core.rarity import training_profile, training_share

LEAKY = ["yrdth", "modth", "dadth"]


@cache
def nhefs() -> PreparedData:
    return prepare(load_table("bundled:nhefs"), None, "death", LEAKY, source="bundled:nhefs")


@cache
def fitted(name: str):  # returns a fitted Generator
    return get_generator(name, seed=0).fit(nhefs())


# -- parsing ----------------------------------------------------------------------------


def test_parse_strings_and_dict_api() -> None:
    parsed = parse_conditions(["sex = 1", "age>=65", "race in [0, 1]", "diabetes != 2"])
    assert parsed == [
        Condition("sex", "=", "1"),
        Condition("age", ">=", "65"),
        Condition("race", "in", ["0", "1"]),
        Condition("diabetes", "!=", "2"),
    ]
    assert parse_conditions(["region not in [South, 'West']"]) == [
        Condition("region", "not in", ["South", "West"])
    ]
    from_dict = parse_conditions({"sex": 1, "race": [0], "age": ("<", 40)})
    assert from_dict == [
        Condition("sex", "=", 1),
        Condition("race", "in", [0]),
        Condition("age", "<", 40),
    ]
    assert parse_conditions(None) == [] and parse_conditions({}) == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "cannot read"),
        ("age", "cannot read"),
        ("age >=", "cannot read"),
        (">= 65", "cannot read"),
        ("age between 60 and 70", "cannot read"),
        ("race in black", "list in brackets"),
        ("race in [black", "list in brackets"),
    ],
)
def test_bad_syntax_is_a_clear_error(text: str, message: str) -> None:
    with pytest.raises(HealthForgeError, match=message):
        parse_conditions([text])


def test_resolve_rejects_impossible_and_wrongly_typed_conditions() -> None:
    schema = nhefs().schema
    for bad, message in [
        ("age>=200", "impossible"),
        ("age<3", "impossible"),
        ("sex=2", "never occurs"),
        ("sex>0.5", None),  # numeric categories may be compared
        ("age=old", "needs a number"),
        ("region=Mars", "not a label"),
        ("age_group>=65", "has labels"),
        ("nosuch=1", "unknown column"),
        ("seqn=3", "not modelled"),
    ]:
        conditions = parse_conditions([bad])
        if message is None:
            resolve(conditions, schema)
            continue
        with pytest.raises(HealthForgeError, match=message):
            resolve(conditions, schema)


# -- satisfaction and rarity --------------------------------------------------------------


def test_every_row_satisfies_several_conditions_at_once() -> None:
    model = fitted("bayesian_network")
    rows = model.sample(300, seed=3, conditions=["sex=1", "age>=50", "race in [1]"])
    assert len(rows) == 300
    assert (rows.sex == 1).all() and (rows.age >= 50).all() and (rows.race == 1).all()
    assert rows.smokeintensity.nunique() > 5  # the other columns still vary


def test_training_share_is_exact_for_single_columns() -> None:
    frame, schema = nhefs().frame, nhefs().schema
    profile = training_profile(frame, schema)
    for text, expected in [
        ("diabetes=1", (frame.diabetes == 1).mean()),
        ("sex != 1", (frame.sex != 1).mean()),
        ("age>=65", (frame.age >= 65).mean()),
        ("birthplace in [36, 42]", frame.birthplace.isin([36, 42]).mean()),
    ]:
        (condition,) = resolve(parse_conditions([text]), schema)
        assert training_share(condition, profile) == pytest.approx(expected, abs=1e-9), text
    (wide,) = resolve(parse_conditions(["wt71>=100"]), schema)  # percentiles: about 1%
    assert training_share(wide, profile) == pytest.approx((frame.wt71 >= 100).mean(), abs=0.011)


def test_too_rare_message_says_how_rare_in_training_data(monkeypatch: pytest.MonkeyPatch) -> None:
    # the message, not the draw budget, is under test: give up after ~25k rows, not ~250k
    monkeypatch.setattr("healthforge.generators.core.base.MAX_CONDITION_DRAWS", 5_000_000)
    model = get_generator("independent", seed=0).fit(nhefs())
    with pytest.raises(HealthForgeError, match="too rare") as info:
        model.sample(200, conditions=["diabetes=1", "age>=74", "race=1", "sex=0"])
    text = info.value.message
    assert "In the training data" in text and "diabetes = 1: 0.86% of rows" in text
    assert "together if they were independent" in text


@pytest.mark.parametrize("name", ["bayesian_network", "cart"])
def test_conditional_fidelity_matches_the_real_subset(name: str) -> None:
    """Other columns given age >= 65 follow the real 65+ participants, not everyone."""
    prepared = nhefs()
    real = prepared.frame
    subset = real[real.age >= 65]
    model = fitted(name)
    conditioned = model.sample(400, seed=1, conditions=["age>=65"])
    plain = model.sample(400, seed=1)
    columns = [c for c in prepared.schema.modelled if c.name != "age"]

    def similarity(a: pd.DataFrame, b: pd.DataFrame) -> float:
        ca, cb = encode_codes(a, columns), encode_codes(b, columns)
        sims = column_similarities(FeatureSpace.fit(ca, columns), ca, cb)
        return float(np.mean([s["similarity"] for s in sims.values()]))

    conditional = similarity(subset, conditioned)
    assert conditional > 0.9
    assert conditional > similarity(subset, plain) + 0.03  # conditioning carries the signal


# -- derived columns ----------------------------------------------------------------------


def test_bundled_nhefs_declares_age_groups_and_regions() -> None:
    schema = nhefs().schema
    names = [d.name for d in schema.derived]
    assert names == ["age_group", "region"]
    assert "age_group" not in schema.modelled_names  # never modelled
    age_group = schema.derived[0]
    assert age_group.all_labels() == ["25-34", "35-44", "45-54", "55-64", "65+"]
    region = schema.derived[1]
    assert region.all_labels() == ["South", "West", "Northeast", "Midwest", "Other/Unknown"]


def test_derived_columns_are_consistent_with_their_source() -> None:
    rows = fitted("cart").sample(500, seed=2)
    assert list(rows.columns[-2:]) == ["age_group", "region"]
    bins = [25, 35, 45, 55, 65, math.inf]
    labels = ["25-34", "35-44", "45-54", "55-64", "65+"]
    expected = pd.cut(rows.age, bins, right=False, labels=labels).astype(str)
    assert (rows.age_group.astype(str) == expected).all()
    regions = pd.read_csv(
        Path(__file__).parents[2] / "src/healthforge/data/resources/us_census_regions.csv"
    )
    lookup = dict(zip(regions.code.astype(float), regions.region, strict=True))
    expected_region = rows.birthplace.map(lookup).fillna("Other/Unknown")
    assert (rows.region.astype(str) == expected_region).all()
    assert rows.loc[rows.birthplace == 36, "region"].eq("Northeast").all()  # New York


def test_conditions_on_derived_columns_translate_to_the_source() -> None:
    schema = nhefs().schema
    assert resolve(parse_conditions(["age_group=65+"]), schema) == [Condition("age", ">=", 65.0)]
    assert resolve(parse_conditions(["age_group in [35-44, 45-54]"]), schema) == [
        Condition("age", ">=", 35.0),
        Condition("age", "<", 55.0),
    ]
    (south,) = resolve(parse_conditions(["region=south"]), schema)
    assert south.column == "birthplace" and south.op == "in" and 48.0 in south.value
    (unknown,) = resolve(parse_conditions(["region in [Other/Unknown, West]"]), schema)
    assert unknown.op == "not in" and 6.0 not in unknown.value  # California is West
    (apart,) = resolve(parse_conditions(["age_group in [25-34, 65+]"]), schema)
    assert apart.derived is not None  # no single range: the mask computes the label


def test_conditioning_on_derived_columns_with_every_row_satisfying() -> None:
    model = fitted("bayesian_network")
    rows = model.sample(200, seed=0, conditions=["region=South", "age_group=65+"])
    assert (rows.region == "South").all() and (rows.age_group == "65+").all()
    assert (rows.age >= 65).all()
    rows = model.sample(200, seed=0, conditions=["age_group in [25-34, 65+]", "region != West"])
    assert rows.age_group.isin(["25-34", "65+"]).all() and (rows.region != "West").all()
    assert mask(rows, resolve(parse_conditions(["region != West"]), model.schema_)).all()


def test_derived_schema_round_trips_and_is_validated(tmp_path: Path) -> None:
    df = pd.DataFrame({"age": np.tile(np.arange(20, 100, 4), 3), "state": [36, 6, 48, 17, 99] * 12})
    base = prepare(df).schema
    schema = add_demographics(base, age_bins=[0, 40, 65, 75, math.inf], birthplace="state")
    path = tmp_path / "schema.yaml"
    schema.save(path)
    loaded = Schema.load(path)
    assert [d.name for d in loaded.derived] == ["age_group", "region"]
    assert loaded.derived[0].all_labels() == ["0-39", "40-64", "65-74", "75+"]
    out = add_derived(df, loaded)
    assert out.loc[df.state == 99, "region"].eq("Other/Unknown").all()  # not a state code
    assert resolve(parse_conditions(["age_group=65-74"]), loaded) == [
        Condition("age", ">=", 65.0),
        Condition("age", "<", 75.0),
    ]
    assert "derived" not in base.to_dict()  # schemas without derived columns are unchanged
    for bad, message in [
        (DerivedColumn("g", "nosuch", bins=[0, 1]), "not a modelled column"),
        (DerivedColumn("age", "age", bins=[0, 1]), "name of a data column"),
        (DerivedColumn("g", "age", bins=[5, 1]), "increasing"),
        (DerivedColumn("g", "age", bins=[0, 1, 2], labels=["a"]), "labels"),
        (DerivedColumn("g", "age", bins=[0, 1], mapping={1: "a"}), "exactly one"),
        (DerivedColumn("g", "state", mapping_file=str(tmp_path / "no.csv")), "does not exist"),
    ]:
        with pytest.raises(HealthForgeError, match=message):
            with_derived(base, [bad])
    with pytest.raises(HealthForgeError, match="unknown fields"):
        Schema.from_dict({**schema.to_dict(), "derived": [{"name": "g", "source": "age", "x": 1}]})


def test_data_holding_a_derived_column_is_recomputed_not_modelled() -> None:
    df = add_derived(load_table("bundled:nhefs").drop(columns=LEAKY), nhefs().schema)
    prepared = prepare(df, nhefs().schema)
    assert "region" not in prepared.frame.columns and "age_group" not in prepared.frame.columns
