"""The rule-based router: intents and arguments from clinicians' words."""

from __future__ import annotations

from pathlib import Path

import pytest

from healthforge.partner.engine import Partner


@pytest.fixture(scope="module")
def nhefs(tmp_path_factory: pytest.TempPathFactory) -> Partner:
    partner = Partner("bundled:nhefs", tmp_path_factory.mktemp("nhefs"))
    partner.start()
    partner.send("profile")
    return partner


@pytest.mark.parametrize(
    ("text", "tool", "args"),
    [
        (
            "generate 500 patients aged 65+ from region South",
            "generate",
            {"rows": 500, "conditions": ["age>=65", "region=South"]},
        ),
        ("make 300 patients from the South region", "generate", {"conditions": ["region=South"]}),
        ("women over 50", "generate", {"conditions": ["age>=50", "sex=female"]}),
        (
            "aged 40-60 men, ε=1, 2k rows",
            "generate",
            {
                "rows": 2000,
                "epsilon": 1.0,
                "generator": "dp_copula",
                "conditions": ["age>=40", "age<=60", "sex=male"],
            },
        ),
        ("genrate 200 pateints with cart", "generate", {"rows": 200, "generator": "cart"}),
        ("synthesise 1,000 records for people 70 and older", "generate", {"rows": 1000}),
        ("over 500 patients", "generate", {"rows": 500}),
        ("race black and age<50", "generate", {"conditions": ["age<50", "race=black or other"]}),
        ("describe the distribution of wt71", "describe_column", {"column": "wt71"}),
        ("describe smokeintensty", "describe_column", {"column": "smokeintensity"}),
        ("are there any identifiers or names?", "screen_phi", {}),
        ("which generator do you recomend", "recommend_generators", {}),
        ("evalute it", "evaluate", {}),
        ("write the report for sign-off", "write_report", {}),
        ("is it fair across race?", "fairness", {"by": "race"}),
    ],
)
def test_intents_and_arguments(nhefs: Partner, text: str, tool: str, args: dict) -> None:
    proposal = nhefs.router.propose(text, None, [])
    assert proposal.tool == tool
    for key, value in args.items():
        assert proposal.args.get(key) == value, (key, proposal.args)


def test_out_of_scope_gets_a_plain_answer(nhefs: Partner) -> None:
    proposal = nhefs.router.propose("what is the weather in Paris tomorrow", None, [])
    assert proposal.tool is None and "synthetic" in proposal.text


def test_next_follows_the_workflow(tmp_path: Path) -> None:
    partner = Partner("bundled:icu", tmp_path)
    partner.start()
    assert partner.state.stage == "loaded"
    assert partner.router.propose("next", None, []).tool == "profile_data"
    partner.send("ok")
    assert partner.state.stage == "profiled"
    assert partner.router.propose("continue", None, []).tool == "screen_phi"


def test_says_once_that_it_runs_without_a_language_model(tmp_path: Path) -> None:
    partner = Partner("bundled:icu", tmp_path)
    said = [e.text for e in partner.start() + partner.send("profile") + partner.send("next")]
    assert sum("without a language model" in t for t in said) == 1


def test_reidentification_question_evaluates_once_rows_exist(tmp_path: Path) -> None:
    partner = Partner("bundled:icu", tmp_path, auto_approve=True)
    partner.start()
    question = "how good is it? can anyone be re-identified?"
    assert partner.router.propose(question, None, []).tool == "screen_phi"
    partner.send("generate 50 patients with cart")
    assert partner.router.propose(question, None, []).tool == "evaluate"
