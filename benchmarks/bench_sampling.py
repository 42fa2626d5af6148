"""Peak memory and time of sampling 1,000,000 rows: streamed chunks vs one DataFrame.

Both ways run the same fitted model in fresh subprocesses (peak RSS is per process),
side by side, so the ratio - not the absolute figures - is the result.

    .venv/bin/python benchmarks/bench_sampling.py [--rows 1000000]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = r"""
import json, resource, sys, time
from healthforge.generators import load_model
from healthforge.data import write_chunks
model = load_model(sys.argv[1]); rows = int(sys.argv[2]); out = sys.argv[3]; mode = sys.argv[4]
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
if mode == "streamed":
    write_chunks(model.sample_chunks(rows, seed=0), out)
else:
    model.sample(rows, seed=0).to_parquet(out)
elapsed = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"seconds": elapsed, "peak_mib": peak / 1024, "base_mib": base / 1024}))
"""


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return f"{os.cpu_count()} cores, {cpu}, Python {platform.python_version()}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--out", default="benchmarks/results/sampling.md")
    args = parser.parse_args()
    from healthforge.data import load_table
    from healthforge.generators import get_generator

    lines = [
        f"# Sampling {args.rows:,} rows: streamed chunks vs one DataFrame",
        "",
        f"Machine: {machine()}. Measured {time.strftime('%Y-%m-%d')} with "
        "`python benchmarks/bench_sampling.py`; each way in a fresh process; peak RSS "
        "includes the interpreter and the loaded model.",
        "",
        "| generator | dataset | streamed s | in-memory s | streamed peak MiB | "
        "in-memory peak MiB | memory ratio (in-memory / streamed) |",
        "|---|---|---|---|---|---|---|",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        for generator, dataset in [("bayesian_network", "nhefs"), ("gaussian_copula", "nhefs")]:
            model_path = Path(tmp) / f"{generator}.hfm"
            get_generator(generator).fit(load_table(f"bundled:{dataset}")).save(str(model_path))
            res = {}
            for mode in ("streamed", "in-memory"):
                out = Path(tmp) / f"{generator}-{mode}.parquet"
                proc = subprocess.run(
                    [sys.executable, "-c", CHILD, str(model_path), str(args.rows), str(out), mode],
                    capture_output=True,
                    text=True,
                    check=True,
                )
                res[mode] = json.loads(proc.stdout.strip().splitlines()[-1])
            s, m = res["streamed"], res["in-memory"]
            lines.append(
                f"| {generator} | {dataset} | {s['seconds']:.1f} | {m['seconds']:.1f} | "
                f"{s['peak_mib']:.0f} | {m['peak_mib']:.0f} | {m['peak_mib'] / s['peak_mib']:.2f} |"
            )
            print(lines[-1], flush=True)
    Path(args.out).write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
