"""No tool puts a row in ``ToolResult.data`` or ``summary`` (what may reach a language
model): every tool runs on a small table of distinctive values, and no value that
identifies a row (a unique string, an exact unique number) appears in what it returns."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from healthforge.partner.tools import TOOLS, ToolContext, ToolResult, get_tool
from tests.partner.tools.conftest import call

ROWS = 90
FIRST = ["Ottoline", "Barnaby", "Wilhelmina", "Cuthbert", "Araminta", "Peregrine"]
LAST = ["Quibblesworth", "Vandersloot", "Fennimore", "Ashgrove", "Pettigrew"]


def distinctive_table() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    weight = rng.normal(72.0, 11.0, ROWS) + rng.uniform(0, 1e-3, ROWS)  # 6+ figures, unique
    group = rng.choice(["north", "south", "east"], ROWS, p=[0.6, 0.25, 0.15])
    # a category with five levels seen once: each singles its patient out
    ward = list(rng.choice(["cardiology", "oncology", "geriatrics"], ROWS - 5))
    ward += ["annexkestrel", "annexplover", "annexwigeon", "annexgadwall", "annexshoveler"]
    age = rng.integers(20, 90, ROWS)
    outcome = (rng.uniform(size=ROWS) < 0.2 + 0.005 * (age - 20)).astype(int)
    return pd.DataFrame(
        {
            "full_name": [
                f"{FIRST[i % 6]} {LAST[i % 5]}-{chr(65 + i // 26)}{chr(65 + i % 26)}"
                for i in range(ROWS)
            ],
            "weight_kg": np.round(weight, 6),
            "age": age,
            "sex": rng.choice(["female", "male"], ROWS),
            "region": group,
            "ward": ward,
            "outcome": outcome,
        }
    )


def identifying_values(table: pd.DataFrame) -> list[str]:
    """Spellings of the cell values that single out one row."""
    found: list[str] = []
    for column in table.columns:
        counts = table[column].value_counts()
        for value in counts[counts == 1].index:
            if isinstance(value, str) and len(value) >= 6:
                found.append(value)
            elif isinstance(value, float) and len(f"{value:.10g}".replace(".", "")) >= 5:
                found += {f"{value:.10g}", f"{value:g}", repr(value), f"{value:.3f}"}
    return found


# every tool, with arguments for the table above, in workflow order
CALLS: list[tuple[str, dict[str, Any]]] = [
    ("profile_data", {}),
    ("screen_phi", {}),
    ("describe_column", {"column": "weight_kg"}),
    ("describe_column", {"column": "full_name"}),
    ("describe_column", {"column": "region"}),
    ("describe_column", {"column": "ward"}),
    ("plot_column", {"column": "ward"}),
    ("plot_column", {"column": "weight_kg", "by": "sex"}),
    ("drop_columns", {"columns": ["full_name"]}),
    ("recommend_generators", {}),
    ("set_privacy", {"preset": "standard"}),
    ("generate", {"generator": "cart", "rows": 60}),
    ("evaluate", {"fairness_by": "sex"}),
    ("fairness", {"by": "region"}),
    ("write_report", {}),
    ("explain_report", {}),
    ("compare", {"generators": ["independent", "cart"], "rows": 50}),
    ("augment", {"balance": "region", "repeats": 2}),
    ("run_scenario", {"name": "icu", "rows": 60}),
    ("export_code", {}),
]


def test_every_tool_is_exercised() -> None:
    assert {name for name, _ in CALLS} | {"load_data"} == set(TOOLS)


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[str], list[ToolResult]]:
    folder = tmp_path_factory.mktemp("leak")
    table = distinctive_table()
    source = folder / "patients.csv"
    table.to_csv(source, index=False)
    ctx = ToolContext(session_dir=folder / "session")
    ctx.session_dir.mkdir()
    results = [call(ctx, "load_data", {"source": str(source), "target": "outcome"})]
    for name, args in CALLS:
        tool = get_tool(name)
        valid = tool.validate(ctx, args)
        ASKED[name] = tool.approval(ctx, valid)
        results.append(tool.execute(ctx, valid))
    return identifying_values(pd.read_csv(source)), results


ASKED: dict[str, str | None] = {}  # each tool's approval reason in the session above
# profiling and describing run at once; anything else (a fit, the real rows beyond
# profiling, a privacy choice, a written file) is asked first
RUN_AT_ONCE = {
    "profile_data",
    "screen_phi",
    "describe_column",
    "drop_columns",
    "recommend_generators",
    "explain_report",
}


def test_only_profiling_runs_without_asking(session: Any) -> None:
    assert {name for name, reason in ASKED.items() if reason is None} == RUN_AT_ONCE
    for name, reason in ASKED.items():
        assert reason is None or len(reason) > 20, name  # says what and why


def test_the_table_has_identifying_values(session: tuple[list[str], Any]) -> None:
    values, _ = session
    assert any("Quibblesworth" in v for v in values) and "annexplover" in values
    assert len(values) > 2 * ROWS


@pytest.mark.parametrize("index", range(len(CALLS) + 1))
def test_no_row_value_in_data_or_summary(
    session: tuple[list[str], list[ToolResult]], index: int
) -> None:
    values, results = session
    result = results[index]
    shown = json.dumps(result.data, default=str) + "\n" + result.summary
    leaked = [v for v in values if v in shown]
    assert not leaked, f"{(['load_data'] + [n for n, _ in CALLS])[index]} leaks {leaked[:3]}"


def test_files_stay_in_the_session(session: tuple[list[str], list[ToolResult]]) -> None:
    _, results = session
    for result in results:
        for name in result.files:
            assert not Path(name).is_absolute() and ".." not in Path(name).parts


def test_the_session_ran_every_step(session: tuple[list[str], list[ToolResult]]) -> None:
    """What the later tools made (their data are checked for rows above)."""
    _, results = session
    by_name = dict(zip(["load_data"] + [n for n, _ in CALLS], results, strict=False))
    assert by_name["screen_phi"].data["identifiers"].keys() == {"full_name"}
    assert set(by_name["fairness"].data["groups"]) == {"north", "south", "east"}
    assert by_name["write_report"].files == ["report.html"]
    board = by_name["compare"].data["leaderboard"]
    assert {e["generator"] for e in board} == {"independent", "cart"}
    assert len(by_name["compare"].specs) == 2
    assert by_name["augment"].data["added"]["north"] == 0
    assert "export_code" in by_name and by_name["export_code"].files == ["session.py"]
