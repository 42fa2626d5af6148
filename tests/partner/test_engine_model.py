"""The engine with a language-model backend: every proposal validated, the router as the
rails, only the model context (never a row) handed to the model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from healthforge.partner.backends.base import Proposal
from healthforge.partner.engine import Partner


class FakeModel:
    """Proposes what it is told to, and records what it was given."""

    name = "fake-model"
    uses_language_model = True
    local = False

    def __init__(self, proposal: Proposal) -> None:
        self.proposal = proposal
        self.contexts: list[Any] = []

    def propose(self, text: str, context: Any, tools: list[dict[str, Any]]) -> Proposal:
        self.contexts.append(context)
        assert {t["function"]["name"] for t in tools} >= {"generate", "evaluate"}
        return self.proposal

    def explain(self, result_summary: str, context: Any) -> str:
        return "model says: " + result_summary


def test_invalid_model_proposal_falls_back_to_the_router(tmp_path: Path) -> None:
    model = FakeModel(Proposal("describe_column", {"column": "agee"}, source="fake-model"))
    partner = Partner("bundled:icu", tmp_path, backend=model)
    events = partner.start() + partner.send("describe the age column")
    notices = [e.text for e in events if e.kind == "notice"]
    assert any("failed validation" in t and "rule-based choice" in t for t in notices)
    result = [e for e in events if e.kind == "result"][-1]
    assert result.action.tool == "describe_column" and result.action.args["column"] == "age"
    assert not any("without a language model" in t for t in notices)


def test_valid_model_proposal_is_used_and_still_gated(tmp_path: Path) -> None:
    model = FakeModel(Proposal("generate", {"generator": "cart", "rows": 40}, source="fake"))
    partner = Partner("bundled:icu", tmp_path, backend=model)
    partner.start()
    events = partner.send("make me some data please")
    assert events[-1].kind == "proposal" and events[-1].action.args["rows"] == 40
    assert not (tmp_path / "synthetic.csv").exists()
    done = partner.approve(events[-1].action.id)
    assert done[0].text.startswith("model says: ")
    assert (tmp_path / "synthetic.csv").is_file()


def test_the_model_never_gets_a_row(tmp_path: Path) -> None:
    model = FakeModel(Proposal(None, {}, "Hello."))
    partner = Partner("bundled:icu", tmp_path, backend=model, allow_rows_to_model=True)
    partner.start()
    partner.send("hello")
    assert not partner.state.allow_rows_to_model  # a remote model: rows refused
    context = model.contexts[-1]
    assert not getattr(context, "rows", None)
