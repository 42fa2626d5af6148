"""The model context: schema and aggregates only, no row, no value that singles out a row."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from healthforge.errors import HealthForgeError
from healthforge.partner.context import WITHHELD, build_context


def _table(n: int = 120, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "patient_name": [f"Zorbu{i} Quaxley{i}" for i in range(n)],
            "record": [f"R-{700000 + 7 * i}" for i in range(n)],
            "age": rng.integers(18, 97, n),
            "income": rng.normal(50000, 9000, n).round(2),
            "sex": rng.choice(["F", "M"], n),
            "ward": [*rng.choice(["A", "B", "C"], n - 1).tolist(), "Isolation-7"],
        }
    )


def _identifying(df: pd.DataFrame) -> list[str]:
    """Values that single out one row: names, record numbers, exact incomes, the rare ward."""
    values = [*df["patient_name"], *df["record"], *map(str, df["income"]), "Isolation-7"]
    return [v for v in values if str(v) not in {"nan"}]


def test_context_holds_no_identifying_value() -> None:
    df = _table()
    context = build_context({"stage": "profiled", "frame": df})
    sent = json.dumps(context.to_dict()) + context.to_prompt()
    leaked = [v for v in _identifying(df) if v in sent]
    assert leaked == []
    assert context.rows is None and not context.has_rows
    by_name = {c.name: c for c in context.columns}
    assert by_name["patient_name"].labels is None and by_name["patient_name"].withheld
    assert by_name["record"].labels is None and by_name["record"].withheld
    assert set(by_name["sex"].labels or {}) == {"F", "M"}
    assert "other" in (by_name["ward"].labels or {})  # the ward seen once is pooled


def test_ranges_are_rounded_outward_never_exact() -> None:
    df = _table()
    income = next(c for c in build_context({"frame": df}).columns if c.name == "income")
    assert income.low is not None and income.high is not None
    assert income.low < df["income"].min() and income.high > df["income"].max()
    assert income.low not in set(df["income"]) and income.high not in set(df["income"])


def test_turns_and_figures_are_scrubbed() -> None:
    df = _table()
    name, record, income = df.loc[3, "patient_name"], df.loc[4, "record"], df.loc[5, "income"]
    state = {
        "frame": df,
        "turns": [{"role": "user", "text": f"what about {name}, {record} earning {income}?"}],
        "results": {
            "evaluation": {"detection": 0.512, name: 1.0, "synthetic": df, "rows": 60},
            "run": {"output": "/home/jsmith/out.csv", "file": "smith_cohort.csv"},
        },
    }
    context = build_context(state)
    text = context.turns[0]["text"]
    assert name not in text and record not in text and str(income) not in text
    assert text.count(WITHHELD) == 3
    assert context.evaluation["evaluation.detection"] == 0.512
    assert not any(name in k for k in context.evaluation)
    assert not any("synthetic" in k for k in context.evaluation)  # tables never go
    assert context.evaluation["evaluation.rows"] == 60
    assert "smith" not in json.dumps(context.evaluation)  # nor file names and paths
    assert context.scrub(f"the record {record} looks odd") == f"the record {WITHHELD} looks odd"


@dataclass
class _Remote:
    name: str = "hosted"
    local: bool = False


@dataclass
class _Local:
    name: str = "llama.cpp"
    local: bool = True


def test_rows_refused_for_a_remote_backend_and_limited_for_a_local_one() -> None:
    df = _table()
    with pytest.raises(HealthForgeError, match="only be shown to a model running on this"):
        build_context({"frame": df}, allow_rows=True, backend=_Remote())
    with pytest.raises(HealthForgeError):
        build_context({"frame": df}, allow_rows=True)  # no backend: not known to be local
    context = build_context({"frame": df}, allow_rows=True, backend=_Local())
    assert context.rows and len(context.rows) <= 20
    assert all("patient_name" not in r and "record" not in r for r in context.rows)
