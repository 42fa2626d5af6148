"""The approval gate: nothing runs, no file is written, before the user approves."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from healthforge.cli.app import app
from healthforge.partner.backends.base import Proposal
from healthforge.partner.engine import Partner


def files(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir() if p.name != "session.jsonl"}


def test_generate_waits_for_approval(tmp_path: Path) -> None:
    partner = Partner("bundled:icu", tmp_path)
    partner.start()
    events = partner.send("generate 100 patients with cart")
    proposal = [e for e in events if e.kind == "proposal"]
    assert len(proposal) == 1 and partner.pending == [proposal[0].action]
    plan = proposal[0].text
    assert "cart" in plan and "Expected time" in plan and "synthetic.csv" in plan
    assert files(tmp_path) == set()  # nothing written
    assert partner.state.ctx.specs == []  # nothing run
    assert "run" not in partner.state.ctx.results
    done = partner.approve(proposal[0].action.id)
    assert any(e.kind == "result" for e in done)
    assert files(tmp_path) == {"synthetic.csv"}
    assert len(partner.state.ctx.specs) == 1


def test_change_is_validated_and_still_waits(tmp_path: Path) -> None:
    partner = Partner("bundled:icu", tmp_path)
    partner.start()
    partner.send("generate 100 patients with cart")
    events = partner.send("rows 50")
    assert [e.kind for e in events] == ["proposal"]
    assert partner.pending[0].args["rows"] == 50 and files(tmp_path) == set()
    bad = partner.approve(partner.pending[0].id, {"conditions": ["agee>=65"]})
    assert bad[0].kind == "error" and partner.pending and files(tmp_path) == set()
    partner.approve(partner.pending[0].id, {"conditions": ["age>=65"]})
    synthetic = (tmp_path / "synthetic.csv").read_text().splitlines()
    assert len(synthetic) == 51


def test_reject_offers_alternatives_and_runs_nothing(tmp_path: Path) -> None:
    partner = Partner("bundled:icu", tmp_path)
    partner.start()
    partner.send("generate 100 patients with cart")
    events = partner.send("no")
    assert files(tmp_path) == set() and not partner.pending
    alternatives = events[-1].data["alternatives"]
    assert alternatives and all(a["args"]["generator"] != "cart" for a in alternatives)
    picked = partner.send("2")
    assert picked[-1].kind == "proposal"
    assert picked[-1].action.args["generator"] == alternatives[1]["args"]["generator"]
    log = [json.loads(line) for line in (tmp_path / "session.jsonl").read_text().splitlines()]
    assert [r["type"] for r in log].count("rejected") == 1


def test_refusals_are_logged_with_what_was_asked_the_error_and_its_hint(tmp_path: Path) -> None:
    partner = Partner("bundled:icu", tmp_path)
    partner.start()
    partner.send("evaluate")  # a refused proposal: nothing to evaluate yet
    partner.send("generate 100 patients with cart")
    action = partner.pending[0].id
    partner.approve(action, {"conditions": ["agee>=65"]})  # a refused change
    log = [json.loads(line) for line in (tmp_path / "session.jsonl").read_text().splitlines()]
    proposal, change = [r for r in log if r["type"] == "refused"]
    assert proposal["tool"] == "evaluate" and proposal["source"] == "router"
    assert proposal["args"] == {"output": "evaluation.json"} and "action" not in proposal
    assert proposal["error"] == "there are no synthetic rows to evaluate yet"
    assert proposal["hint"] == "generate them first (generate)"
    assert change["tool"] == "generate" and change["action"] == action
    assert change["args"]["conditions"] == ["agee>=65"] and "source" not in change
    assert change["error"] == "condition on column 'agee', which is not in the table"
    assert change["hint"] == "did you mean 'age'?"


def test_auto_approve_runs_and_logs_who_approved(tmp_path: Path) -> None:
    partner = Partner("bundled:icu", tmp_path, auto_approve=True)
    partner.start()
    partner.send("generate 80 patients with cart")
    assert files(tmp_path) == {"synthetic.csv"}
    log = [json.loads(line) for line in (tmp_path / "session.jsonl").read_text().splitlines()]
    approved = [r for r in log if r["type"] == "approved" and r["tool"] == "generate"]
    assert approved[0]["by"] == "auto_approve"
    assert approved[0]["args"]["rows"] == 80 and approved[0]["args"]["generator"] == "cart"


def test_second_generation_never_overwrites(tmp_path: Path) -> None:
    partner = Partner("bundled:icu", tmp_path, auto_approve=True)
    partner.start()
    partner.send("generate 50 patients with cart")
    before = (tmp_path / "synthetic.csv").read_bytes()
    partner.send("generate 60 patients with cart")
    assert (tmp_path / "synthetic.csv").read_bytes() == before
    assert files(tmp_path) == {"synthetic.csv", "synthetic_2.csv"}


def test_scripted_cli_without_yes_stops_at_the_first_proposal(tmp_path: Path) -> None:
    folder = tmp_path / "s"
    result = CliRunner().invoke(
        app,
        [
            "partner",
            "bundled:icu",
            "--session-dir",
            str(folder),
            "--say",
            "generate 100 patients",
            "--say",
            "evaluate",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "awaits approval; nothing was run" in result.output
    assert "you> evaluate" not in result.output
    assert files(folder) == set()


def test_a_tool_that_overwrites_without_consent_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The engine's own guard: a file's content changed by a step not approved to
    overwrite it is an error, whatever the tool's own checks say."""
    from healthforge.partner.tools import TOOLS, Tool, ToolResult
    from healthforge.partner.tools.registry import Params

    def clobber(ctx: Any, args: Any) -> ToolResult:
        (ctx.session_dir / "keep.csv").write_text("changed\n")
        return ToolResult(summary="wrote", data={}, files=["keep.csv"])

    tool = Tool("clobber", "test", Params, clobber, needs_data=False)
    monkeypatch.setitem(TOOLS, "clobber", tool)
    (tmp_path / "keep.csv").write_text("original\n")
    partner = Partner(None, tmp_path, auto_approve=True)
    partner.start()
    events = partner._handle(Proposal("clobber", {}))
    assert events[-1].kind == "error" and "without consent" in events[-1].text
    assert partner.actions["a1"].status == "failed"


def test_interactive_terminal_approves_by_number(tmp_path: Path) -> None:
    folder = tmp_path / "s"
    result = CliRunner().invoke(
        app,
        ["partner", "bundled:icu", "--session-dir", str(folder)],
        input="generate 60 patients with cart\n2\nrows 40\n1\nquit\n",
    )
    assert result.exit_code == 0, result.output
    assert "1. approve" in result.output and "Changed." in result.output
    lines = (folder / "synthetic.csv").read_text().splitlines()
    assert len(lines) == 41  # the changed plan ran, once approved
