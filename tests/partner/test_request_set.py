"""The partner's request benchmark: the set is well formed, and the router alone gets at
least 90 % of every set right (the issue's target), checked through the engine's own choice.

The sets the router was tuned on are in here too, so this is a regression guard, not the
honest first measurement (that is in benchmarks/results/partner_requests.md).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest

from healthforge.partner.backends.base import Proposal
from healthforge.partner.tools import TOOLS

ROOT = Path(__file__).resolve().parents[2]


def _bench() -> Any:
    spec = importlib.util.spec_from_file_location(
        "partner_requests", ROOT / "benchmarks" / "partner_requests.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


BENCH = _bench()
STYLES = {"terse", "verbose", "misspelt", "units", "multi-step", "ambiguous", "out-of-scope"}
ROUTER_NAMES = {
    "load_data", "profile_data", "screen_phi", "drop_columns", "describe_column",
    "plot_column", "recommend_generators", "set_privacy", "generate", "evaluate", "compare",
    "augment", "run_scenario", "fairness", "write_report", "explain_report", "export_code",
}  # fmt: skip


def test_the_request_set_is_varied_and_well_formed() -> None:
    requests = BENCH.load_requests()
    assert len(requests) >= 60
    assert {r["style"] for r in requests} == STYLES
    assert len({r["id"] for r in requests}) == len(requests)
    for r in requests:
        assert r["tool"] is None or r["tool"] in ROUTER_NAMES | set(TOOLS), r
        assert isinstance(r["args"], dict) and r["text"].strip()


def test_scoring_compares_tools_and_key_arguments() -> None:
    request = {"tool": "generate", "args": {"rows": 500, "conditions": ["age>=65", "sex=F"]}}
    good = Proposal("generate", {"rows": 500.0, "conditions": ["sex=f", "age >= 65"], "x": 1})
    assert BENCH.right(request, good) == (True, True)
    assert BENCH.right(request, Proposal("generate", {"rows": 50})) == (True, False)
    assert BENCH.right(request, Proposal("evaluate", {})) == (False, False)
    assert BENCH.right({"tool": None, "args": {}}, Proposal(None, {}, "hi")) == (True, True)


@pytest.mark.parametrize("name", ["main", "holdout", "fresh"])
def test_router_alone_gets_at_least_90_percent(name: str) -> None:
    rows = BENCH.score(None, BENCH.load_requests(BENCH.SETS[name]))
    wrong = [(r["id"], r["expected"], r["proposed"], r["args"]) for r in rows if not r["right"]]
    assert len(wrong) <= 0.1 * len(rows), wrong
