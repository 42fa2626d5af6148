"""Refresh the benchmark evidence shipped with healthforge.selection (issue #22, item 5).

    PYTHONPATH=src python benchmarks/selection_evidence.py

Reads benchmarks/results as the selection policy does and writes
src/healthforge/selection/resources/benchmark_evidence.json, which an installed package
(without benchmarks/results) uses as its prior. tests/selection/test_evidence.py fails
while the two differ.
"""

from __future__ import annotations

from pathlib import Path

from healthforge.selection.evidence import SNAPSHOT, load_evidence, snapshot_text

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    evidence = load_evidence(ROOT / "benchmarks" / "results")
    SNAPSHOT.parent.mkdir(parents=True, exist_ok=True)
    SNAPSHOT.write_text(snapshot_text(evidence), encoding="utf-8")
    print(f"wrote {len(evidence.runs)} runs on {len(evidence.datasets)} datasets to {SNAPSHOT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
