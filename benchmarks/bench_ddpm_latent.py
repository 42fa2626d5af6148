"""ddpm on NHEFS, and latent_copula against the other generators on gene expression.

Part 1 - ``ddpm`` on NHEFS, set up as in /work/shared/ANCHORS.md: ``bundled:nhefs_complete``
(1,566 rows), ``seqn``, the constant ``censored`` and ``yrdth``/``modth``/``dadth`` (filled
only when ``death`` = 1) dropped, target ``death``, 80/20 stratified split; fitted on the
training part with ``target="death"``. Sequential CART runs in the same process as a
reference under the same machine load.

* fit (s), sample 10k (s): wall clock, sampling including decoding to a DataFrame; the
  CPU columns are the process's CPU time (``time.process_time``), which other work on a
  shared machine inflates far less than wall clock (ddpm uses one torch thread).
* utility ratio, detection AUC, DCR ratio: ``healthforge.evaluation.evaluate(train,
  synthetic, holdout=holdout, target="death").summary`` keys ``utility.ratio``,
  ``fidelity.detection_auc``, ``privacy.dcr_ratio``; ``synthetic`` is the first
  ``len(train)`` rows of the 10k sample (rows are drawn independently).
* death rate of the training part and of the 10k synthetic rows.

Part 2 - tissue classification on ``bundled:tissue_gene_expression`` (189 samples x 500
genes, 7 tissues), 80/20 split stratified by tissue (fixed). Each generator is fitted on
the training part (no target given: latent_copula finds ``tissue`` itself) and samples as
many rows as the training part. TSTR accuracy ratio: accuracy on the real holdout of a
classifier trained on synthetic rows divided by the same classifier trained on the real
training part. Classifiers: standardised logistic regression, and nearest centroid.

Run: ``.venv/bin/python benchmarks/bench_ddpm_latent.py [--repeats 3]`` (writes
``benchmarks/results/ddpm_latent.md``).
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from datetime import date
from pathlib import Path

import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.neighbors import NearestCentroid
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from healthforge.data import load_table
from healthforge.evaluation import evaluate
from healthforge.generators import get_generator

DROP = ["seqn", "censored", "yrdth", "modth", "dadth"]
TISSUE_GENERATORS = ("latent_copula", "gaussian_copula", "bayesian_network", "cart")
KEYS = ("utility.ratio", "fidelity.detection_auc", "privacy.dcr_ratio")


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return f"{os.cpu_count()} cores (nproc), {cpu}, Python {platform.python_version()}"


def load() -> str:
    return " / ".join(f"{x:.1f}" for x in os.getloadavg())


def _pick(summary: dict, key: str) -> float:
    section, name = key.split(".")
    value = summary[section][name]
    return float("nan") if value is None else float(value)


def nhefs_rows(repeats: int) -> list[dict]:
    df = load_table("bundled:nhefs_complete").drop(columns=DROP)
    train, holdout = train_test_split(df, test_size=0.2, stratify=df["death"], random_state=0)
    rows = []
    for name in ("ddpm", "cart"):
        for seed in range(repeats):
            gen = get_generator(name, seed=seed)
            start, cpu = time.perf_counter(), time.process_time()
            gen.fit(train, target="death")
            fit_s, fit_cpu = time.perf_counter() - start, time.process_time() - cpu
            start, cpu = time.perf_counter(), time.process_time()
            synth = gen.sample(10_000, seed=seed + 100)
            sample_s, sample_cpu = time.perf_counter() - start, time.process_time() - cpu
            summary = evaluate(
                train, synth.head(len(train)), holdout=holdout, target="death", seed=seed
            ).summary
            row = {
                "generator": name,
                "seed": seed,
                "fit_s": fit_s,
                "sample10k_s": sample_s,
                "fit_cpu": fit_cpu,
                "sample10k_cpu": sample_cpu,
                **{key: _pick(summary, key) for key in KEYS},
                "death_real": float(train["death"].mean()),
                "death_synth": float(synth["death"].astype(float).mean()),
                "steps": getattr(gen, "steps_", None),
            }
            rows.append(row)
            print(row, flush=True)
    return rows


def _accuracy(clf: object, train: pd.DataFrame, test: pd.DataFrame) -> float:
    model = make_pipeline(StandardScaler(), clf)
    model.fit(train.drop(columns="tissue"), train["tissue"].astype(str))
    return float((model.predict(test.drop(columns="tissue")) == test["tissue"].astype(str)).mean())


def tissue_rows(repeats: int) -> list[dict]:
    df = load_table("bundled:tissue_gene_expression")
    train, test = train_test_split(df, test_size=0.2, stratify=df["tissue"], random_state=0)
    classifiers = {
        "logistic": lambda: LogisticRegression(max_iter=2000),
        "centroid": NearestCentroid,
    }
    real = {c: _accuracy(make(), train, test) for c, make in classifiers.items()}
    rows = []
    for name in TISSUE_GENERATORS:
        for seed in range(repeats):
            gen = get_generator(name, seed=seed)
            start = time.perf_counter()
            gen.fit(train)
            fit_s = time.perf_counter() - start
            synth = gen.sample(len(train), seed=seed + 100)
            row: dict = {"generator": name, "seed": seed, "fit_s": fit_s}
            for c, make in classifiers.items():
                row[f"{c}_tstr"] = _accuracy(make(), synth, test)
                row[f"{c}_ratio"] = row[f"{c}_tstr"] / real[c]
            rows.append(row)
            print(row, flush=True)
    return [{"generator": "(real)", **{f"{c}_trtr": v for c, v in real.items()}}, *rows]


def _ms(values: pd.Series, digits: int = 2) -> str:
    if len(values) == 1:
        return f"{values.iloc[0]:.{digits}f}"
    return f"{values.mean():.{digits}f} ({values.std():.{digits}f})"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default="benchmarks/results/ddpm_latent.md")
    args = parser.parse_args()
    load_start = load()
    nhefs = pd.DataFrame(nhefs_rows(args.repeats))
    tissue = pd.DataFrame(tissue_rows(args.repeats))
    load_end = load()

    lines = [
        "# ddpm on NHEFS; latent_copula on gene expression",
        "",
        f"Machine: {machine()}. Measured {date.today()} with "
        f"`python benchmarks/bench_ddpm_latent.py --repeats {args.repeats}`; "
        f"load average (1/5/15 min) {load_start} at the start, {load_end} at the end "
        "(other work shared the 2 cores: absolute times are inflated, compare within a table).",
        f"Figures are mean (sd) over seeds 0..{args.repeats - 1}. "
        "Setup and metric definitions: the script's docstring.",
        "",
        "## ddpm on NHEFS (target `death`, 80/20 stratified split)",
        "",
        "| generator | fit (s) | fit CPU (s) | sample 10k (s) | sample 10k CPU (s) | TSTR/TRTR "
        "| detection AUC | DCR ratio | death rate real | death rate synthetic | training steps |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, g in nhefs.groupby("generator", sort=False):
        steps = _ms(g["steps"].astype(float), 0) if g["steps"].notna().all() else "—"
        lines.append(
            f"| {name} | {_ms(g['fit_s'], 1)} | {_ms(g['fit_cpu'], 1)} | "
            f"{_ms(g['sample10k_s'], 1)} | {_ms(g['sample10k_cpu'], 1)} | "
            f"{_ms(g['utility.ratio'])} | {_ms(g['fidelity.detection_auc'])} | "
            f"{_ms(g['privacy.dcr_ratio'])} | {g['death_real'].iloc[0]:.3f} | "
            f"{_ms(g['death_synth'], 3)} | {steps} |"
        )
    lines += [
        "",
        "Peer (ANCHORS.md, synthcity ddpm, 300 iterations): fit 23 s, sample 10k 124 s, "
        "TSTR/TRTR 0.96 with death rate 0.04 vs 0.19, detection 1.00, DCR ratio 2.83.",
        "",
        "## Tissue classification, train on synthetic / test on real (`tissue_gene_expression`)",
        "",
    ]
    real = tissue[tissue["generator"] == "(real)"].iloc[0]
    lines += [
        f"Train on real, test on real: logistic {real['logistic_trtr']:.3f}, "
        f"nearest centroid {real['centroid_trtr']:.3f} (38 holdout samples).",
        "",
        "| generator | fit (s) | logistic TSTR acc | logistic ratio | centroid TSTR acc "
        "| centroid ratio |",
        "|---|---|---|---|---|---|",
    ]
    for name, g in tissue[tissue["generator"] != "(real)"].groupby("generator", sort=False):
        lines.append(
            f"| {name} | {_ms(g['fit_s'], 1)} | {_ms(g['logistic_tstr'])} | "
            f"{_ms(g['logistic_ratio'])} | {_ms(g['centroid_tstr'])} | "
            f"{_ms(g['centroid_ratio'])} |"
        )
    Path(args.out).write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
