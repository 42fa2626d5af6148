"""Our ctgan and tvae on NHEFS, and SDV's at the same epochs and batch size, side by side.

Setup as in /work/shared/ANCHORS.md: ``bundled:nhefs_complete``, identifiers, the
constant ``censored`` and ``yrdth``/``modth``/``dadth`` (filled only when ``death`` = 1)
dropped, target ``death``, 80/20 stratified split; generators see the training part.

For each generator:

* **fixed**: ours with ``early_stopping=False`` for exactly ``--epochs`` epochs, the
  like-for-like timing against SDV (same epochs, same batch size, same threads);
* **defaults**: ours with its default settings - what a user gets (ctgan: 300 epochs
  in batches of 200, no early stopping; tvae: early stopping on the validation ELBO);
* **SDV**: ``CTGANSynthesizer`` / ``TVAESynthesizer`` in the SDV venv
  (``.peers/sdv/venv`` or ``.peers/sdv/bin``), run in a subprocess, if it exists.

Columns: fit (s) wall clock including the data transformer; s/epoch = fit / epochs
trained; sample 10k (s); TSTR/TRTR and detection AUC from
``healthforge.evaluation.evaluate`` (training rows as ``real``, the split's holdout as
``holdout``, as many synthetic rows as training rows). torch is imported before
timing starts (SDV's subprocess imports it before its timer too). Threads: ``--threads`` (default
1: the benchmark machine is shared and two busy OpenMP threads on a loaded 2-core box
run many times slower than one; SDV gets the same setting).

Run: ``.venv/bin/python benchmarks/bench_deep_generators.py [--epochs 300]``
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from healthforge.benchmark.machine import machine_info
from healthforge.data import load_table
from healthforge.evaluation import evaluate
from healthforge.generators import get_generator

TARGET = "death"
DROP = ["seqn", "censored", "yrdth", "modth", "dadth"]
ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "deep_generators.md"
SDV_PYTHONS = [ROOT / ".peers/sdv/bin/python", ROOT / ".peers/sdv/venv/bin/python"]

SDV_SCRIPT = r"""
import json, sys, time
import numpy as np
import pandas as pd
import torch
spec = json.loads(sys.argv[1])
torch.set_num_threads(spec["threads"])
train = pd.read_csv(spec["train"])
from sdv.metadata import Metadata
detect = getattr(Metadata, "detect_from_dataframes", None)  # SDV 2.0: dict of tables
metadata = detect({"table": train}) if detect else Metadata.detect_from_dataframe(train)
from sdv.single_table import CTGANSynthesizer, TVAESynthesizer
cls = {"ctgan": CTGANSynthesizer, "tvae": TVAESynthesizer}[spec["name"]]
synth = cls(metadata, epochs=spec["epochs"], batch_size=spec["batch_size"], enable_gpu=False)
start, cpu = time.perf_counter(), time.process_time()
synth.fit({"table": train} if detect else train)
fit_s, fit_cpu_s = time.perf_counter() - start, time.process_time() - cpu
start = time.perf_counter(); big = synth.sample(num_rows=10_000)
sample_s = time.perf_counter() - start
big = big["table"] if isinstance(big, dict) else big
big.head(len(train)).to_csv(spec["out"], index=False)
print(json.dumps({"fit_s": fit_s, "fit_cpu_s": fit_cpu_s, "sample_s": sample_s}))
"""


def _machine() -> str:
    info = machine_info()
    return (
        f"{info['nproc']} cores (nproc), {info['cpu']}, {info['memory_gb']} GiB, "
        f"torch {info['torch']}, commit {info['git_commit']}, {info['date']}, "
        f"load average at start {info['load_average_start']}"
    )


def _scores(train: pd.DataFrame, test: pd.DataFrame, synth: pd.DataFrame) -> tuple[float, float]:
    result = evaluate(train, synth, holdout=test, target=TARGET, n_attacks=100)
    summary = result.summary
    return summary["utility"]["ratio"], summary["fidelity"]["detection_auc"]


def run_ours(
    name: str, train: pd.DataFrame, args: argparse.Namespace, fixed: bool, seed: int
) -> dict:
    # fixed: SDV's epochs and batch size, no early stopping; else the generator's defaults
    like_sdv = {"epochs": args.epochs, "batch_size": args.batch_size, "early_stopping": False}
    gen = get_generator(name, threads=args.threads, seed=seed, **(like_sdv if fixed else {}))
    start, cpu = time.perf_counter(), time.process_time()
    gen.fit(train, target=TARGET)
    fit_s, fit_cpu_s = time.perf_counter() - start, time.process_time() - cpu
    start = time.perf_counter()
    big = gen.sample(10_000, seed=seed + 1)
    sample_s = time.perf_counter() - start
    return {
        "fit_s": fit_s,
        "fit_cpu_s": fit_cpu_s,
        "epochs": gen.epochs_trained_,
        "sample_s": sample_s,
        "synth": big.head(len(train)).reset_index(drop=True),
        "transformer_s": gen.timing_["transformer_s"],
    }


def run_sdv(python: Path, name: str, train: pd.DataFrame, args: argparse.Namespace) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        train_csv, out_csv = Path(tmp) / "train.csv", Path(tmp) / "synth.csv"
        train.to_csv(train_csv, index=False)
        spec = {
            "name": name,
            "epochs": args.epochs,
            "batch_size": args.batch_size,
            "threads": args.threads or os.cpu_count(),
            "train": str(train_csv),
            "out": str(out_csv),
        }
        done = subprocess.run(
            [str(python), "-c", SDV_SCRIPT, json.dumps(spec)],
            capture_output=True,
            text=True,
            check=True,
        )
        timing = json.loads(done.stdout.strip().splitlines()[-1])
        synth = pd.read_csv(out_csv)
    # CSV round trip: restore the training dtypes so evaluation compares like with like
    for column in train.columns:
        with contextlib.suppress(TypeError, ValueError):
            synth[column] = synth[column].astype(train[column].dtype)
    return {**timing, "epochs": args.epochs, "synth": synth}


def _split(df: pd.DataFrame, split: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    # split 0 is the single split of earlier versions of this script (random_state 0)
    train, test = train_test_split(df, test_size=0.2, stratify=df[TARGET], random_state=split)
    return train.reset_index(drop=True), test.reset_index(drop=True)


def _mean_sd(values: list[float]) -> str:
    arr = np.asarray(values, dtype=float)
    return f"{arr.mean():.3f}" if len(arr) == 1 else f"{arr.mean():.3f} ± {arr.std(ddof=1):.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=300)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0, help="generator seed of split 0")
    parser.add_argument("--generators", nargs="*", default=["ctgan", "tvae"])
    parser.add_argument("--no-sdv", action="store_true")
    parser.add_argument(
        "--splits", type=int, default=1, help="seeded 80/20 splits (random_state 0..N-1)"
    )
    parser.add_argument(
        "--no-defaults", action="store_true", help="skip the 'ours with its defaults' runs"
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help="results Markdown file")
    args = parser.parse_args()

    df = load_table("bundled:nhefs_complete").drop(columns=DROP)
    sdv = None if args.no_sdv else next((p for p in SDV_PYTHONS if p.exists()), None)
    n_train = len(_split(df, 0)[0])
    command = (
        ".venv/bin/python benchmarks/bench_deep_generators.py "
        f"--epochs {args.epochs} --batch-size {args.batch_size} --threads {args.threads} "
        f"--seed {args.seed} --splits {args.splits} --generators {' '.join(args.generators)}"
        + (" --no-defaults" if args.no_defaults else "")
        + (" --no-sdv" if args.no_sdv else "")
    )
    lines = [
        "# Deep generators on NHEFS: ours vs SDV at equal epochs and batch size",
        "",
        f"machine: {_machine()}; torch threads {args.threads}",
        f"data: nhefs_complete {df.shape}, train {n_train}, holdout {len(df) - n_train}; "
        f"epochs {args.epochs}, batch size {args.batch_size}; {args.splits} split(s), "
        f"split s: random_state s, generator seed {args.seed} + s",
        f"command: `{command}`",
        "",
        "Per split, the runs alternate (ours first on even splits, SDV first on odd ones), "
        "so load from other work on the machine slows both sides alike.",
        "",
        "| split | method | epochs trained | fit (s) | fit CPU (s) | s/epoch | sample 10k (s) "
        "| TSTR/TRTR | detection AUC |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    print("\n".join(lines), flush=True)
    # pay torch's import before any timer starts, as SDV's subprocess does when it
    # imports sdv. No torch.optim optimiser is built here: its lazy torch._dynamo import
    # (1-4 s) falls inside SDV's fit, and ours (ctgan, tvae) call the fused Adam kernel
    # without it, so neither side is spared it by the harness
    from healthforge.generators.core.torch_support import import_torch

    import_torch()
    # results[name][label] = list of per-split dicts
    results: dict[str, dict[str, list[dict]]] = {}
    failures: list[str] = []
    for split in range(args.splits):
        train, test = _split(df, split)
        seed = args.seed + split
        for name in args.generators:
            order = ["fixed", "SDV"] if split % 2 == 0 else ["SDV", "fixed"]
            if sdv is None:
                order.remove("SDV")
            if not args.no_defaults:
                order.append("defaults")
            for label in order:
                try:
                    if label == "SDV":
                        res = run_sdv(sdv, name, train, args)
                    else:
                        res = run_ours(name, train, args, label == "fixed", seed)
                except subprocess.CalledProcessError as exc:
                    failures.append(f"- SDV {name}, split {split}: {exc.stderr.strip()[-300:]}")
                    print(failures[-1], flush=True)
                    continue
                res["utility"], res["detect"] = _scores(train, test, res.pop("synth"))
                results.setdefault(name, {}).setdefault(label, []).append(res)
                row = (
                    f"| {split} | {_label(name, label, args)} | {res['epochs']} | "
                    f"{res['fit_s']:.1f} | {res['fit_cpu_s']:.1f} | "
                    f"{res['fit_s'] / res['epochs']:.3f} | "
                    f"{res['sample_s']:.2f} | {res['utility']:.3f} | {res['detect']:.3f} |"
                )
                lines.append(row)
                print(row, flush=True)

    lines += [
        "",
        f"Over {args.splits} split(s): fit and sample times as median (per split), "
        "TSTR/TRTR and detection AUC as mean ± sd.",
        "",
        "| method | fit (s) | fit CPU (s) | sample 10k (s) | TSTR/TRTR | detection AUC |",
        "|---|---|---|---|---|---|",
    ]
    ratios: list[str] = []
    for name, by_label in results.items():
        for label, runs_ in by_label.items():
            fits = [r["fit_s"] for r in runs_]
            lines.append(
                f"| {_label(name, label, args)} | {np.median(fits):.1f} "
                f"({', '.join(f'{f:.1f}' for f in fits)}) | "
                f"{np.median([r['fit_cpu_s'] for r in runs_]):.1f} | "
                f"{np.median([r['sample_s'] for r in runs_]):.2f} | "
                f"{_mean_sd([r['utility'] for r in runs_])} | "
                f"{_mean_sd([r['detect'] for r in runs_])} |"
            )
        peer, fixed = by_label.get("SDV", []), by_label.get("fixed", [])
        if peer and len(peer) == len(fixed):
            per_split = [p["fit_s"] / f["fit_s"] for p, f in zip(peer, fixed, strict=True)]
            sample = [p["sample_s"] / f["sample_s"] for p, f in zip(peer, fixed, strict=True)]
            cpu = [p["fit_cpu_s"] / f["fit_cpu_s"] for p, f in zip(peer, fixed, strict=True)]
            line = (
                f"- {name}: SDV fit ÷ ours at equal epochs = **{np.median(per_split):.2f}x** "
                f"(median of per-split ratios {', '.join(f'{r:.2f}' for r in per_split)}); "
                f"SDV fit CPU s ÷ ours = {np.median(cpu):.2f}x "
                f"({', '.join(f'{r:.2f}' for r in cpu)}); "
                f"sample 10k SDV ÷ ours = {np.median(sample):.1f}x; our transformer took "
                f"{np.median([f['transformer_s'] for f in fixed]):.1f} s of our fit"
            )
            if by_label.get("defaults"):
                defaults = [
                    p["fit_s"] / d["fit_s"] for p, d in zip(peer, by_label["defaults"], strict=True)
                ]
                line += f"; SDV fit ÷ ours with defaults = {np.median(defaults):.2f}x"
            ratios.append(line)
    load_end = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    lines += [
        "",
        f"load average at end {load_end:.1f}. "
        + (
            "Run under `flock /tmp/hf-bench.lock` (no other timed benchmark at the same time)"
            if _bench_lock_held()
            else "NOT run under `flock /tmp/hf-bench.lock` (the lock was free at the end)"
        )
        + "; other, niced work may have shared the cores, which slows both sides - compare "
        "within this table, not across runs.",
    ]
    if ratios:
        lines += ["", "Speed ratios (higher = ours faster):", *ratios]
    elif sdv is None:
        lines += ["", "SDV venv not found (.peers/sdv): no side-by-side run."]
    if failures:
        lines += ["", "Failed runs:", *failures]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines[-len(ratios) - 1 :]) if ratios else "", flush=True)
    print(f"written to {args.out}")


def _bench_lock_held(path: str = "/tmp/hf-bench.lock") -> bool:
    """Whether the shared benchmark lock is held (by the ``flock`` running this, or others):
    a non-blocking attempt to take it fails."""
    import fcntl

    try:
        with open(path) as handle:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            fcntl.flock(handle, fcntl.LOCK_UN)
    except BlockingIOError:
        return True
    except OSError:
        return False
    return False


def _label(name: str, label: str, args: argparse.Namespace) -> str:
    return {
        "fixed": f"healthforge {name}, {args.epochs} epochs fixed",
        "defaults": f"healthforge {name}, defaults",
        "SDV": f"SDV {name}, {args.epochs} epochs",
    }[label]


if __name__ == "__main__":
    main()
