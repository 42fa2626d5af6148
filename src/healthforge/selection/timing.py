"""Expected fit seconds on a user's table, from the benchmark's measured fit times.

Fit time grows with the table's cells (rows x columns) as a power law whose exponent is
fitted once over every generator's benchmark datasets (within-generator least squares
on log-log); each generator's level comes from its own runs, weighted towards the tables
most like the user's. Benchmark fits ran on one thread of the benchmark machine.
"""

from __future__ import annotations

import math

from healthforge.selection.meta import MetaFeatures

DEFAULT_EXPONENT = 1.0  # used when no generator was timed on two table sizes


def _cells(meta: MetaFeatures) -> float:
    return max(meta.rows, 1) * max(meta.columns, 1)


def pooled_exponent(times: dict[str, list[tuple[MetaFeatures, float]]]) -> float:
    """The exponent b of seconds ~ cells^b, pooled over generators (each centred)."""
    num = den = 0.0
    for pts in times.values():
        logs = [(math.log(_cells(m)), math.log(max(s, 1e-3))) for m, s in pts]
        if len({x for x, _ in logs}) < 2:
            continue
        mx = sum(x for x, _ in logs) / len(logs)
        my = sum(y for _, y in logs) / len(logs)
        num += sum((x - mx) * (y - my) for x, y in logs)
        den += sum((x - mx) ** 2 for x, _ in logs)
    return num / den if den > 0 else DEFAULT_EXPONENT


def expected_seconds(
    points: list[tuple[MetaFeatures, float]], query: MetaFeatures, exponent: float
) -> float | None:
    """Fit seconds on ``query`` scaled from ``points`` (table, mean fit seconds)."""
    if not points:
        return None
    total = weight = 0.0
    for meta, seconds in points:
        w = max(query.similarity(meta), 1e-6)
        level = math.log(max(seconds, 1e-3)) - exponent * math.log(_cells(meta))
        total += w * level
        weight += w
    return math.exp(total / weight + exponent * math.log(_cells(query)))
