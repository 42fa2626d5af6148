"""No value that identifies a row reaches a language model: the proof.

A fake OpenAI-compatible server on 127.0.0.1 records every request the partner sends it and
answers with tool calls. A whole conversation (profile, identifier screen, describing
columns, recommending, generating, explaining) runs on a table seeded with values that each
single out one patient: unique names, record numbers, e-mail addresses and exact incomes.
None of them may appear in any recorded request. The positive control lets rows into the
context (a local model the user allowed) and the same check must then find them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from healthforge.partner.backends.openai_compat import OpenAICompatBackend
from healthforge.partner.engine import Partner
from tests.partner.backends.fake_server import FakeLLM, content, tool_call

N = 150
SCRIPT: list[tuple[str, str, dict[str, Any]]] = [
    # (what the user says, the tool the fake model calls, its arguments)
    ("give me an overview of the table", "profile_data", {}),
    ("are there identifiers or names in it?", "screen_phi", {}),
    ("describe the income column", "describe_column", {"column": "income"}),
    ("tell me about patient_name", "describe_column", {"column": "patient_name"}),
    ("what about the email column", "describe_column", {"column": "email"}),
    ("which generator do you recommend?", "recommend_generators", {}),
    ("make 60 synthetic patients with cart", "generate", {"generator": "cart", "rows": 60}),
    ("now evaluate it", "evaluate", {}),
]


def _table(seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    first = ["Quilla", "Zebedee", "Ottoline", "Barnaby", "Philippa", "Ignatius"]
    return pd.DataFrame(
        {
            "patient_name": [f"{first[i % 6]} Vandersnoot{i:03d}" for i in range(N)],
            "mrn": [f"MRN-{481516 + 23 * i}" for i in range(N)],
            "email": [f"pt{i:03d}.wexford@clinic-mail.org" for i in range(N)],
            "income": np.round(rng.uniform(21000, 98000, N), 2) + 0.01,
            "age": rng.integers(18, 95, N),
            "sex": rng.choice(["female", "male"], N),
            "sofa": rng.integers(0, 18, N),
            "died": rng.choice([0, 1], N, p=[0.8, 0.2]),
        }
    )


def _identifying(df: pd.DataFrame) -> list[str]:
    """Strings that would single out one patient if a model saw them."""
    out = [*df["patient_name"], *df["mrn"], *df["email"]]
    out += [f"Vandersnoot{i:03d}" for i in range(N)]
    out += [f"{v:.2f}" for v in df["income"]]  # each income is unique to the cent
    return out


def _answer(body: dict[str, Any]) -> Any:
    said = body["messages"][-1]["content"].lower()
    if "tools" not in body and "response_format" not in body:
        return content("Here is what the result means, in plain words.")
    for text, tool, args in SCRIPT:
        if said == text:
            return tool_call(tool, args)
    return content("I can help with that.")


def _converse(tmp_path: Path, allow_rows: bool, mention: str = "") -> tuple[FakeLLM, list[Any]]:
    df = _table()
    events: list[Any] = []
    with FakeLLM(_answer) as fake:
        backend = OpenAICompatBackend(base_url=fake.base_url, model="fake-model", timeout=20)
        partner = Partner(
            df,
            tmp_path / "session",
            backend=backend,
            auto_approve=True,
            allow_rows_to_model=allow_rows,
        )
        for text, _, _ in SCRIPT:
            events += partner.send(text)
        if mention:
            events += partner.send(mention)
    return fake, events


def _leaks(fake: FakeLLM, values: list[str]) -> list[str]:
    sent = "\n".join(fake.requests)
    decoded = "\n".join(json.dumps(b, ensure_ascii=False) for b in fake.chat_bodies())
    return sorted({v for v in values if v in sent or v in decoded})


def test_no_identifying_value_reaches_the_model(tmp_path: Path) -> None:
    df = _table()
    who = df.loc[17]
    surname = who["patient_name"].split()[1]
    mention = (
        f"is {who['patient_name']} ({who['mrn']}, income {who['income']:.2f}) in it? "
        f"And Mr {surname}, {who['email']}?"
    )
    fake, events = _converse(tmp_path, allow_rows=False, mention=mention)
    bodies = fake.chat_bodies()
    assert len(bodies) >= len(SCRIPT)  # the model was really asked, turn after turn
    ran = [e.action.tool for e in events if e.kind == "result" and e.action is not None]
    assert {"profile_data", "screen_phi", "describe_column"} <= set(ran)
    assert any("tools" in b for b in bodies) and any("tools" not in b for b in bodies)
    assert _leaks(fake, _identifying(df)) == []
    assert "[withheld]" in "\n".join(fake.requests)  # the user's own mention was scrubbed


def test_the_check_finds_rows_when_they_are_let_in(tmp_path: Path) -> None:
    """Positive control: a local model the user allowed to see rows gets exact incomes,
    and the same check reports them (so the test above can fail)."""
    df = _table()
    fake, _ = _converse(tmp_path, allow_rows=True)
    assert len(_leaks(fake, _identifying(df))) >= 10
    # direct identifiers stay out even then: rows for a local model skip those columns
    for column in ("patient_name", "mrn", "email"):
        assert _leaks(fake, list(df[column])) == []
