"""Conditional fidelity of every conditioning generator (issue #25, defect 1).

Each generator is fitted once per bundled table (small fixed settings; deep generators
with ``--epochs``), then draws ``--rows`` rows under each of two condition sets. The
rows are compared with the real subgroup satisfying the same conditions
(:func:`healthforge.evaluation.conditional.conditional_fidelity`): max |SMD| over
numeric columns, median |SMD|, mean TVD over discrete columns.

    nice -n 15 .venv/bin/python benchmarks/bench_conditional.py \
        --generators gaussian_copula bayesian_network ctgan --epochs 100

Writes ``benchmarks/results/conditional.md`` and ``.json`` (``--out`` to change).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from healthforge.data.bundled import get_dataset
from healthforge.data.infer import infer_schema
from healthforge.errors import HealthForgeError
from healthforge.evaluation.conditional import conditional_fidelity
from healthforge.generators import generator_class, generator_names, get_generator

# table -> two condition sets (a categorical and a numeric condition each)
TABLES: dict[str, list[list[str]]] = {
    "nhefs_complete": [["sex=female", "age>=65"], ["sex=male", "age>=60"]],
    "icu": [["sex=Female", "age>=65"], ["service=Surgical", "age<50"]],
    "pima": [["type=Yes", "age>=40"], ["type=No", "bmi>=35"]],
}
DEEP = {"ctgan", "tvae", "ddpm", "dpctgan", "dptvae"}
SKIP = {"llm", "lm"}  # language-model generators: minutes per table on this CPU


def _params(name: str, epochs: int | None, seed: int) -> dict[str, Any]:
    params: dict[str, Any] = {"seed": seed}
    if name in DEEP and epochs is not None:
        params["epochs"] = epochs
    return params


def _commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True
        )
        return out.stdout.strip()
    except OSError:
        return "unknown"


def run(args: argparse.Namespace) -> dict[str, Any]:
    names = args.generators or [n for n in generator_names(installed_only=True) if n not in SKIP]
    results: list[dict[str, Any]] = []
    for table in args.tables:
        df = get_dataset(table).load()
        schema = infer_schema(df, source=f"bundled:{table}")
        for name in names:
            params = _params(name, args.epochs, args.seed)
            started = time.perf_counter()
            try:
                model = get_generator(name, **params).fit(df, schema)
            except (HealthForgeError, ImportError) as exc:
                results.append({"table": table, "generator": name, "error": f"fit: {exc}"})
                print(table, name, "fit failed:", exc, flush=True)
                continue
            fit_s = time.perf_counter() - started
            for conditions in TABLES[table]:
                row: dict[str, Any] = {
                    "table": table,
                    "generator": name,
                    "conditioning": generator_class(name).conditioning,
                    "params": params,
                    "fit_s": round(fit_s, 1),
                    "conditions": conditions,
                }
                try:
                    synthetic = model.sample(args.rows, seed=args.seed + 1, conditions=conditions)
                except HealthForgeError as exc:
                    row["error"] = f"sample: {exc}"
                    results.append(row)
                    print(table, name, conditions, "sample failed:", exc, flush=True)
                    continue
                fidelity = conditional_fidelity(df, synthetic, conditions, schema)
                abs_smd = [abs(v) for v in fidelity.smd.values() if np.isfinite(v)]
                row.update(fidelity.to_dict())
                row["median_abs_smd"] = float(np.median(abs_smd)) if abs_smd else None
                results.append(row)
                print(
                    f"{table:15s} {name:17s} {'; '.join(conditions):24s} "
                    f"n_real={fidelity.real_rows:4d} max|SMD|={fidelity.max_abs_smd:.2f} "
                    f"({fidelity.max_smd_column}) median|SMD|={row['median_abs_smd']:.2f} "
                    f"meanTVD={fidelity.mean_tvd:.3f}",
                    flush=True,
                )
    return {
        "command": "nice -n 15 .venv/bin/python " + " ".join(sys.argv),
        "commit": _commit(),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores "
        f"(shared), {platform.system()} {platform.release()}, Python {platform.python_version()}",
        "rows_per_condition": args.rows,
        "seed": args.seed,
        "results": results,
    }


def _fmt(value: Any, spec: str = ".2f") -> str:
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    return format(value, spec)


def write(report: dict[str, Any], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(report, indent=1))
    lines = [
        "# Conditional fidelity (issue #25, defect 1)",
        "",
        "Conditioned synthetic rows against the real rows satisfying the same conditions "
        "(`healthforge.evaluation.conditional`): SMD = (synthetic mean - real subgroup mean)"
        " / real subgroup sd per numeric column; TVD per discrete column. Each generator is "
        "fitted on the whole table once, then samples "
        f"{report['rows_per_condition']} rows per condition set (seed {report['seed']}).",
        "",
        f"- command: `{report['command']}`",
        f"- commit: {report['commit']}",
        f"- machine: {report['machine']}",
        "",
        "| table | generator | conditioning | params | conditions | real n | max abs SMD (column) "
        "| median abs SMD | mean TVD | fit s |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in report["results"]:
        conds = "; ".join(r.get("conditions", []))
        if "error" in r:
            lines.append(
                f"| {r['table']} | {r['generator']} | | | {conds} | | {r['error'][:80]} | | | |"
            )
            continue
        params = ", ".join(f"{k}={v}" for k, v in r["params"].items() if k != "seed") or "defaults"
        flag = " (too small)" if r["too_small"] else ""
        lines.append(
            f"| {r['table']} | {r['generator']} | {r['conditioning']} | {params} | {conds} | "
            f"{r['real_rows']}{flag} | {_fmt(r['max_abs_smd'])} ({r['max_smd_column']}) | "
            f"{_fmt(r['median_abs_smd'])} | {_fmt(r['mean_tvd'], '.3f')} | {r['fit_s']} |"
        )
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generators", nargs="*", help="default: every installed but lm/llm")
    parser.add_argument("--tables", nargs="*", default=list(TABLES), choices=list(TABLES))
    parser.add_argument("--epochs", type=int, default=None, help="deep generators' epochs")
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/conditional.md"))
    args = parser.parse_args()
    write(run(args), args.out)


if __name__ == "__main__":
    main()
