"""recommend_generators, set_privacy and generate: validation against the data, the
approval rule, and a run that its own code reproduces byte for byte."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from healthforge.partner.tools import ToolContext, ToolError, get_tool
from healthforge.partner.tools.generation import GenerateArgs, generate_spec
from tests.partner.tools.conftest import call


@pytest.mark.parametrize(
    ("args", "message", "hint"),
    [
        ({"generator": "cartt"}, "there is no generator 'cartt'", "did you mean 'cart'?"),
        ({"conditions": ["agee>=60"]}, "column 'agee'", "did you mean 'age'?"),
        ({"conditions": ["coma=Deep"]}, "'Deep' never occurs in column 'coma'", "Stupor"),
        ({"conditions": ["age>=200"]}, "impossible condition 'age >= 200'", None),
        ({"epsilon": 0}, "epsilon must be above 0", "1.0"),
        ({"epsilon": -1.5}, "epsilon must be above 0", None),
        ({"rows": 0}, "rows must be between 1 and", None),
        ({"rows": 10**9}, "rows must be between 1 and", None),
        ({"output": "../escape.csv"}, "outside the session directory", "escape.csv"),
        ({"output": "/etc/synthetic.csv"}, "outside the session directory", None),
        ({"output": "rows.txt"}, "should end in .csv", None),
        ({"fair_by": "sexx"}, "column 'sexx' is not in the table", "did you mean 'sex'?"),
        ({"privacy": "strict"}, "needs its public schema", "set_privacy"),
        ({"epsilon": 1.0, "generator": "aim", "params": {"epsilon": 0}}, "epsilon", None),
        ({"epsilon": 1.0, "generator": "cart"}, "epsilon applies to differentially", "aim"),
        ({"params": {"max_parentz": 2}}, "bad parameters for generator", None),
        ({"colour": "red"}, "generate has no argument 'colour'", None),
    ],
)
def test_generate_refuses_with_one_line_and_a_fix(
    icu: ToolContext, args: dict[str, Any], message: str, hint: str | None
) -> None:
    with pytest.raises(ToolError) as caught:
        get_tool("generate").validate(icu, args)
    assert message in caught.value.message
    assert "\n" not in caught.value.message
    if hint is not None:
        assert hint in str(caught.value.hint)


def test_generate_needs_approval_and_says_what_it_writes(icu: ToolContext) -> None:
    tool = get_tool("generate")
    reason = tool.approval(icu, tool.validate(icu, {"generator": "cart"}))
    assert reason is not None and "cart" in reason and "synthetic.csv" in reason
    privacy = get_tool("set_privacy")
    assert privacy.approval(icu, privacy.validate(icu, {"preset": "standard"})) is not None
    for name, args in [("profile_data", {}), ("describe_column", {"column": "age"})]:
        tool = get_tool(name)
        assert tool.approval(icu, tool.validate(icu, args)) is None


def test_generate_runs_a_spec_that_its_code_reproduces(icu: ToolContext) -> None:
    result = call(icu, "generate", {"conditions": ["age>=60"], "rows": 80})
    assert result.spec is not None and icu.specs == [result.spec]
    written = Path(result.spec.outputs.synthetic)
    assert result.files == ["synthetic.csv"] and written.parent == icu.session_dir
    import pandas as pd

    rows = pd.read_csv(written)
    assert len(rows) == 80 and (rows["age"] >= 60).all()
    first = written.read_bytes()
    written.unlink()
    exec(result.code, {})  # the public-API lines the tool hands back
    assert written.read_bytes() == first


def test_generate_refuses_to_overwrite_unless_asked(icu: ToolContext) -> None:
    call(icu, "generate", {"rows": 20})
    with pytest.raises(ToolError, match="already exists"):
        get_tool("generate").validate(icu, {"rows": 20})
    call(icu, "generate", {"rows": 30, "overwrite": True})
    assert len(icu.specs) == 2


def test_privacy_choice_carries_into_generate(icu: ToolContext) -> None:
    call(icu, "set_privacy", {"preset": "standard"})
    result = call(icu, "generate", {"generator": "cart", "rows": 50})
    assert result.spec is not None and result.spec.privacy == "standard"
    assert result.data["filter_removed"] is not None


def test_strict_runs_a_dp_generator_on_the_public_schema(icu: ToolContext) -> None:
    privacy = get_tool("set_privacy")
    args = privacy.validate(icu, {"preset": "strict", "epsilon": 0.5})
    assert "public_schema.yaml" in str(privacy.approval(icu, args))
    privacy.execute(icu, args)
    with pytest.raises(ToolError, match="differentially private generator"):
        get_tool("generate").validate(icu, {"generator": "cart"})
    result = call(icu, "generate", {"generator": "dp_copula", "rows": 40})
    assert result.spec is not None and result.spec.privacy == "strict"
    assert result.spec.generator.params["epsilon"] == 0.5
    assert result.spec.data.schema == str(icu.session_dir.resolve() / "public_schema.yaml")
    assert result.data["filter_removed"] is not None  # strict filters too


def test_strict_on_a_users_table_needs_a_public_schema(tmp_path: Path) -> None:
    from healthforge.data import load_table

    table = tmp_path / "mine.csv"
    load_table("bundled:icu").to_csv(table, index=False)
    ctx = ToolContext(session_dir=tmp_path / "session")
    call(ctx, "load_data", {"source": str(table)})
    with pytest.raises(ToolError, match="public bounds"):
        get_tool("set_privacy").validate(ctx, {"preset": "strict"})


def test_recommendation_uses_the_selection_policy_and_respects_strict(icu: ToolContext) -> None:
    result = call(icu, "recommend_generators", {})
    assert "Bayesian selection" in result.summary and result.data["recommendations"]
    assert result.data["method"]["uses_private_data"] is False
    call(icu, "set_privacy", {"preset": "strict"})
    private = call(icu, "recommend_generators", {"priority": "privacy"})
    assert all(r["differential_privacy"] for r in private.data["recommendations"])
    # generate without a generator takes the first recommendation and its epsilon
    spec = generate_spec(icu, GenerateArgs(rows=10))
    first = private.data["recommendations"][0]
    assert spec.generator.name == first["generator"]
    assert spec.generator.params.get("epsilon") == first["params"].get("epsilon", 1.0)


def test_interim_ranking_says_what_it_is(icu: ToolContext, monkeypatch: pytest.MonkeyPatch) -> None:
    from healthforge.partner.tools import recommend

    monkeypatch.setattr(recommend, "_selection", lambda: None)
    result = call(icu, "recommend_generators", {})
    assert "rule of thumb" in result.summary and "not learnt" in result.summary
    call(icu, "set_privacy", {"preset": "strict"})
    private = call(icu, "recommend_generators", {})
    assert all(r["differential_privacy"] for r in private.data["recommendations"])
