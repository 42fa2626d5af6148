"""Fit and sample one healthforge generator in a process of its own.

Run as ``python -m healthforge.benchmark.worker spec.json``. A separate process per
(generator, dataset, repeat) gives an honest peak memory (``ru_maxrss`` of this process
alone) and keeps a crash or runaway generator from taking the harness down. A generator
that refuses the data (:class:`HealthForgeError`) is written down as refused, not raised.
"""

from __future__ import annotations

import json
import sys
import traceback
from pathlib import Path
from typing import Any

# the peers' runner measures memory the same way: one copy, so ours and theirs compare
from healthforge.benchmark.peer_runner import peak_rss_mb, reset_peak


def run_spec(spec: dict[str, Any]) -> Any:
    """The harness's job as a :class:`~healthforge.pipeline.RunSpec`: fit on the train
    parquet (no split: the harness split it), sample ``rows``, write the out parquet."""
    from healthforge.pipeline import DataSpec, GeneratorSpec, OutputSpec, RunSpec, SplitSpec

    return RunSpec(
        data=DataSpec(
            source=spec["train_path"],
            # the public domain of a DP generator (public_domain.py)
            schema=spec.get("schema_path"),
            target=spec["target"],
            infer_target=False,
        ),
        generator=GeneratorSpec(name=spec["generator"], params=dict(spec.get("params", {}))),
        rows=int(spec["rows"]),
        seed=int(spec["seed"]),
        split=SplitSpec(before_prepare=True),  # the generator prepares its training rows
        outputs=OutputSpec(synthetic=spec["out_path"]),
    )


def run(spec: dict[str, Any]) -> dict[str, Any]:
    """Fit ``spec["generator"]`` on the train parquet and write ``spec["rows"]`` rows."""
    from healthforge.errors import HealthForgeError
    from healthforge.generators.registry import register
    from healthforge.pipeline import Pipeline

    if spec.get("registry_target"):
        # a plugin registered in the parent is unknown to this fresh interpreter
        register(spec["generator"], spec["registry_target"])
    pipeline = Pipeline(run_spec(spec))
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


def main(spec_path: str) -> None:
    spec = json.loads(Path(spec_path).read_text())
    try:
        outcome = run(spec)
    except Exception as exc:  # recorded, not raised: one broken generator must not stop a run
        first = str(exc).splitlines()[0] if str(exc) else ""
        outcome = {
            "status": "failed",
            "reason": f"{type(exc).__name__}: {first}"[:300],
            "traceback": traceback.format_exc()[-2000:],
        }
    # default=float: numpy numbers in a DP budget record
    Path(spec["timing_path"]).write_text(json.dumps(outcome, indent=2, default=float))


if __name__ == "__main__":
    main(sys.argv[1])
