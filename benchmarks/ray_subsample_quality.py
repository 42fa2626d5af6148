"""What fitting on a streamed sample of a large table costs in quality.

    PYTHONPATH=src python benchmarks/ray_subsample_quality.py

A "population" of ``--population`` rows is drawn from a bayesian_network fitted on
NHEFS and written as a partitioned Parquet folder (it stands in for a registry too large
to load). Each generator is then fitted through the pipeline on seeded uniform samples of
``--sizes`` rows streamed from that folder (``data.sample_rows``, what
``generate --fit-rows`` does) - the largest size being the whole population - and its
rows are judged by the same evaluation against one fixed reference sample and holdout
of the population. The table (fit time, fidelity, utility) is appended to
``benchmarks/results/ray_scaling.md`` with the command and the load average.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results" / "ray_scaling.md"
SHOWN = ("detection_auc", "column_similarity", "utility_ratio")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--population", type=int, default=500_000)
    parser.add_argument("--sizes", default="1000,10000,100000,500000")
    parser.add_argument("--generators", default="gaussian_copula,bayesian_network")
    parser.add_argument("--rows", type=int, default=20_000, help="synthetic rows judged")
    parser.add_argument("--results", type=Path, default=RESULTS, help="markdown to append to")
    args = parser.parse_args()

    from healthforge.benchmark.records import METRICS
    from healthforge.data import load_table
    from healthforge.data.bundled import default_target
    from healthforge.data.streaming import sample_rows
    from healthforge.distributed import sample_to_folder
    from healthforge.evaluation import evaluate
    from healthforge.generators import get_generator
    from healthforge.pipeline import RunSpec, run

    work = Path(tempfile.mkdtemp(prefix="hf-subsample-"))
    rows: list[dict[str, Any]] = []
    try:
        target = default_target("bundled:nhefs", None)
        nhefs = load_table("bundled:nhefs")
        source = get_generator("bayesian_network", seed=0).fit(nhefs, target=target)
        population = work / "population"
        sample_to_folder(source, args.population, population, seed=7, shard_rows=250_000)
        reference = sample_rows(population, args.rows, seed=101)
        holdout = sample_rows(population, args.rows // 4, seed=202)
        for generator in args.generators.split(","):
            for size in (int(s) for s in args.sizes.split(",")):
                spec = RunSpec.from_dict(
                    {
                        "data": {"source": str(population), "sample_rows": size,
                                 "target": target},
                        "generator": {"name": generator},
                        "rows": args.rows,
                        "seed": 3,
                    }
                )  # fmt: skip
                started = time.perf_counter()
                result = run(spec, until="sample")
                seconds = time.perf_counter() - started
                summary = evaluate(
                    reference, result.synthetic, holdout=holdout, schema=source.schema_,
                    target=target, seed=0, n_estimators=50,
                ).summary  # fmt: skip
                found = {m: (summary.get(METRICS[m][0]) or {}).get(METRICS[m][1]) for m in SHOWN}
                rows.append({"generator": generator, "size": size, "seconds": seconds, **found})
                print(rows[-1], flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    load = "{:.2f} / {:.2f} / {:.2f}".format(*os.getloadavg())
    lines = [
        f"\n## Fitting on a streamed sample of a large table "
        f"({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})\n",
        f"`PYTHONPATH=src python benchmarks/ray_subsample_quality.py --population "
        f"{args.population} --sizes {args.sizes} --generators {args.generators} "
        f"--rows {args.rows}`\n",
        f"Population: {args.population:,} rows drawn from a bayesian_network fitted on NHEFS, "
        f"as a partitioned folder; each fit reads a seeded uniform sample of the given size "
        f"from it (the largest = every row); {args.rows:,} synthetic rows judged against one "
        f"reference sample of {args.rows:,} and a holdout of {args.rows // 4:,} population "
        f"rows (evaluate, n_estimators=50). Load average at the end: {load}.\n",
        "| generator | rows fitted on | load+fit+sample (s) | detection AUC (0.5 best) "
        "| column similarity | utility ratio |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        cells = [f"{r[m]:.3f}" if isinstance(r[m], float) else str(r[m]) for m in SHOWN]
        lines.append(
            f"| {r['generator']} | {r['size']:,} | {r['seconds']:.1f} | " + " | ".join(cells) + " |"
        )
    with args.results.open("a", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
