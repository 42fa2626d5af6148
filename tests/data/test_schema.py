"""Schema inference, serialisation and checks against data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from tests.fixtures_data import BUNDLED, bundled, make_messy

from healthforge.data import Schema, infer_schema, load_table, prepare
from healthforge.data.encoding import TableEncoder
from healthforge.errors import HealthForgeError


def test_nhefs_kinds_roles_and_domains() -> None:
    schema = infer_schema(bundled("nhefs"), target="death")
    assert schema["death"].role == "target" and schema["death"].kind == "boolean"
    assert schema["age"].kind == "integer" and schema["age"].role == "quasi_identifier"
    assert (schema["age"].minimum, schema["age"].maximum) == (25.0, 74.0)
    assert schema["sex"].categories == [0, 1]
    assert schema["education"].kind == "ordinal" and schema["education"].categories == [
        1,
        2,
        3,
        4,
        5,
    ]
    assert schema["wt71"].kind == "continuous" and schema["wt71"].decimals == 2
    assert schema["sbp"].missing_rate == pytest.approx(
        bundled("nhefs")["sbp"].isna().mean(), abs=1e-6
    )
    assert {c.name for c in schema.identifiers} == {"seqn", "id"}


def test_icu_categories_keep_spelling_and_level_none() -> None:
    schema = infer_schema(bundled("icu"))
    assert schema["race"].categories == ["Black", "Other", "White"]
    assert "None" in schema["coma"].categories  # R level "None" must not become missing
    assert schema["coma"].missing_rate == 0.0


def test_messy_kinds_dates_and_booleans() -> None:
    schema = infer_schema(make_messy())
    assert (
        schema["admitted"].kind == "datetime" and schema["admitted"].datetime_format == "%Y-%m-%d"
    )
    assert schema["smoker"].kind == "boolean"
    assert schema["bmi"].kind == "continuous" and schema["bmi"].decimals == 1
    assert schema["region"].categories == ["East", "North", "South", "West"]


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_schema_round_trip(tmp_path, suffix: str) -> None:
    schema = infer_schema(make_messy(), target="diabetes")
    path = tmp_path / f"schema{suffix}"
    schema.save(path)
    loaded = Schema.load(path)
    assert loaded.to_dict() == schema.to_dict()
    assert loaded.target == "diabetes"


def test_encoding_round_trip_is_lossless_on_every_bundled_dataset() -> None:
    for name in BUNDLED:
        prepared = prepare(bundled(name))
        encoder = TableEncoder(prepared.schema)
        matrix = encoder.encode(prepared.frame)
        again = encoder.encode(encoder.decode(matrix))
        np.testing.assert_allclose(again, matrix, rtol=1e-9, atol=1e-9, equal_nan=True)


def test_user_edited_schema_is_used_and_contradictions_are_errors(tmp_path) -> None:
    df = make_messy()
    schema = prepare(df).schema
    schema["age"].maximum = 50.0  # the data has older patients
    with pytest.raises(HealthForgeError, match="outside the schema's bounds"):
        prepare(df, schema=schema)
    schema = prepare(df).schema
    schema["region"].categories = ["North", "South"]
    with pytest.raises(HealthForgeError, match="not in the schema's categories"):
        prepare(df, schema=schema)
    schema = prepare(df).schema
    with pytest.raises(HealthForgeError, match="does not describe"):
        prepare(df.assign(extra=1), schema=schema)
    with pytest.raises(HealthForgeError, match="lacks"):
        prepare(df.drop(columns=["bmi"]), schema=schema)


def test_schema_override_can_change_roles() -> None:
    df = make_messy()
    schema = prepare(df).schema
    schema["region"].role = "identifier"
    prepared = prepare(df, schema=schema)
    assert "region" not in prepared.frame.columns and "region" in prepared.excluded


def test_bad_schema_files(tmp_path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("columns: [{name: a, kind: squiggly}]")
    with pytest.raises(HealthForgeError, match="unknown kind"):
        Schema.load(bad)
    bad.write_text("columns: [{name: a, kind: integer, colour: red}]")
    with pytest.raises(HealthForgeError, match="unknown fields"):
        Schema.load(bad)
    bad.write_text(": : :")
    with pytest.raises(HealthForgeError, match="not valid"):
        Schema.load(bad)


def test_mixed_types_and_huge_cardinality_are_clear_errors() -> None:
    mixed = pd.DataFrame({"x": ["1", "2", "3", "abc"] * 10, "y": range(40)})
    with pytest.raises(HealthForgeError, match="mixes numbers"):
        infer_schema(mixed)
    codes = pd.DataFrame({"dx": [f"code {i % 3000} x" for i in range(6000)], "y": range(6000)})
    codes["dx"] = codes["dx"].str.replace(" ", "")
    with pytest.raises(HealthForgeError, match="too many"):
        infer_schema(codes)


def test_all_missing_column_is_an_error_constant_is_kept() -> None:
    df = pd.DataFrame({"a": np.arange(50.0), "empty": np.nan, "const": 7})
    with pytest.raises(HealthForgeError, match="entirely missing: empty"):
        prepare(df)
    prepared = prepare(df.drop(columns=["empty"]))
    assert prepared.schema["const"].categories == [7]


def test_bundled_rownames_dropped_and_unknown_bundle() -> None:
    assert "rownames" not in bundled("pima").columns
    assert len(bundled("pima")) == 532
    assert bundled("tissue_gene_expression").shape == (189, 501)
    with pytest.raises(HealthForgeError, match="no bundled dataset"):
        load_table("bundled:nope")
