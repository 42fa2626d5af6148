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

``great`` is GReaT (be-great, the peer venv ``.peers/great``; install it with
``healthforge.benchmark.peers.install_peer("great")``), run by ``peer_runner.py`` on the
same training rows and the same local Gemma 3 270M as ``llm`` (``--great-epochs``
epochs of 8 rows, LoRA; see ``run_great`` there). Its fit and sample times are the
peer's own; it has no conditioned row (GReaT's guided sampling was not run).

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

import pandas as pd
from sklearn.model_selection import train_test_split

from healthforge.benchmark import jobs
from healthforge.benchmark.machine import machine_info
from healthforge.benchmark.peers import peer_status
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


def split() -> tuple[pd.DataFrame, pd.DataFrame]:
    df = load_table("bundled:pima")
    return train_test_split(df, train_size=300, stratify=df["type"], random_state=0)


def run_great(epochs: int, threads: int | None) -> dict:
    """GReaT in its own venv on the same split; figures as for our generators."""
    status = peer_status("great")
    if not status.available:
        raise RuntimeError(f"GReaT unavailable: {status.reason}")
    train, _ = split()
    with tempfile.TemporaryDirectory() as work:
        outcome = jobs.run_peer(
            "great", "great", status.python, train, "type", len(train), 0, epochs,
            Path(work), 3 * 3600, {"great_epochs": epochs}, "", threads,
        )  # fmt: skip
    if outcome.status != "ok":
        raise RuntimeError(f"GReaT {outcome.status}: {outcome.reason}")
    return great_row(outcome.synthetic, outcome.timing or {}, epochs)


def read_great(folder: Path) -> dict:
    """The row of a GReaT run made by hand with ``peer_runner.py`` (``--great-result``):
    its ``spec.json``, ``out_csv`` and ``timing_json`` in ``folder``."""
    spec = json.loads((folder / "spec.json").read_text())
    train, _ = split()
    raw = pd.read_csv(spec["out_csv"], keep_default_na=False, na_values=[""])
    timing = json.loads(Path(spec["timing_json"]).read_text())
    return great_row(jobs.like_real(raw, train), timing, int(spec["great_epochs"]))


def great_row(synth: pd.DataFrame, timing: dict, epochs: int) -> dict:
    train, holdout = split()
    summary = evaluate(train, synth, holdout=holdout, target="type", seed=0).summary
    row = {
        "generator": f"great epochs={epochs}",
        "fit_s": timing["fit_seconds"],
        "fit_cpu_s": None,
        "sample300_s": timing["sample_seconds"],
        "cond50_s": None,
        "cond_satisfied": None,
        **{key: _pick(summary, key) for key in KEYS},
        "diabetes_real": float((train["type"] == "Yes").mean()),
        "diabetes_synth": float((synth["type"] == "Yes").mean()),
        "rows_sampled": len(synth),
        "incomplete_rows": int(synth.isna().any(axis=1).sum()),
        "train_stats": timing.get("settings"),
        "params": timing.get("versions", {}),
        "machine": machine_info(),
        "load_avg_end": os.getloadavg()[0],
    }
    print(json.dumps(row, default=str), flush=True)
    return row


def run(name: str, cold: bool, threads: int | None = None, extra: dict | None = None) -> dict:
    train, holdout = split()
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


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


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
            f"{_fmt(r['cond50_s'], 1)} | {_pct(r['cond_satisfied'])} | "
            f"{r['diabetes_synth']:.2f} |"
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
    parser.add_argument("--great-epochs", type=int, default=1, help="great: epochs of 8 rows")
    parser.add_argument("--great-result", type=Path, help="great: folder of a run by hand")
    args = parser.parse_args()
    cache = Path(args.cache)
    done = json.loads(cache.read_text()) if cache.exists() else {}
    extra = {k: ast.literal_eval(v) for k, v in (p.split("=", 1) for p in args.param)}
    failed = {}
    for name in [] if args.write_only else args.generators:
        try:
            if name == "great" and args.great_result:
                row = read_great(args.great_result)
            elif name == "great":
                row = run_great(args.great_epochs, args.threads)
            else:
                row = run(name, args.cold, args.threads, extra if name == "llm" else None)
            done[row["generator"]] = row
        except Exception as exc:  # a peer that fails is reported, not hidden
            failed[name] = f"{type(exc).__name__}: {exc}"
            print(f"{name} failed: {failed[name]}", flush=True)
            continue
        cache.write_text(json.dumps(done, indent=1, default=str))
    order = ["llm", "great", "lm", "ctgan", "arf"]
    rows = [done[k] for k in sorted(done, key=lambda k: order.index(k.split()[0]))]
    if rows:
        write(rows, Path(args.out), args.note)
    for name, why in failed.items():
        with Path(args.out).open("a") as out:
            out.write(f"- `{name}` failed in this run: {why}\n")


if __name__ == "__main__":
    main()
