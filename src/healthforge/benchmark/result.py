"""What a benchmark returns: every run, the mean ± sd summaries, and how it was measured.

Its own module so that the writers (:mod:`.output`, :mod:`.tradeoff`) can name it
without importing the harness that builds it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from healthforge.benchmark.output import write_all
from healthforge.benchmark.records import RunRecord, Summary


@dataclass
class BenchmarkResult:
    """Every run, the mean ± sd summaries, and how, where and when it was measured."""

    records: list[RunRecord]
    summaries: list[Summary]
    settings: dict[str, Any]
    machine: dict[str, Any]
    peers: dict[str, dict[str, Any]] = field(default_factory=dict)
    datasets: dict[str, dict[str, Any]] = field(default_factory=dict)

    # duplicates: to_dict methods list each class's own fields; alike in shape only
    def to_dict(self) -> dict[str, Any]:
        return {
            "settings": self.settings,
            "machine": self.machine,
            "datasets": self.datasets,
            "peers": self.peers,
            "summaries": [s.to_dict() for s in self.summaries],
            "runs": [r.to_dict() for r in self.records],
        }

    def write(
        self,
        out_dir: str | Path,
        command: str | None = None,
        note: str | None = None,
        stem: str = "benchmark",
    ) -> dict[str, Path]:
        """Write ``<stem>.md``, ``<stem>.json`` and ``<stem>.html`` to ``out_dir``;
        ``note`` is a paragraph for readers (e.g. how the runs were scheduled)."""
        return write_all(self, Path(out_dir), command, note, stem)
