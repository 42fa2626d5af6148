"""Scaling of sharded sampling (and a small sweep) on the local backend and on Ray.

    PYTHONPATH=src python benchmarks/ray_scaling.py sample --rows 10000000
    PYTHONPATH=src python benchmarks/ray_scaling.py sweep

``sample`` fits one model, then samples ``--rows`` rows to a partitioned Parquet folder
with the local backend, Ray with 1 worker and Ray with 2 workers - each in a fresh
process (a fresh Ray runtime) - and records the wall time, the peak resident memory of
each process that drew shards, the scaling efficiency and that every folder has the same
shard hashes. ``sweep`` times the same small benchmark grid on both backends and checks
that the quality figures are identical. Both append their table, with the command and
the machine's load average, to ``benchmarks/results/ray_scaling.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results" / "ray_scaling.md"
GIB = 1024**3


def _now() -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f}"


# -- one configuration, in its own process -------------------------------------------------
def run_sample(args: argparse.Namespace) -> None:
    from healthforge.distributed import get_executor, sample_to_folder
    from healthforge.generators import load_model

    model = load_model(args.model)
    executor = get_executor(args.backend, workers=args.workers)
    started = time.perf_counter()
    result = sample_to_folder(
        model, args.rows, args.out, seed=1, shard_rows=args.shard_rows, executor=executor
    )
    seconds = time.perf_counter() - started
    print(
        json.dumps(
            {
                "seconds": seconds,
                "rows": result.rows,
                "shards": len(result.shards),
                "peak_rss_max": max(result.peak_rss.values()),
                "cpu_seconds": sum(result.cpu_seconds.values()),
                "busiest_cpu": result.busiest_worker_cpu(),
                "processes": len(set(result.workers.values())),
                "hashes": [s.sha256 for s in result.shards],
                "bytes": sum(s.bytes for s in result.shards),
            }
        )
    )


def _child(argv: list[str]) -> dict[str, Any]:
    env = dict(os.environ)
    done = subprocess.run(
        [sys.executable, __file__, *argv], capture_output=True, text=True, env=env, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def sample_all(args: argparse.Namespace) -> None:
    from healthforge.data import load_table
    from healthforge.generators import get_generator

    work = Path(tempfile.mkdtemp(prefix="hf-ray-scaling-"))
    try:
        model = work / "model.hfm"
        table = load_table(args.data)
        get_generator(args.generator, seed=0).fit(table).save(str(model))
        configs = [("local", 1), ("ray", 1), ("ray", 2)]
        rows: list[dict[str, Any]] = []
        for backend, workers in configs:
            load_before = _load()
            out = work / f"{backend}{workers}"
            argv = ["_sample", "--model", str(model), "--rows", str(args.rows)]
            argv += ["--backend", backend, "--out", str(out), "--shard-rows", str(args.shard_rows)]
            if backend == "ray":
                argv += ["--workers", str(workers)]
            found = _child(argv)
            found.update(backend=backend, workers=workers, load_before=load_before)
            rows.append(found)
            print(
                f"{backend} x{workers}: {found['seconds']:.1f}s, "
                f"peak {found['peak_rss_max'] / GIB:.2f} GiB",
                flush=True,
            )
            shutil.rmtree(out)
        _write_sample_table(args, rows)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _write_sample_table(args: argparse.Namespace, rows: list[dict[str, Any]]) -> None:
    one = next(r for r in rows if r["backend"] == "ray" and r["workers"] == 1)["seconds"]
    same = len({tuple(r["hashes"]) for r in rows}) == 1
    lines = [
        f"\n## Sampling {args.rows:,} rows to Parquet ({_now()})\n",
        f"`PYTHONPATH=src python benchmarks/ray_scaling.py sample --rows {args.rows} "
        f"--generator {args.generator} --data {args.data} --shard-rows {args.shard_rows}`\n",
        f"Machine: {os.cpu_count()} cores shared with other work; load average (1/5/15 min) "
        f"at the end: {_load()}. Shards: {rows[0]['shards']} of {args.shard_rows:,} rows; "
        f"{rows[0]['bytes'] / 2**20:.0f} MiB of Parquet. Same shard hashes on every backend: "
        f"{'yes' if same else 'NO'}. The busiest worker's CPU seconds approximate the wall "
        "time with a dedicated core per worker (less start-up and I/O waits); the machine's "
        "load does not enter them.\n",
        "| backend | workers | wall time (s) | time / 1 Ray worker | scaling efficiency "
        "| peak RSS per worker (GiB) | CPU s in shards | busiest worker's CPU s "
        "| load before (1/5/15) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        ratio = r["seconds"] / one
        efficiency = one / (r["workers"] * r["seconds"])
        lines.append(
            f"| {r['backend']} | {r['workers']} | {r['seconds']:.1f} | {ratio:.2f} "
            f"| {efficiency:.2f} | {r['peak_rss_max'] / GIB:.2f} | {r['cpu_seconds']:.1f} "
            f"| {r['busiest_cpu']:.1f} ({r['processes']} processes) | {r['load_before']} |"
        )
    _append("\n".join(lines) + "\n")


def sweep_all(args: argparse.Namespace) -> None:
    """The same small benchmark grid, local then Ray; wall times and identical figures."""
    from healthforge.benchmark import run_benchmark
    from healthforge.distributed import get_executor

    work = Path(tempfile.mkdtemp(prefix="hf-ray-sweep-"))
    grid = {
        "datasets": args.datasets.split(","),
        "generators": args.generators.split(","),
        "repeats": args.repeats,
    }
    timings: dict[str, float] = {}
    figures: dict[str, list[Any]] = {}
    loads: dict[str, str] = {}
    try:
        for backend in ("ray", "local") if args.ray_first else ("local", "ray"):
            executor = get_executor(backend, workers=args.workers if backend == "ray" else None)
            loads[backend] = _load()
            started = time.perf_counter()
            result = run_benchmark(
                grid["datasets"], grid["generators"], repeats=args.repeats,
                reference=grid["generators"][0], results_json=work / f"{backend}.json",
                executor=executor, threads=1,
            )  # fmt: skip
            timings[backend] = time.perf_counter() - started
            figures[backend] = sorted(
                (r.dataset, r.method, r.repeat, r.status, json.dumps(r.metrics, sort_keys=True))
                for r in result.records
            )
            print(f"{backend}: {timings[backend]:.1f}s", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    same = figures["local"] == figures["ray"]
    cells = len(figures["local"])
    lines = [
        f"\n## Benchmark sweep, local vs Ray ({_now()})\n",
        f"`PYTHONPATH=src python benchmarks/ray_scaling.py sweep --datasets {args.datasets} "
        f"--generators {args.generators} --repeats {args.repeats} --workers {args.workers}"
        f"{' --ray-first' if args.ray_first else ''}`\n",
        f"{cells} cells (each a child process fitting, sampling and evaluating, `--threads 1`); "
        f"quality figures identical on both backends: {'yes' if same else 'NO'}; "
        f"{'Ray' if args.ray_first else 'local'} ran first. "
        f"Load average at the end: {_load()}.\n",
        "| backend | workers | wall time (s) | vs local | load before (1/5/15) |",
        "|---|---|---|---|---|",
        f"| local | 1 | {timings['local']:.1f} | 1.00 | {loads['local']} |",
        f"| ray | {args.workers} | {timings['ray']:.1f} | "
        f"{timings['ray'] / timings['local']:.2f} | {loads['ray']} |",
    ]
    _append("\n".join(lines) + "\n")


def _append(text: str) -> None:
    if not RESULTS.exists():
        RESULTS.write_text(
            "# Ray scaling measurements (issue #24)\n\nEach section is one run of "
            "`benchmarks/ray_scaling.py`, appended with its command; docs/scaling.md reads "
            "them.\n"
        )
    with RESULTS.open("a", encoding="utf-8") as handle:
        handle.write(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sample = sub.add_parser("sample", help="sharded sampling: local, Ray x1, Ray x2")
    sample.add_argument("--rows", type=int, default=10_000_000)
    sample.add_argument("--generator", default="independent")
    sample.add_argument("--data", default="bundled:icu")
    sample.add_argument("--shard-rows", type=int, default=500_000)
    sweep = sub.add_parser("sweep", help="a small benchmark grid: local vs Ray")
    sweep.add_argument("--datasets", default="icu,pima")
    sweep.add_argument("--generators", default="independent,gaussian_copula,cart")
    sweep.add_argument("--repeats", type=int, default=2)
    sweep.add_argument("--workers", type=int, default=2)
    sweep.add_argument("--ray-first", action="store_true", help="run Ray before local")
    one = sub.add_parser("_sample")  # one configuration (internal)
    one.add_argument("--model", required=True)
    one.add_argument("--rows", type=int, required=True)
    one.add_argument("--backend", required=True)
    one.add_argument("--workers", type=int, default=0)
    one.add_argument("--out", required=True)
    one.add_argument("--shard-rows", type=int, required=True)
    args = parser.parse_args()
    if args.command == "sample":
        sample_all(args)
    elif args.command == "sweep":
        sweep_all(args)
    elif args.command == "_sample":
        args.workers = args.workers or None
        run_sample(args)


if __name__ == "__main__":
    main()
