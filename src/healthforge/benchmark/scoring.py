"""A finished job's record: the child's timings, and the evaluation of the rows it wrote.

Every method's rows are adopted by the same judging pipeline of their split
(:meth:`healthforge.pipeline.Pipeline.adopt`) and go through its evaluate step, against
the same holdout and schema, so all are judged alike.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from healthforge.benchmark.jobs import JobOutcome
from healthforge.benchmark.records import METRICS, RunRecord, Stat
from healthforge.errors import HealthForgeError

if TYPE_CHECKING:
    from healthforge.pipeline import Pipeline


def score_run(
    record: RunRecord, outcome: JobOutcome, judge: Pipeline, eval_draws: int = 1
) -> RunRecord:
    """Fill the record from the child's timings and the evaluation of its rows by
    ``judge`` (the split's pipeline, through 'split'): the metrics' mean over up to
    ``eval_draws`` disjoint blocks of len(train) rows."""
    record.status, record.reason = outcome.status, outcome.reason
    if outcome.status != "ok" or outcome.synthetic is None or outcome.timing is None:
        return record
    budget = _record_timing(record, outcome.timing)
    # rows are i.i.d. draws, so each block of len(train) of them is a sample of that size
    assert judge.state.train is not None
    n = len(judge.state.train)
    blocks = max(1, min(eval_draws, len(outcome.synthetic) // max(n, 1)))
    draws: list[dict[str, float | None]] = []
    started = time.perf_counter()
    for b in range(blocks):
        synthetic = outcome.synthetic.iloc[b * n : (b + 1) * n].reset_index(drop=True)
        judge.adopt(synthetic, record.method, budget)
        try:
            summary = judge.run().evaluation.summary
        except HealthForgeError as exc:
            record.status, record.reason = "failed", f"evaluation: {exc.message}"
            return record
        draws.append(
            {name: (summary.get(sec) or {}).get(key) for name, (sec, key) in METRICS.items()}
        )
    record.evaluate_seconds = time.perf_counter() - started
    record.eval_draws = blocks
    record.metrics = {name: Stat.of([d[name] for d in draws]).mean for name in METRICS}
    if blocks > 1:  # the sampling draw's own spread, next to the splits' sd in the table
        record.draw_sd = {name: Stat.of([d[name] for d in draws]).sd for name in METRICS}
    return record


def _record_timing(record: RunRecord, timing: dict[str, Any]) -> dict[str, Any] | None:
    """Copy the child's timings into ``record``; returns the DP budget record to evaluate."""
    budget = timing.get("dp_budget")
    if budget is None and record.epsilon is not None:  # a DP peer: what it was given
        budget = {
            "mechanism": record.method,
            "epsilon": record.epsilon,
            "delta": record.settings.get("delta"),
            "accountant": "the peer's own",
        }
    if budget is not None:
        record.settings["dp_budget"] = budget
    sampled = max(int(timing.get("rows_sampled") or 0), 1)
    record.fit_seconds = float(timing["fit_seconds"])
    record.sample_seconds_10k = float(timing["sample_seconds"]) * 10_000 / sampled
    record.rows_sampled = sampled
    record.peak_rss_mb = timing.get("peak_rss_mb")
    record.baseline_rss_mb = timing.get("baseline_rss_mb")
    if record.peak_rss_mb is not None and record.baseline_rss_mb is not None:
        record.added_rss_mb = max(record.peak_rss_mb - record.baseline_rss_mb, 0.0)
    if "versions" in timing:
        record.settings["versions"] = timing["versions"]
    return budget
