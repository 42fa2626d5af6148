"""``llm`` end to end on CPU on a small table, beside ``lm`` (and ctgan, arf) on the same split.

Data: ``bundled:pima`` (532 rows x 8 columns, target ``type``), split stratified into 300
training rows and 232 holdout rows (``random_state=0``). Each generator is fitted on the
training rows with ``target="type"`` and samples 300 rows (seed 100).

* fit (s): wall clock of ``fit``; for ``llm`` with ``--cold`` it includes reading the GGUF
  (an empty model cache in a temporary ``HEALTHFORGE_CACHE``), as on a first run.
* sample (s): wall clock of ``sample(300)`` including decoding to a DataFrame.
* utility ratio (TSTR/TRTR), detection AUC, DCR ratio, exact-match rate:
  ``healthforge.evaluation.evaluate(train, synthetic, holdout=holdout, target="type")
  .summary`` keys ``utility.ratio``, ``fidelity.detection_auc``, ``privacy.dcr_ratio``,
  ``privacy.exact_match_rate``.
* conditioned: ``sample(50, conditions=["type=Yes", "age>=50"])``: share of rows
  satisfying both (by construction it must be 1.0) and the time taken.

Each generator's figures are kept in ``--cache`` (JSON) so that generators can be run in
separate timed sessions (``flock /tmp/hf-bench.lock``) and assembled into one table.

Run: ``.venv/bin/python benchmarks/bench_llm.py --generators llm --cold`` then
``--generators lm ctgan arf``; writes ``benchmarks/results/llm.md``.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import tempfile
import time
from pathlib import Path

from sklearn.model_selection import train_test_split

from healthforge.benchmark.machine import machine_info
from healthforge.data import load_table
from healthforge.evaluation import evaluate
from healthforge.generators import get_generator

KEYS = (
    "utility.ratio",
    "fidelity.detection_auc",
    "privacy.dcr_ratio",
    "privacy.exact_match_rate",
)
CONDITIONS = ["type=Yes", "age>=50"]


def _pick(summary: dict, key: str) -> float | None:
    section, name = key.split(".")
    value = summary.get(section, {}).get(name)
    return None if value is None else float(value)


def run(name: str, cold: bool, threads: int | None = None, extra: dict | None = None) -> dict:
    df = load_table("bundled:pima")
    train, holdout = train_test_split(df, train_size=300, stratify=df["type"], random_state=0)
    params = {"threads": threads} if threads and name == "llm" else {}
    params.update(extra or {})
    gen = get_generator(name, seed=0, **params)
    with tempfile.TemporaryDirectory() as cache:
        if cold and name == "llm":
            os.environ["HEALTHFORGE_CACHE"] = cache
        start, cpu = time.perf_counter(), time.process_time()
        gen.fit(train, target="type", progress=_progress)
        fit_s, fit_cpu = time.perf_counter() - start, time.process_time() - cpu
        start = time.perf_counter()
        synth = gen.sample(len(train), seed=100)
        sample_s = time.perf_counter() - start
        start = time.perf_counter()
        given = gen.sample(50, seed=101, conditions=CONDITIONS)
        cond_s = time.perf_counter() - start
        os.environ.pop("HEALTHFORGE_CACHE", None)
    summary = evaluate(train, synth, holdout=holdout, target="type", seed=0).summary
    satisfied = float(((given["type"] == "Yes") & (given["age"] >= 50)).mean())
    row = {
        "generator": name + "".join(f" {k}={v}" for k, v in (extra or {}).items()),
        "fit_s": fit_s,
        "fit_cpu_s": fit_cpu,
        "sample300_s": sample_s,
        "cond50_s": cond_s,
        "cond_satisfied": satisfied,
        **{key: _pick(summary, key) for key in KEYS},
        "diabetes_real": float((train["type"] == "Yes").mean()),
        "diabetes_synth": float((synth["type"] == "Yes").mean()),
        "train_stats": getattr(gen, "train_stats_", None),
        "params": {k: repr(v) for k, v in gen.get_params().items()},
        "machine": machine_info(),
        "load_avg_end": os.getloadavg()[0],
    }
    print(json.dumps(row, default=str), flush=True)
    return row


def _progress(stage: str, done: int, total: int) -> None:
    if stage == "fine-tuning" and (done % 10 == 0 or done == total):
        print(f"  {stage} {done}/{total} at {time.strftime('%H:%M:%S')}", flush=True)


def _fmt(value: object, digits: int = 2) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


FLOCK_NOTE = (
    "Each generator ran once (seed 0) in a `flock /tmp/hf-bench.lock` session while other "
    "engineers' niced work (tests, benchmarks) ran on the same 2 cores: times are wall clock "
    "on a shared machine and would be shorter on an idle one."
)


def write(rows: list[dict], out: Path, note: str = FLOCK_NOTE) -> None:
    lines = [
        "# llm on CPU: Pima (300 training rows x 8 columns) beside arf and lm",
        "",
        "Produced by `benchmarks/bench_llm.py` (its docstring defines every column).",
        note,
        "",
        "| generator | fit (s) | sample 300 (s) | TSTR/TRTR | detection AUC | DCR ratio | "
        "exact copies | 50 conditioned rows (s) | conditions met | diabetes share (real "
        f"{rows[0]['diabetes_real']:.2f}) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['generator']} | {r['fit_s']:.0f} | {r['sample300_s']:.1f} | "
            f"{_fmt(r['utility.ratio'])} | {_fmt(r['fidelity.detection_auc'])} | "
            f"{_fmt(r['privacy.dcr_ratio'])} | {_fmt(r['privacy.exact_match_rate'], 3)} | "
            f"{r['cond50_s']:.1f} | {r['cond_satisfied']:.0%} | {r['diabetes_synth']:.2f} |"
        )
    lines += ["", "## Runs", ""]
    for r in rows:
        m = r["machine"]
        lines.append(
            f"- `{r['generator']}`: {m['date']}, {m['nproc']} cores {m['cpu']}, torch "
            f"{m['torch']}, commit {m['git_commit']}, load average {r['load_avg_end']:.1f} "
            f"when its figures were recorded; params {r['params']}"
            + (f"; fine-tuning {r['train_stats']}" if r["train_stats"] else "")
        )
    out.write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--generators", nargs="+", default=["llm"])
    parser.add_argument("--cold", action="store_true", help="llm: start from an empty cache")
    parser.add_argument("--threads", type=int, help="llm: torch threads (default: its own)")
    parser.add_argument("--cache", default="benchmarks/results/llm.json")
    parser.add_argument("--out", default="benchmarks/results/llm.md")
    parser.add_argument("--param", nargs="*", default=[], help="llm: NAME=VALUE parameters")
    parser.add_argument("--note", default=FLOCK_NOTE, help="how the run was made")
    parser.add_argument("--write-only", action="store_true", help="only rewrite --out")
    args = parser.parse_args()
    cache = Path(args.cache)
    done = json.loads(cache.read_text()) if cache.exists() else {}
    extra = {k: ast.literal_eval(v) for k, v in (p.split("=", 1) for p in args.param)}
    failed = {}
    for name in [] if args.write_only else args.generators:
        try:
            row = run(name, args.cold, args.threads, extra if name == "llm" else None)
            done[row["generator"]] = row
        except Exception as exc:  # a peer that fails is reported, not hidden
            failed[name] = f"{type(exc).__name__}: {exc}"
            print(f"{name} failed: {failed[name]}", flush=True)
            continue
        cache.write_text(json.dumps(done, indent=1, default=str))
    order = ["llm", "lm", "ctgan", "arf"]
    rows = [done[k] for k in sorted(done, key=lambda k: order.index(k.split()[0]))]
    if rows:
        write(rows, Path(args.out), args.note)
    for name, why in failed.items():
        with Path(args.out).open("a") as out:
            out.write(f"- `{name}` failed in this run: {why}\n")


if __name__ == "__main__":
    main()
