"""Fit and sample one healthforge generator in a process of its own.

Run as ``python -m healthforge.benchmark.worker job.json``, where ``job.json`` holds the
cell's run specification (:mod:`healthforge.benchmark.cells`), the generator's registry
entry and where to write the timings. A separate process per (generator, dataset,
repeat) gives an honest peak memory (``ru_maxrss`` of this process alone) and keeps a
crash or runaway generator from taking the harness down. A generator that refuses the
data (:class:`HealthForgeError`) is written down as refused, not raised.
"""

from __future__ import annotations

import json
import sys
import traceback
from pathlib import Path
from typing import Any

# the peers' runner measures memory the same way: one copy, so ours and theirs compare
from healthforge.benchmark.peer_runner import peak_rss_mb, reset_peak


def run(job: dict[str, Any]) -> dict[str, Any]:
    """Run the cell's :class:`~healthforge.pipeline.RunSpec` (``job["spec"]``) through
    'write': split, fit, sample ``rows`` and write them. Returns the timings of fit and
    sample and the peak memory of those two steps alone."""
    from healthforge.errors import HealthForgeError
    from healthforge.generators import register
    from healthforge.pipeline import Pipeline, RunSpec

    if job.get("registry_target"):
        # a plugin registered in the parent is unknown to this fresh interpreter
        register(job["spec"]["generator"]["name"], job["registry_target"])
    pipeline = Pipeline(RunSpec.from_dict(job["spec"], "benchmark cell"))
    # build imports the generator's module before the baseline, so it measures fit+sample
    pipeline.run(until="build")
    baseline = reset_peak()
    try:
        pipeline.run(until="sample")
    except HealthForgeError as exc:
        return {"status": "refused", "reason": exc.message}
    result = pipeline.run(until="write")
    return {
        "status": "ok",
        "fit_seconds": result.timings["fit"],
        "sample_seconds": result.timings["sample"],
        "rows_sampled": result.rows,
        "baseline_rss_mb": baseline,
        "peak_rss_mb": peak_rss_mb(),
        "dp_budget": getattr(result.model, "dp_budget_", None),
    }


def main(job_path: str) -> None:
    job = json.loads(Path(job_path).read_text())
    try:
        outcome = run(job)
    except Exception as exc:  # recorded, not raised: one broken generator must not stop a run
        first = str(exc).splitlines()[0] if str(exc) else ""
        outcome = {
            "status": "failed",
            "reason": f"{type(exc).__name__}: {first}"[:300],
            "traceback": traceback.format_exc()[-2000:],
        }
    # default=float: numpy numbers in a DP budget record
    Path(job["timing_path"]).write_text(json.dumps(outcome, indent=2, default=float))


if __name__ == "__main__":
    main(sys.argv[1])
