"""The registry: schemas, lookup, and validation against the schema and the data."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from healthforge.partner.tools import TOOLS, ToolContext, ToolError, get_tool, tool_schemas
from healthforge.partner.tools.registry import session_path


@pytest.fixture
def ctx(tmp_path: Path) -> ToolContext:
    frame = pd.DataFrame({"age": [30, 40, 50, 60] * 5, "sex": ["f", "m"] * 10})
    return ToolContext(session_dir=tmp_path, frame=frame, source="table.csv")


def test_every_tool_has_an_openai_schema() -> None:
    schemas = tool_schemas()
    assert len(schemas) == len(TOOLS) >= 4
    for schema in schemas:
        function = schema["function"]
        assert schema["type"] == "function"
        assert function["name"] in TOOLS and function["description"]
        assert function["parameters"]["type"] == "object"


def test_unknown_tool_suggests_close_names() -> None:
    with pytest.raises(ToolError) as caught:
        get_tool("profile_dat")
    assert "profile_data" in str(caught.value.hint)


def test_unknown_column_is_refused_with_did_you_mean(ctx: ToolContext) -> None:
    with pytest.raises(ToolError) as caught:
        get_tool("describe_column").validate(ctx, {"column": "agee"})
    assert caught.value.message == "column 'agee' is not in the table"
    assert caught.value.hint == "did you mean 'age'?"


@pytest.mark.parametrize(
    ("tool", "args", "message", "hint"),
    [
        ("run_scenario", {"name": "icuu"}, "there is no scenario 'icuu'", "did you mean 'icu'?"),
        ("run_scenario", {"name": "zzz"}, "there is no scenario 'zzz'", "the scenarios are: "),
        ("explain_report", {"metric": "mia_aucc"}, "has no metric 'mia_aucc'", "did you mean"),
        ("explain_report", {"metric": "zzz"}, "has no metric 'zzz'", "metrics: mia_auc"),
    ],
)
def test_unknown_names_are_refused_with_the_closest_or_the_choices(
    ctx: ToolContext, tool: str, args: dict[str, str], message: str, hint: str
) -> None:
    ctx.results["evaluation"] = {"scores": [{"metric": "mia_auc", "value": 0.5}]}
    with pytest.raises(ToolError) as caught:
        get_tool(tool).validate(ctx, args)
    assert message in caught.value.message
    assert caught.value.hint is not None and caught.value.hint.startswith(hint)


def test_known_names_pass(ctx: ToolContext) -> None:
    ctx.results["evaluation"] = {"scores": [{"metric": "mia_auc", "value": 0.5}]}
    get_tool("explain_report").validate(ctx, {"metric": "mia_auc"})
    get_tool("describe_column").validate(ctx, {"column": "age"})


def test_schema_errors_are_one_line(ctx: ToolContext) -> None:
    tool = get_tool("describe_column")
    with pytest.raises(ToolError, match="needs the argument 'column'"):
        tool.validate(ctx, {})
    with pytest.raises(ToolError, match="has no argument 'colum'") as caught:
        tool.validate(ctx, {"colum": "age"})
    assert caught.value.hint == "did you mean 'column'?"
    with pytest.raises(ToolError, match="argument 'column'"):
        tool.validate(ctx, {"column": ["age"]})


def test_tools_needing_data_refuse_before_a_table_is_loaded(tmp_path: Path) -> None:
    empty = ToolContext(session_dir=tmp_path)
    with pytest.raises(ToolError, match="needs a table"):
        get_tool("profile_data").validate(empty, {})
    get_tool("load_data").validate(empty, {"source": "bundled:icu"})


def test_session_path_refuses_escape_and_overwrite(ctx: ToolContext) -> None:
    with pytest.raises(ToolError, match="outside the session directory"):
        session_path(ctx, "../elsewhere.csv")
    with pytest.raises(ToolError, match="outside the session directory"):
        session_path(ctx, "/tmp/x.csv")
    path = session_path(ctx, "out.csv")
    path.write_text("x")
    with pytest.raises(ToolError, match="already exists") as caught:
        session_path(ctx, "out.csv")
    assert "overwrite: true" in str(caught.value.hint)
    assert session_path(ctx, "out.csv", overwrite=True) == path


def test_ranges_are_widened_to_a_coarse_step() -> None:
    from healthforge.partner.tools.aggregates import outward

    assert outward(16, 92) == (15, 95)
    assert outward(44.31578, 94.0053) == (40, 95)
    low, high = outward(0.013, 0.98)
    assert low == 0 and abs(high - 1.0) < 1e-12
    assert outward(5, 5) == (5, 5)  # a constant column: everyone shares the value


def test_a_library_refusal_during_checks_is_a_tool_error(tmp_path: Path) -> None:
    frame = pd.DataFrame({"age": [30.0, 40.0] * 10, "empty": [float("nan")] * 20})
    ctx = ToolContext(session_dir=tmp_path, frame=frame, source="table.csv")
    with pytest.raises(ToolError, match="entirely missing: empty"):
        get_tool("generate").validate(ctx, {})


def test_fair_by_must_be_modelled(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {"patient_id": [f"P{i:05d}" for i in range(40)], "sex": ["f", "m"] * 20, "y": [0, 1] * 20}
    )
    ctx = ToolContext(session_dir=tmp_path, frame=frame, source="table.csv")
    with pytest.raises(ToolError, match="'patient_id' is not modelled"):
        get_tool("generate").validate(ctx, {"fair_by": "patient_id"})
