"""evaluate, fairness, write_report, explain_report and compare: they continue the last
run through the pipeline, refuse what cannot work, and what they record replays."""

from __future__ import annotations

import shutil

import pytest

from healthforge.partner.tools import ToolContext, ToolError, get_tool
from healthforge.pipeline import run
from tests.partner.tools.conftest import call


def test_evaluation_tools_refuse_before_rows_exist(icu: ToolContext) -> None:
    for name, args in [("evaluate", {}), ("fairness", {"by": "sex"}), ("write_report", {})]:
        with pytest.raises(ToolError, match="generate them first"):
            get_tool(name).validate(icu, args)
    with pytest.raises(ToolError, match="evaluate first"):
        get_tool("explain_report").validate(icu, {})


def test_evaluate_continues_the_run_learns_and_replays(icu: ToolContext) -> None:
    call(icu, "generate", {"rows": 120})
    pipeline = icu.results["pipeline"]
    evaluated = call(icu, "evaluate", {})
    # carried on without fitting again: the same fitted model object
    assert icu.results["pipeline"].state.model is pipeline.state.model
    assert evaluated.spec is not None and evaluated.spec.evaluation is not None
    metrics = {s["metric"] for s in evaluated.data["scores"]}
    assert "fidelity.detection_auc" in metrics and "privacy.mia_auc" in metrics
    # the recommender learnt from it (a temporary store: see conftest)
    from healthforge.selection import SelectionStore

    assert [o.generator for o in SelectionStore.open().observations] == ["bayesian_network"]
    with pytest.raises(ToolError, match="column 'sexe'"):
        get_tool("fairness").validate(icu, {"by": "sexe"})
    with pytest.raises(ToolError, match=r"no metric 'privacy\.mia'") as caught:
        get_tool("explain_report").validate(icu, {"metric": "privacy.mia"})
    assert "privacy.mia_auc" in str(caught.value.hint)
    explained = call(icu, "explain_report", {"metric": "privacy.mia_auc"})
    assert "Membership" in explained.summary
    # the MIA is judged on its 95% interval; the explanation gives it (issue #25)
    mia = next(s for s in evaluated.data["scores"] if s["metric"] == "privacy.mia_auc")
    assert mia["interval"][0] <= mia["value"] <= mia["interval"][1]
    assert "95% interval" in explained.summary
    # the recorded evaluation spec, run again from scratch, rewrites the same bytes
    assert len(icu.specs) == 2
    files = ["synthetic.csv", "evaluation.json"]
    before = {name: (icu.session_dir / name).read_bytes() for name in files}
    shutil.move(icu.session_dir, icu.session_dir.parent / "before")
    icu.session_dir.mkdir()
    run(icu.specs[1])
    after = {name: (icu.session_dir / name).read_bytes() for name in files}
    assert after == before


def test_conditioned_rows_are_evaluated_against_the_conditioned_real_rows(
    icu: ToolContext,
) -> None:
    call(icu, "generate", {"conditions": ["age>=60"], "rows": 60})
    result = call(icu, "evaluate", {})
    assert result.data["against"] == "conditioned"
    call(icu, "generate", {"rows": 60, "output": "plain.csv"})
    with pytest.raises(ToolError, match="without conditions"):
        get_tool("evaluate").validate(icu, {"against": "conditioned", "output": "e2.json"})


def test_compare_refuses_and_asks_first(icu: ToolContext) -> None:
    with pytest.raises(ToolError, match="twice"):
        get_tool("compare").validate(icu, {"generators": ["cart", "cart"]})
    with pytest.raises(ToolError, match="at least 2"):
        get_tool("compare").validate(icu, {"generators": ["cart"]})
    with pytest.raises(ToolError, match="no generator 'gausian_copula'"):
        get_tool("compare").validate(icu, {"generators": ["cart", "gausian_copula"]})
    tool = get_tool("compare")
    args = tool.validate(icu, {"generators": ["independent", "gaussian_copula"], "rows": 100})
    assert "independent, gaussian_copula" in str(tool.approval(icu, args))
    # running it: test_no_rows runs compare on its table (and checks the leaderboard)
