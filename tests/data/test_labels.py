"""Value labels: schema round trip, conditions by label or code, labelled output."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from healthforge.cli.app import app
from healthforge.data import load_table, prepare
from healthforge.data.labels import from_labels, to_labels
from healthforge.data.prepare import PreparedData
from healthforge.data.schema import ColumnSchema, Schema
from healthforge.errors import HealthForgeError
from healthforge.generators import get_generator
from healthforge.generators.core.conditions import parse_conditions, resolve

LEAKY = ["yrdth", "modth", "dadth"]


@cache
def nhefs() -> PreparedData:
    source = "bundled:nhefs_complete"
    return prepare(load_table(source), None, "death", LEAKY, source=source)


def test_bundled_nhefs_labels_come_from_its_codebook() -> None:
    schema = nhefs().schema
    assert schema["sex"].labels == {0: "male", 1: "female"}
    assert schema["race"].labels == {0: "white", 1: "black or other"}
    # marital code 1 ("under 17") is in the codebook but not in the data: left out
    assert 1 not in schema["marital"].labels and schema["marital"].labels[2] == "married"
    assert any("nhefs_codebook" in note for note in schema.notes)
    assert schema["age"].labels is None  # no codes to label


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_labels_survive_save_and_load(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"schema.{fmt}"
    nhefs().schema.save(path)
    loaded = Schema.load(path)
    assert loaded["sex"].labels == {0: "male", 1: "female"}
    assert all(isinstance(k, int) for k in loaded["education"].labels)  # JSON keys typed back


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        ({3: "other"}, "not among its categories"),
        ({0: "Male", 1: "male"}, "repeated"),
        ({0: "1", 1: "female"}, "also the spelling of code 1"),
    ],
)
def test_bad_labels_are_clear_errors(labels: dict, message: str) -> None:
    column = ColumnSchema("sex", "boolean", dtype="int64", categories=[0, 1], labels=labels)
    with pytest.raises(HealthForgeError, match=message):
        Schema([column])


def test_conditions_accept_label_or_code_in_any_case() -> None:
    schema = nhefs().schema
    by_label = resolve(parse_conditions(["sex=Female", "race in [WHITE]"]), schema)
    by_code = resolve(parse_conditions(["sex=1", "race in [0]"]), schema)
    assert by_label == by_code
    assert resolve(parse_conditions({"sex": "female"}), schema) == by_code[:1]  # dict API
    ranged = resolve(parse_conditions(["education>=hs"]), schema)[0]
    assert ranged.op == ">=" and ranged.value == 3


@pytest.mark.parametrize(
    ("text", "message"),
    [("sex=woman", "0 (male), 1 (female)"), ("education>=phd", "3 (hs)")],
)
def test_unknown_label_lists_the_valid_ones(text: str, message: str) -> None:
    with pytest.raises(HealthForgeError) as info:
        resolve(parse_conditions([text]), nhefs().schema)
    assert message in str(info.value)


def test_labelled_conditions_are_satisfied_and_output_can_carry_labels() -> None:
    model = get_generator("cart", seed=0).fit(nhefs())
    rows = model.sample(60, seed=1, conditions=["sex=female", "race=black or other"])
    assert (rows.sex == 1).all() and (rows.race == 1).all()  # codes by default
    labelled = to_labels(rows, model.schema_)
    assert set(labelled.sex) == {"female"} and set(labelled.race) == {"black or other"}
    back = from_labels(labelled, model.schema_)
    pd.testing.assert_frame_equal(back, rows)


def test_generate_labels_option(tmp_path: Path) -> None:
    out = tmp_path / "s.csv"
    args = ["generate", "bundled:nhefs_complete", "-g", "cart", "-n", "40", "-o", str(out)]
    drops = ["--drop", "yrdth", "--drop", "modth", "--drop", "dadth"]
    result = CliRunner().invoke(app, [*args, *drops, "-c", "sex=female", "--labels"])
    assert result.exit_code == 0, result.output
    rows = pd.read_csv(out)
    assert set(rows.sex) == {"female"} and set(rows.death) <= {"yes", "no"}
    bad = CliRunner().invoke(
        app, ["generate", "bundled:nhefs_complete", "-o", str(tmp_path / "b.csv"), "-c", "sex=x"]
    )
    assert bad.exit_code == 2 and "0 (male), 1 (female)" in bad.output
