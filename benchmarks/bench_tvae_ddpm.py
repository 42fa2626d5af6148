"""tvae and ddpm variants on the main benchmark's NHEFS splits, and SDV's TVAE beside tvae.

Splits, evaluation and sampling are those of ``healthforge benchmark``: the bundled
``nhefs`` with the target's leaky columns dropped, 80/20 split stratified on ``death``
with seed ``s`` for each ``--splits`` value, 10,000 rows sampled, the first
``len(train)`` of them judged by ``evaluate()`` against the split's holdout. Each
variant is a generator and keyword arguments (``--variants``, JSON); ``sdv:tvae`` runs
SDV's ``TVAESynthesizer`` at the same epochs and batch size in the SDV venv, through
``bench_deep_generators.run_sdv`` (the same child script as that benchmark).

Run timed figures under ``flock /tmp/hf-bench.lock`` with ``--threads 1``:
``.venv/bin/python benchmarks/bench_tvae_ddpm.py --splits 0 1 2 --variants ...``
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import shlex
import sys
import time
from pathlib import Path

import numpy as np

from healthforge.benchmark.harness import load_dataset
from healthforge.benchmark.machine import load_average, machine_info
from healthforge.data.infer import infer_schema
from healthforge.evaluation import evaluate, split_train_holdout
from healthforge.generators import get_generator

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "tvae_ddpm.md"
DEFAULT_VARIANTS = [
    '{"label": "tvae default", "generator": "tvae"}',
    '{"label": "sdv:tvae", "generator": "sdv:tvae"}',
]
METRICS = ("fit_s", "sample_s", "tstr", "detection", "dcr", "mia")


def _deep_bench() -> object:
    """``benchmarks/bench_deep_generators.py`` as a module (its SDV child script)."""
    path = ROOT / "benchmarks" / "bench_deep_generators.py"
    spec = importlib.util.spec_from_file_location("bench_deep_generators", path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def run_variant(variant: dict, train, target: str, seed: int, threads: int) -> dict:
    """Fit and sample one variant; returns timings, the steps trained and the rows."""
    name = variant["generator"]
    params = dict(variant.get("params", {}))
    if name == "sdv:tvae":
        deep = _deep_bench()
        python = next((p for p in deep.SDV_PYTHONS if p.exists()), None)
        if python is None:
            raise SystemExit("SDV venv not found under .peers/sdv")
        args = argparse.Namespace(
            epochs=params.get("epochs", 300),
            batch_size=params.get("batch_size", 500),
            threads=threads,
        )
        res = deep.run_sdv(python, "tvae", train, args)
        return {"fit_s": res["fit_s"], "sample_s": res["sample_s"], "synth": res["synth"]}
    params.setdefault("threads", threads)
    gen = get_generator(name, seed=seed, **params)
    start = time.perf_counter()
    gen.fit(train, target=target)
    fit_s = time.perf_counter() - start
    start = time.perf_counter()
    big = gen.sample(10_000, seed=seed)
    sample_s = time.perf_counter() - start
    steps = getattr(gen, "epochs_trained_", getattr(gen, "steps_", None))
    return {"fit_s": fit_s, "sample_s": sample_s, "synth": big, "steps": steps}


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--splits", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--variants", nargs="+", default=DEFAULT_VARIANTS)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--note", default="")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    variants = [json.loads(v) for v in args.variants]
    data = load_dataset("nhefs")
    machine = machine_info()
    from healthforge.generators.core.torch_support import import_torch

    torch = import_torch()  # paid before any timer, as SDV's child imports it first
    torch.set_num_threads(args.threads)
    rows: dict[str, list[dict]] = {v["label"]: [] for v in variants}
    for split in args.splits:
        train, holdout = split_train_holdout(data.data, data.target, 0.2, split)
        schema = infer_schema(train, data.target)
        for variant in variants:
            res = run_variant(variant, train, data.target, split, args.threads)
            synth = res["synth"].head(len(train)).reset_index(drop=True)
            summary = evaluate(
                train, synth, holdout=holdout, schema=schema, target=data.target, seed=split
            ).summary
            row = {
                "split": split,
                "fit_s": res["fit_s"],
                "sample_s": res["sample_s"],
                "steps": res.get("steps"),
                "tstr": summary["utility"]["ratio"],
                "detection": summary["fidelity"]["detection_auc"],
                "dcr": summary["privacy"]["dcr_ratio"],
                "mia": summary["privacy"]["mia_auc"],
            }
            rows[variant["label"]].append(row)
            print(variant["label"], json.dumps(row), flush=True)
    command = " ".join(shlex.quote(a) for a in [".venv/bin/python", *sys.argv])
    lines = [
        "# tvae and ddpm on the main benchmark's NHEFS splits",
        "",
        f"Measured {machine['date']} at commit {machine['git_commit']} with `{command}`.",
        "",
        f"- machine: {machine['nproc']} cores ({machine['cpu']}), {machine['memory_gb']} GB; "
        f"torch {machine['torch']}, {args.threads} thread(s) per fit; load average "
        f"{machine['load_average_start']} at the start, {load_average()} at the end",
        "- splits as `healthforge benchmark` (80/20, stratified on `death`, seed = split); "
        "10,000 rows sampled, the first len(train) evaluated by `evaluate()` against the "
        "holdout; values are mean ± sd over splits",
    ]
    if args.note:
        lines.append(f"- {args.note}")
    lines += [
        "",
        "| variant | params | splits | steps | fit s | sample 10k s | TSTR/TRTR | detection AUC "
        "| DCR ratio | MIA AUC |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for variant in variants:
        got = rows[variant["label"]]

        def stat(key: str, fmt: str = "{:.3f}", got: list[dict] = got) -> str:
            vals = np.array([r[key] for r in got if r[key] is not None], dtype=float)
            if not len(vals):
                return "-"
            sd = f" ± {fmt.format(vals.std(ddof=1))}" if len(vals) > 1 else ""
            return fmt.format(vals.mean()) + sd

        params = json.dumps(variant.get("params", {}))
        lines.append(
            f"| {variant['label']} | `{params}` | {len(got)} | {stat('steps', '{:.0f}')} | "
            f"{stat('fit_s', '{:.1f}')} | {stat('sample_s', '{:.2f}')} | {stat('tstr')} | "
            f"{stat('detection')} | {stat('dcr')} | {stat('mia')} |"
        )
    lines += ["", "Per split (fit s / TSTR/TRTR / detection AUC / DCR ratio):", ""]
    for label, got in rows.items():
        per = "; ".join(
            f"split {r['split']}: {r['fit_s']:.1f} / "
            + " / ".join(_fmt(r[k]) for k in ("tstr", "detection", "dcr"))
            for r in got
        )
        lines.append(f"- {label}: {per}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
