"""Scripted conversations with a language model behind a fake OpenAI-compatible endpoint.

A fake server on 127.0.0.1 plays the model: it answers each request with the tool call a
small policy picks from the user's last message (profile, screen, recommend, generate,
evaluate, report, export), and once with a call that names a column the table does not
have. The engine must refuse that call, say so, and run the router's proposal instead. On
NHEFS, ICU and the genomic table the workflow reaches its end (reported, then exported),
no recorded request holds a row or a row-identifying value, and the exported script
re-runs the session in a subprocess with byte-identical outputs. The positive control
lets rows into the context (a local model the user allowed) and the same check must then
find them.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from healthforge.data import load_table
from healthforge.partner.backends.openai_compat import OpenAICompatBackend
from healthforge.partner.engine import Partner
from healthforge.partner.session import read_log
from tests.partner.backends.fake_server import FakeLLM, content, tool_call

ROWS = 60
BAD = "_not_a_column"
NUMBER = re.compile(r"-?\d+\.\d+(?:e-?\d+)?")
# dataset -> (the column the user asks about, the generator the model picks: None takes the
# router's recommendation, which for 189 samples x 500 genes is one that handles wide tables)
DATASETS: dict[str, tuple[str, str | None]] = {
    "bundled:nhefs": ("age", "cart"),
    "bundled:icu": ("age", "cart"),
    "bundled:tissue_gene_expression": ("LHPP", None),
}
WORKFLOW = [
    "profile_data",
    "describe_column",
    "screen_phi",
    "recommend_generators",
    "generate",
    "evaluate",
    "write_report",
    "export_code",
]


def turns(column: str) -> list[str]:
    return [
        "give me an overview of the table",
        f"describe the {column} column",
        "are there identifiers in it?",
        "which generator do you recommend?",
        f"make {ROWS} synthetic rows",
        "now evaluate it",
        "write the report",
        "export the script",
    ]


def policy(column: str, generator: str | None) -> Any:
    """The fake model: a tool call chosen from the user's last message."""
    generate: dict[str, Any] = {"rows": ROWS}
    if generator is not None:
        generate["generator"] = generator
    calls: list[tuple[str, str, dict[str, Any]]] = [
        ("overview", "profile_data", {}),
        ("describe", "describe_column", {"column": column + BAD}),  # invalid on purpose
        ("identifiers", "screen_phi", {}),
        ("recommend", "recommend_generators", {}),
        ("synthetic rows", "generate", generate),
        ("evaluate", "evaluate", {}),
        ("report", "write_report", {}),
        ("export", "export_code", {}),
    ]

    def answer(body: dict[str, Any]) -> Any:
        if "tools" not in body:  # asked to explain a result
            return content("Here is what the result means, in plain words.")
        said = str(body["messages"][-1]["content"]).lower()
        for cue, tool, args in calls:
            if cue in said:
                return tool_call(tool, args)
        return content("I can help with that.")

    return answer


def identifying(df: pd.DataFrame) -> tuple[set[str], list[str]]:
    """What singles out one row if a model saw it: each value that occurs once in a float
    column (written out to five characters or more), and each row's values for two
    neighbouring columns (not both floats) as a Python dict or JSON object shows them."""
    values: set[str] = set()
    floats = {name for name in df.columns if pd.api.types.is_float_dtype(df[name])}
    for name in floats:
        counts = df[name].value_counts()
        for value in counts[counts == 1].index:
            text = repr(float(value))
            if len(text) >= 5 and not text.endswith(".0"):
                values.add(text)
    fragments: list[str] = []
    names = list(df.columns)
    for record in df.head(100).to_dict("records"):
        for a, b in itertools.pairwise(names):
            if a in floats and b in floats:
                continue  # their values are checked one by one above
            va, vb = _plain(record[a]), _plain(record[b])
            fragments.append(f"{a!r}: {va!r}, {b!r}: {vb!r}")
            fragments.append(
                f"{json.dumps(a)}: {json.dumps(va)}, {json.dumps(b)}: {json.dumps(vb)}"
            )
    return values, fragments


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def leaks(fake: FakeLLM, identifying: tuple[set[str], list[str]]) -> list[str]:
    values, fragments = identifying
    sent = "\n".join(fake.requests)
    decoded = "\n".join(json.dumps(b, ensure_ascii=False) for b in fake.chat_bodies())
    text = sent + "\n" + decoded
    numbers = set(NUMBER.findall(text))  # a set lookup: 90,000 gene values stay fast
    return sorted((values & numbers) | {f for f in fragments if f in text})


def converse(
    source: str, folder: Path, said: list[str], allow_rows: bool = False
) -> tuple[FakeLLM, Partner, list[Any]]:
    column, generator = DATASETS[source]
    with FakeLLM(policy(column, generator)) as fake:
        backend = OpenAICompatBackend(base_url=fake.base_url, model="fake-model", timeout=60)
        partner = Partner(
            source, folder, backend=backend, auto_approve=True, allow_rows_to_model=allow_rows
        )
        events = partner.start()
        for text in said:
            events += partner.send(text)
    return fake, partner, events


@pytest.mark.parametrize("source", list(DATASETS))
def test_a_model_drives_the_whole_workflow(source: str, tmp_path: Path) -> None:
    column, _ = DATASETS[source]
    session = tmp_path / "session"
    fake, partner, events = converse(source, session, turns(column))
    assert partner.state.stage == "exported"  # the last stage, after 'reported'
    log = read_log(session)
    done = [r["tool"] for r in log if r["type"] == "result"]
    assert done == ["load_data", *WORKFLOW]
    proposed = {r["tool"]: r["source"] for r in log if r["type"] == "proposed"}
    # the model's calls were used, except the invalid one, which the router replaced
    assert proposed["generate"] == proposed["evaluate"] == "fake-model"
    assert proposed["describe_column"] == "router"
    described = next(r for r in log if r["type"] == "result" and r["tool"] == "describe_column")
    assert described["args"]["column"] == column
    notices = [e.text for e in events if e.kind == "notice"]
    assert any(
        "failed validation" in t and column + BAD in t and "rule-based choice" in t for t in notices
    ), notices
    generated = next(r for r in log if r["type"] == "result" and r["tool"] == "generate")
    assert generated["spec"]["rows"] == ROWS
    # the model was asked every turn, and never shown a row
    bodies = fake.chat_bodies()
    assert sum("tools" in b for b in bodies) == len(WORKFLOW)
    assert leaks(fake, identifying(load_table(source))) == []
    # the exported script re-runs the session in a fresh process: identical files
    script = session / "session.py"
    assert script.is_file()
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
    ran = subprocess.run(
        [sys.executable, str(script), "--out", str(tmp_path / "again")],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "identical synthetic.csv" in ran.stdout, ran.stdout
    assert "differ" not in ran.stdout.lower(), ran.stdout


@pytest.mark.parametrize("source", ["bundled:icu", "bundled:tissue_gene_expression"])
def test_the_check_finds_rows_when_they_are_let_in(source: str, tmp_path: Path) -> None:
    """Positive control: rows let into the context of a model on 127.0.0.1 (the user
    allowed it) are found by the same check, so the test above can fail."""
    fake, _, _ = converse(source, tmp_path, turns("age")[:1], allow_rows=True)
    assert len(leaks(fake, identifying(load_table(source)))) >= 10
