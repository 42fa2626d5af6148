"""Fit and sample one healthforge generator in a process of its own.

Run as ``python -m healthforge.benchmark.worker spec.json``. A separate process per
(generator, dataset, repeat) gives an honest peak memory (``ru_maxrss`` of this process
alone) and keeps a crash or runaway generator from taking the harness down. A generator
that refuses the data (:class:`HealthForgeError`) is written down as refused, not raised.
"""

from __future__ import annotations

import json
import resource
import sys
import time
import traceback
from pathlib import Path
from typing import Any


def _status_mb(field: str) -> float | None:
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024.0  # kB
    except OSError:
        pass
    return None


def reset_peak() -> float:
    """Reset the kernel's peak-RSS mark (Linux: clear_refs 5) so the peak read later
    covers fit+sample only, not imports; returns the resident MB at this point."""
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
    except OSError:
        pass  # not Linux or not allowed: the peak then includes imports
    return _status_mb("VmRSS") or peak_rss_mb()


def peak_rss_mb() -> float:
    """High-water resident memory of this process in MB."""
    peak = _status_mb("VmHWM")
    if peak is not None:
        return peak
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def run(spec: dict[str, Any]) -> dict[str, Any]:
    """Fit ``spec["generator"]`` on the train parquet and write ``spec["rows"]`` rows."""
    import pandas as pd

    from healthforge.errors import HealthForgeError
    from healthforge.generators import get_generator
    from healthforge.generators.registry import register

    if spec.get("registry_target"):
        # a plugin registered in the parent is unknown to this fresh interpreter
        register(spec["generator"], spec["registry_target"])

    train = pd.read_parquet(spec["train_path"])
    schema = None
    if spec.get("schema_path"):  # the public domain of a DP generator (public_domain.py)
        from healthforge.data.schema import Schema

        schema = Schema.load(spec["schema_path"])
    # import the generator's module before the baseline, so it measures fit+sample only
    model = get_generator(spec["generator"], seed=spec["seed"], **spec.get("params", {}))
    baseline = reset_peak()
    try:
        started = time.perf_counter()
        model.fit(train, schema=schema, target=spec["target"])
        fitted = time.perf_counter()
        synthetic = model.sample(int(spec["rows"]), seed=spec["seed"])
        sampled = time.perf_counter()
    except HealthForgeError as exc:
        return {"status": "refused", "reason": exc.message}
    synthetic.to_parquet(spec["out_path"], index=False)
    return {
        "status": "ok",
        "fit_seconds": fitted - started,
        "sample_seconds": sampled - fitted,
        "rows_sampled": len(synthetic),
        "baseline_rss_mb": baseline,
        "peak_rss_mb": peak_rss_mb(),
        "dp_budget": getattr(model, "dp_budget_", None),
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
