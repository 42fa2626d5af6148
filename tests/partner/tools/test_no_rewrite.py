"""A step writes only its own file: ``evaluate`` after ``write_report`` does not render
the report again (its time stamp would change it: "evaluate overwrote report.html
without consent"), and ``write_report`` after ``evaluate`` leaves evaluation.json alone
(the service's reported "write_report overwrote evaluation.json without consent")."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from healthforge.partner.engine import Partner
from tests.fixtures_data import make_messy


def run(partner: Partner, text: str) -> list[Any]:
    events = partner.send(text)
    for action in list(partner.pending):
        events += partner.approve(action.id)
    return events


def errors(events: list[Any]) -> list[str]:
    return [e.text for e in events if e.kind == "error"]


def test_evaluate_after_the_report_leaves_the_report_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from healthforge.evaluation.report import sections

    partner = Partner(make_messy(120), tmp_path)
    partner.start()
    assert not errors(run(partner, "generate 200 rows"))
    assert not errors(run(partner, "write the report"))
    report = (tmp_path / "report.html").read_bytes()

    class Later(datetime):  # an hour on: a report rendered again would say so
        @classmethod
        def now(cls, tz: Any = None) -> datetime:  # type: ignore[override]
            return datetime(2031, 1, 1, 12, 0, tzinfo=UTC)

    monkeypatch.setattr(sections, "datetime", Later)
    events = run(partner, "evaluate")
    assert not errors(events), errors(events)
    assert any(e.kind == "result" and e.action.tool == "evaluate" for e in events)
    assert (tmp_path / "report.html").read_bytes() == report


def test_the_report_after_evaluate_leaves_the_json_alone(tmp_path: Path) -> None:
    partner = Partner(make_messy(120), tmp_path)
    partner.start()
    assert not errors(run(partner, "generate 200 rows"))
    assert not errors(run(partner, "evaluate"))
    before = (tmp_path / "evaluation.json").stat().st_mtime_ns
    events = run(partner, "write the report")
    assert not errors(events), errors(events)
    assert (tmp_path / "report.html").is_file()
    assert (tmp_path / "evaluation.json").stat().st_mtime_ns == before  # not written again
