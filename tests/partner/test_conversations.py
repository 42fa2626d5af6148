"""Scripted conversations with the router alone that complete the whole workflow.

ICU (200 rows): a privacy check fails (the MIA verdict judged on its point estimate, as
before issue #25) and the partner backtracks (filter, then a DP generator), then reports;
an under-represented group is augmented. NHEFS: generation conditioned on demographics,
evaluated against the real subgroup, reported, exported. Every conversation ends with a
replay that finds the outputs identical.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from healthforge.partner.engine import Partner
from healthforge.partner.export import export_script
from healthforge.partner.replay import replay
from healthforge.partner.session import read_log


def converse(partner: Partner, turns: list[str]) -> list[Any]:
    events = partner.start()
    for turn in turns:
        events += partner.send(turn)
    return events


def done_tools(folder: Path) -> list[str]:
    return [r["tool"] for r in read_log(folder) if r["type"] == "result"]


def test_icu_privacy_check_fails_and_the_partner_backtracks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The flow is under test, not the metric: the MIA verdict is judged on its point
    # estimate (the rule before issue #25), under which bayesian_network's ICU AUC (0.63)
    # fails. With the 95% interval it is "inconclusive" (warn) and nothing fails on ICU.
    from healthforge.evaluation import privacy

    monkeypatch.setattr(privacy, "MIA_Z", 0.0)
    partner = Partner("bundled:icu", tmp_path, auto_approve=True)
    events = converse(
        partner,
        ["profile", "next", "next", "generate with bayesian network", "evaluate it"],
    )
    failed = [e for e in events if e.data.get("privacy_failures")]
    assert len(failed) == 1, "bayesian_network on 160 ICU rows was expected to fail privacy"
    assert partner.state.stage == "generator_chosen"  # went back a stage
    offered = failed[0].data["alternatives"]
    assert offered[0]["args"]["privacy"] == "standard"  # the filter comes first
    assert any(o["tool"] == "set_privacy" and o["args"]["preset"] == "strict" for o in offered)
    events = [partner.send(t) for t in ("next", "next")]  # take the filter, evaluate again
    generations = [
        r for r in read_log(tmp_path) if r["type"] == "result" and r["tool"] == "generate"
    ]
    assert generations[-1]["spec"]["privacy"] == "standard"
    assert generations[-1]["spec"]["outputs"]["synthetic"] == "synthetic_2.csv"
    assert done_tools(tmp_path)[-2:] == ["generate", "evaluate"]
    # the first synthetic file was not overwritten by the second attempt
    assert (tmp_path / "synthetic.csv").is_file() and (tmp_path / "evaluation_2.json").is_file()
    for turn in ("write the report", "export the script"):
        partner.send(turn)
    assert partner.state.stage == "exported"
    assert {"report.html", "session.py"} <= {p.name for p in tmp_path.iterdir()}
    # once everything is done, 'next' says so instead of re-running a step, and a second
    # export gets a fresh name rather than a refusal to overwrite session.py
    after = partner.send("next")
    assert not [e for e in after if e.kind == "error"], [e.text for e in after]
    assert any("Done" in e.text for e in after), [e.text for e in after]
    again = partner.send("export the script")
    assert not [e for e in again if e.kind == "error"], [e.text for e in again]
    assert (tmp_path / "session_2.py").is_file()
    report = replay(tmp_path)
    assert report.identical and report.steps >= 4, report.differences()


def test_icu_augments_an_under_represented_group(tmp_path: Path) -> None:
    partner = Partner("bundled:icu", tmp_path, auto_approve=True)
    converse(partner, ["profile", "augment the under-represented race groups"])
    record = [r for r in read_log(tmp_path) if r["type"] == "result"][-1]
    assert record["tool"] == "augment" and record["args"]["balance"] == "race"
    added = record["data"]["added"]
    # rows went to the small groups, none to the largest
    assert added["White"] == 0 and added["Black"] > 0 and added["Other"] > 0
    augmented = (tmp_path / "augmented.csv").read_text().splitlines()
    assert len(augmented) - 1 == 200 + sum(added.values())
    # replay runs the augmentation again from its logged arguments: the same bytes
    report = replay(tmp_path)
    assert {f.path for f in report.files} == {"augmented.csv", "augment_report.html"}
    assert report.identical and not report.notes(), report.differences()
    script = export_script(tmp_path, tmp_path / "reproduce.py")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
    done = subprocess.run(
        [sys.executable, str(script), "--out", str(tmp_path / "again")],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0 and "identical augmented.csv" in done.stdout, done.stdout


def test_nhefs_conditions_on_demographics_and_completes(tmp_path: Path) -> None:
    partner = Partner("bundled:nhefs", tmp_path, auto_approve=True)
    converse(
        partner,
        [
            "profile",
            "any identifiers?",
            "generate 300 women aged 50+ from the South with cart",
            "next",
            "next",
            "export",
        ],
    )
    log = read_log(tmp_path)
    generate = next(r for r in log if r["type"] == "result" and r["tool"] == "generate")
    assert generate["spec"]["conditions"] == ["age>=50", "sex=female", "region=South"]
    assert generate["spec"]["rows"] == 300
    evaluate = next(r for r in log if r["type"] == "result" and r["tool"] == "evaluate")
    assert evaluate["args"]["against"] == "conditioned"
    assert done_tools(tmp_path)[-3:] == ["evaluate", "write_report", "export_code"]
    synthetic = (tmp_path / "synthetic.csv").read_text().splitlines()
    header = synthetic[0].split(",")
    rows = [dict(zip(header, line.split(","), strict=False)) for line in synthetic[1:]]
    assert len(rows) == 300 and all(float(r["age"]) >= 50 for r in rows)
    assert json.loads((tmp_path / "evaluation.json").read_text())["rows_synthetic"] == 300
    report = replay(tmp_path)
    assert report.identical, report.differences()


def test_genomic_table_completes_on_next_alone(tmp_path: Path) -> None:
    """189 samples x 500 genes: the same workflow, driven by 'next' only."""
    partner = Partner("bundled:tissue_gene_expression", tmp_path, auto_approve=True)
    converse(partner, ["next"] * 7)
    assert done_tools(tmp_path) == [
        "load_data",
        "profile_data",
        "screen_phi",
        "recommend_generators",
        "generate",
        "evaluate",
        "write_report",
        "export_code",
    ]
    assert partner.state.stage == "exported"
    report = replay(tmp_path)
    assert report.identical and len(report.files) >= 3, report.differences()
