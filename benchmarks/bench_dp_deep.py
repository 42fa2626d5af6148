"""DP-SGD deep generators (dpctgan, dptvae) beside aim, mst and dp_copula (issue 6).

On NHEFS (``nhefs_complete``, target ``death``, leaky and identifier columns dropped as
in ``/work/shared/ANCHORS.md``) and ICU (target ``died``), a seeded stratified 80/20
split (seed 0), at epsilon 1 and 10: fit time, TSTR/TRTR (``utility.ratio``), detection
AUC, membership-inference AUC, and the budget the model records (its ``dp_budget_``:
for DP-SGD the accountant's epsilon).

Public domain: as ``healthforge.demo`` does, every DP generator gets the bundled table's
schema (``prepare(full_table).schema``: published categories and ranges) as public.

Rows are appended to ``benchmarks/results/dp_deep.json`` as runs finish (the script
resumes from it); ``--write`` turns them into ``dp_deep_table.md``.

Run (timed, one benchmark at a time on the machine)::

    flock /tmp/hf-bench.lock .venv/bin/python benchmarks/bench_dp_deep.py \
        --datasets icu --generators dpctgan dptvae dp_copula
    .venv/bin/python benchmarks/bench_dp_deep.py --write
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from healthforge.benchmark.machine import load_average, machine_info
from healthforge.data.bundled import get_dataset
from healthforge.data.prepare import prepare
from healthforge.evaluation import evaluate, split_train_holdout
from healthforge.generators import get_generator

RESULTS = Path(__file__).parent / "results"
DATASETS = {
    "nhefs": ("nhefs_complete", "death", ["seqn", "yrdth", "modth", "dadth", "id", "censored"]),
    "icu": ("icu", "died", []),
}
GENERATORS = ("dpctgan", "dptvae", "dp_copula", "mst", "aim")
EPSILONS = (1.0, 10.0)


def run_one(dataset: str, generator: str, epsilon: float, params: dict) -> dict:
    source, target, drop = DATASETS[dataset]
    df = get_dataset(source).load().drop(columns=drop, errors="ignore")
    train, holdout = split_train_holdout(df, target, 0.2, seed=0)
    public = prepare(df, target=target).schema
    model = get_generator(generator, epsilon=epsilon, seed=0, noise_seed=0, **params)
    load_before = load_average()
    started = time.perf_counter()
    cpu_started = time.process_time()
    model.fit(train, public, target=target)
    fit_s = time.perf_counter() - started
    fit_cpu_s = time.process_time() - cpu_started
    synthetic = model.sample(len(train), seed=0)
    budget = model.dp_budget_
    result = evaluate(train, synthetic, holdout, target=target, seed=0, dp_budget=budget)
    s = result.summary
    sgd = budget["split"].get("dp_sgd") or {}
    return {
        "dataset": dataset,
        "generator": generator,
        "epsilon_target": epsilon,
        "epsilon_recorded": budget["epsilon"],
        "delta": budget["delta"],
        "accountant": sgd.get("accountant") or budget["accountant"],
        "noise_multiplier": sgd.get("noise_multiplier"),
        "sampling_rate": sgd.get("sampling_rate"),
        "steps": sgd.get("steps"),
        "params": params,
        "fit_s": round(fit_s, 1),
        "fit_cpu_s": round(fit_cpu_s, 1),
        "utility_ratio": s["utility"].get("ratio"),
        "detection_auc": s["fidelity"].get("detection_auc"),
        "mia_auc": s["privacy"].get("mia_auc"),
        "load_average": load_before,
    }


def write_table(rows: list[dict], path: Path) -> None:
    def f(v, d=3):
        return "—" if v is None else f"{v:.{d}f}"

    lines = [
        "| dataset | generator | ε target | ε recorded | σ (noise mult.) | steps | fit (s) | "
        "fit CPU (s) | TSTR/TRTR | detection AUC | MIA AUC | load | run |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    order = {g: i for i, g in enumerate(GENERATORS)}
    for r in sorted(rows, key=lambda r: (r["dataset"], r["epsilon_target"], order[r["generator"]])):
        lines.append(
            f"| {r['dataset']} | {r['generator']} | {r['epsilon_target']:g} | "
            f"{f(r['epsilon_recorded'])} | {f(r['noise_multiplier'], 2)} | "
            f"{r['steps'] or '—'} | {r['fit_s']} | {r['fit_cpu_s']} | {f(r['utility_ratio'])} | "
            f"{f(r['detection_auc'])} | {f(r['mia_auc'])} | {f(r['load_average'], 1)} | "
            f"{r.get('run', 'flock')} |"
        )
    path.write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS))
    parser.add_argument("--generators", nargs="+", default=list(GENERATORS))
    parser.add_argument("--epsilons", nargs="+", type=float, default=list(EPSILONS))
    parser.add_argument("--param", action="append", default=[], help="k=v for the deep ones")
    parser.add_argument("--log", type=Path, default=RESULTS / "dp_deep.json")
    parser.add_argument("--write", action="store_true", help="only write the table")
    parser.add_argument(
        "--niced", action="store_true", help="mark rows as niced runs (times not comparable)"
    )
    args = parser.parse_args()
    params = {k: json.loads(v) for k, v in (p.split("=", 1) for p in args.param)}
    rows = [json.loads(x) for x in args.log.read_text().splitlines()] if args.log.exists() else []
    if args.write:
        write_table(rows, args.log.with_name(args.log.stem + "_table.md"))
        return
    done = {(r["dataset"], r["generator"], r["epsilon_target"]) for r in rows}
    machine = machine_info()
    for dataset in args.datasets:
        for epsilon in args.epsilons:
            for generator in args.generators:
                if (dataset, generator, epsilon) in done:
                    continue
                deep = generator in ("dpctgan", "dptvae")
                row = run_one(dataset, generator, epsilon, params if deep else {})
                row["machine"] = {k: machine[k] for k in ("date", "nproc", "cpu", "git_commit")}
                row["run"] = "niced" if args.niced else "flock"
                with args.log.open("a") as out:
                    out.write(json.dumps(row) + "\n")
                print(json.dumps(row), flush=True)


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
