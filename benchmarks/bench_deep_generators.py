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
import platform
import subprocess
import tempfile
import time
from pathlib import Path

import pandas as pd
from sklearn.model_selection import train_test_split

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
start = time.perf_counter(); synth.fit({"table": train} if detect else train)
fit_s = time.perf_counter() - start
start = time.perf_counter(); big = synth.sample(num_rows=10_000)
sample_s = time.perf_counter() - start
big = big["table"] if isinstance(big, dict) else big
big.head(len(train)).to_csv(spec["out"], index=False)
print(json.dumps({"fit_s": fit_s, "sample_s": sample_s}))
"""


def _machine() -> str:
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return f"{os.cpu_count()} cores (nproc), {model}, load average at start {load:.1f}"


def _scores(train: pd.DataFrame, test: pd.DataFrame, synth: pd.DataFrame) -> tuple[float, float]:
    result = evaluate(train, synth, holdout=test, target=TARGET, n_attacks=100)
    summary = result.summary
    return summary["utility"]["ratio"], summary["fidelity"]["detection_auc"]


def run_ours(name: str, train: pd.DataFrame, args: argparse.Namespace, fixed: bool) -> dict:
    # fixed: SDV's epochs and batch size, no early stopping; else the generator's defaults
    like_sdv = {"epochs": args.epochs, "batch_size": args.batch_size, "early_stopping": False}
    gen = get_generator(name, threads=args.threads, seed=args.seed, **(like_sdv if fixed else {}))
    start = time.perf_counter()
    gen.fit(train, target=TARGET)
    fit_s = time.perf_counter() - start
    start = time.perf_counter()
    big = gen.sample(10_000, seed=args.seed + 1)
    sample_s = time.perf_counter() - start
    return {
        "fit_s": fit_s,
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=300)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--generators", nargs="*", default=["ctgan", "tvae"])
    parser.add_argument("--no-sdv", action="store_true")
    parser.add_argument("--out", type=Path, default=RESULTS, help="results Markdown file")
    args = parser.parse_args()

    df = load_table("bundled:nhefs_complete").drop(columns=DROP)
    train, test = train_test_split(df, test_size=0.2, stratify=df[TARGET], random_state=0)
    train, test = train.reset_index(drop=True), test.reset_index(drop=True)
    sdv = None if args.no_sdv else next((p for p in SDV_PYTHONS if p.exists()), None)

    lines = [
        "# Deep generators on NHEFS: ours vs SDV at equal epochs and batch size",
        "",
        f"machine: {_machine()}; torch threads {args.threads}",
        f"data: nhefs_complete {df.shape}, train {len(train)}, holdout {len(test)}; "
        f"epochs {args.epochs}, batch size {args.batch_size}, seed {args.seed}",
        "command: `.venv/bin/python benchmarks/bench_deep_generators.py "
        f"--epochs {args.epochs} --batch-size {args.batch_size} --threads {args.threads}`",
        "",
        "| method | epochs trained | fit (s) | s/epoch | sample 10k (s) | TSTR/TRTR | "
        "detection AUC |",
        "|---|---|---|---|---|---|---|",
    ]
    ratios: list[str] = []

    def emit(label: str, res: dict) -> None:
        utility, detect = _scores(train, test, res["synth"])
        row = (
            f"| {label} | {res['epochs']} | {res['fit_s']:.1f} | "
            f"{res['fit_s'] / res['epochs']:.3f} | {res['sample_s']:.2f} | "
            f"{utility:.2f} | {detect:.3f} |"
        )
        lines.append(row)
        print(row, flush=True)
        res["utility"], res["detect"] = utility, detect

    print("\n".join(lines), flush=True)
    # pay torch's import (and the optimiser's lazy imports) before any timer starts, as
    # SDV's subprocess does when it imports sdv
    from healthforge.generators.torch_support import import_torch

    torch = import_torch()
    torch.optim.Adam(torch.nn.Linear(1, 1).parameters())
    for name in args.generators:
        fixed = run_ours(name, train, args, fixed=True)
        emit(f"healthforge {name}, {args.epochs} epochs fixed", fixed)
        default = run_ours(name, train, args, fixed=False)
        emit(f"healthforge {name}, defaults", default)
        if sdv is not None:
            try:
                peer = run_sdv(sdv, name, train, args)
            except subprocess.CalledProcessError as exc:
                lines.append(f"| SDV {name} | failed: {exc.stderr.strip().splitlines()[-1]} |")
                print(lines[-1], flush=True)
                continue
            emit(f"SDV {name}, {args.epochs} epochs", peer)
            ratios.append(
                f"- {name}: SDV fit ÷ ours at equal epochs = "
                f"{peer['fit_s'] / fixed['fit_s']:.1f}x; SDV fit ÷ ours with defaults "
                f"= {peer['fit_s'] / default['fit_s']:.1f}x; sample 10k SDV ÷ ours = "
                f"{peer['sample_s'] / fixed['sample_s']:.1f}x; our transformer took "
                f"{fixed['transformer_s']:.1f} s of our fit"
            )
    load_end = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    lines += [
        "",
        f"load average at end {load_end:.1f}. Run under `flock /tmp/hf-bench.lock` (no other "
        "timed benchmark at the same time); other, niced work may have shared the cores, "
        "which slows both sides - compare within this table, not across runs.",
    ]
    if ratios:
        lines += ["", "Speed ratios (higher = ours faster):", *ratios]
    elif sdv is None:
        lines += ["", "SDV venv not found (.peers/sdv): no side-by-side run."]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines[-len(ratios) - 1 :]) if ratios else "", flush=True)
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
