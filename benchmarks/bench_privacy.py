"""Privacy-utility trade-off of the DP generators on NHEFS and ICU (issue 6).

For aim, mst and dp_copula at epsilon in {1, 10}, and the non-DP bayesian_network as the
epsilon = infinity reference: fit time, TSTR/TRTR (``utility.ratio``) and membership-
inference AUC (``privacy.mia_auc``) from :func:`healthforge.evaluation.evaluate`, on a
seeded, stratified 80/20 split. Writes ``benchmarks/results/privacy.json`` (one line per
run, appended as runs finish), ``privacy.md`` and ``privacy.html`` (plotly, offline).

Public bounds: a DP generator may not read bounds from the private data, so the schema
passed to it has each numeric column's range widened outward to round numbers (tens for
ranges above 10). This stands in for the bounds a data steward declares from domain
knowledge (age 18-100, ...); it is *not* a DP release of the range.

Run: ``.venv/bin/python benchmarks/bench_privacy.py [--quick]``.
"""

from __future__ import annotations

import json
import math
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

from healthforge.data.bundled import get_dataset
from healthforge.data.infer import infer_schema
from healthforge.data.schema import Schema
from healthforge.evaluation import evaluate, split_train_holdout
from healthforge.generators import get_generator

RESULTS = Path(__file__).parent / "results"
DATASETS = {
    "nhefs": ("nhefs_complete", "death", ["seqn", "yrdth", "modth", "dadth", "id", "censored"]),
    "icu": ("icu", "died", []),
}
RUNS = [(g, e) for g in ("aim", "mst", "dp_copula") for e in (1.0, 10.0)] + [
    ("bayesian_network", math.inf)
]


def public_schema(df, target: str) -> Schema:
    """Inferred schema with numeric ranges widened outward to round numbers."""
    schema = infer_schema(df, target=target)
    for column in schema.columns:
        if column.minimum is None or column.maximum is None or column.kind == "datetime":
            continue
        step = 10.0 if column.maximum - column.minimum > 10 else 1.0
        column.minimum = math.floor(column.minimum / step) * step
        column.maximum = math.ceil(column.maximum / step) * step
    return schema


def run_one(name: str, dataset: str, generator: str, epsilon: float) -> dict:
    source, target, drop = DATASETS[dataset]
    df = get_dataset(source).load().drop(columns=drop, errors="ignore")
    train, holdout = split_train_holdout(df, target, 0.2, seed=0)
    schema = public_schema(df, target)
    if math.isinf(epsilon):
        model = get_generator(generator, seed=0)
    else:
        model = get_generator(generator, epsilon=epsilon, seed=0, noise_seed=0)
    started = time.perf_counter()
    model.fit(train, schema, target=target)
    fit_s = time.perf_counter() - started
    synthetic = model.sample(len(train), seed=0)
    budget = getattr(model, "dp_budget_", None)
    result = evaluate(train, synthetic, holdout, target=target, seed=0, dp_budget=budget)
    summary = result.summary
    return {
        "dataset": dataset,
        "generator": generator,
        "epsilon": None if math.isinf(epsilon) else epsilon,
        "fit_s": round(fit_s, 1),
        "utility_ratio": summary["utility"].get("ratio"),
        "tstr": summary["utility"].get("tstr"),
        "trtr": summary["utility"].get("trtr"),
        "mia_auc": summary["privacy"].get("mia_auc"),
        "dcr_ratio": summary["privacy"].get("dcr_ratio"),
        "pairs_measured": (budget or {}).get("split", {}).get("model", {}).get("pairs_measured"),
        "load_average": os.getloadavg()[0],
    }


def write_outputs(rows: list[dict]) -> None:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor(),
    )
    lines = [
        "# Privacy-utility trade-off (issue 6)",
        "",
        f"Machine: {os.cpu_count()} cores (nproc), {cpu}; Python {platform.python_version()}. "
        "The machine was shared with other jobs (load average column): times are upper bounds.",
        "",
        "Seeded stratified 80/20 split (seed 0); DP noise seed 0 (for reproducibility only: "
        "real fits draw it from the OS). Utility = TSTR/TRTR AUROC ratio (XGBoost), MIA = "
        "membership-inference AUC, both from `healthforge.evaluation.evaluate`. ε = ∞ is the "
        "non-DP bayesian_network.",
        "",
        "| dataset | generator | ε | fit (s) | TSTR/TRTR | MIA AUC | DCR ratio | pairs | load |",
        "|---|---|---|---|---|---|---|---|---|",
    ]

    def f(v, d=3):
        return "—" if v is None else f"{v:.{d}f}"

    for r in rows:
        eps = "∞" if r["epsilon"] is None else f"{r['epsilon']:g}"
        lines.append(
            f"| {r['dataset']} | {r['generator']} | {eps} | {r['fit_s']} | "
            f"{f(r['utility_ratio'])} | {f(r['mia_auc'])} | {f(r['dcr_ratio'], 2)} | "
            f"{r['pairs_measured'] or '—'} | {r['load_average']:.1f} |"
        )
    (
        RESULTS / "privacy_table.md"
    )  # privacy.md adds the analysis.write_text("\n".join(lines) + "\n")
    fig = make_subplots(rows=1, cols=2, subplot_titles=("TSTR/TRTR vs ε", "MIA AUC vs ε"))
    for dataset in DATASETS:
        for generator in ("aim", "mst", "dp_copula"):
            pts = [r for r in rows if r["dataset"] == dataset and r["generator"] == generator]
            if not pts:
                continue
            x = [r["epsilon"] for r in pts]
            for col, key in ((1, "utility_ratio"), (2, "mia_auc")):
                fig.add_trace(
                    go.Scatter(
                        x=x,
                        y=[r[key] for r in pts],
                        mode="lines+markers",
                        name=f"{dataset} {generator}",
                        showlegend=col == 1,
                    ),
                    row=1,
                    col=col,
                )
    fig.update_xaxes(type="log", title="ε")
    fig.write_html(RESULTS / "privacy.html", include_plotlyjs=True)


def main() -> None:
    RESULTS.mkdir(exist_ok=True)
    log = RESULTS / "privacy.json"
    rows = [json.loads(x) for x in log.read_text().splitlines()] if log.exists() else []
    done = {(r["dataset"], r["generator"], r["epsilon"]) for r in rows}
    datasets = ["icu"] if "--quick" in sys.argv else list(DATASETS)
    for dataset in datasets:
        for generator, epsilon in RUNS:
            key = (dataset, generator, None if math.isinf(epsilon) else epsilon)
            if key in done:
                continue
            row = run_one(generator, dataset, generator, epsilon)
            rows.append(row)
            with log.open("a") as out:
                out.write(json.dumps(row) + "\n")
            print(json.dumps(row), flush=True)
    write_outputs(rows)


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
