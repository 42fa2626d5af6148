"""``lm`` (issue #7) against our ctgan (and tvae, arf) on NHEFS and ICU, same run.

Setup as in /work/shared/ANCHORS.md: NHEFS (``bundled:nhefs_complete``; ``seqn``, the
constant ``censored`` and the target-leaking ``yrdth``/``modth``/``dadth`` dropped;
target ``death``) and ICU (``bundled:icu``, target ``died``); 80/20 stratified split
(``random_state=0``); every generator is fitted on the training part with default
parameters and ``--threads`` torch threads.

Per generator: fit (s) and sample 10k (s), wall clock (sampling includes decoding and
the copy guard); then, on the first ``len(train)`` of the 10k rows,
``healthforge.evaluation.evaluate`` (training rows as ``real``, the holdout as
``holdout``): TSTR/TRTR (``utility.ratio``), detection AUC, DCR ratio, exact-match rate;
and the privacy filter (:func:`healthforge.privacy.filter.privacy_filter`, train +
holdout): rows it removed and exact copies left after it.

Conditioned sample (NHEFS; ``--conditions``, default ``sex=1`` (female), ``age>=65``): 1,000 rows
from each generator; share satisfying, rows rejected by the base class's mask (0 means
satisfied by construction), and the subset fidelity: mean per-column similarity
(1 - KS / 1 - TV, ``evaluation.fidelity.column_similarities``) of the sample's other
columns to the real rows (train + holdout) meeting the conditions, next to the same for
an unconditioned sample and for the real holdout subset vs the real training subset.

Each run is cached in ``benchmarks/results/lm.json`` (by dataset and generator) so
datasets can be run in separate locked sessions; the Markdown table is rebuilt from it.

Run: ``flock /tmp/hf-bench.lock .venv/bin/python benchmarks/bench_lm.py
--datasets nhefs --generators lm ctgan``
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from healthforge.benchmark.machine import machine_info
from healthforge.data import load_table
from healthforge.data.infer import infer_schema
from healthforge.data.io import atomic_write_text
from healthforge.evaluation import evaluate
from healthforge.evaluation.features import FeatureSpace, encode_codes
from healthforge.evaluation.fidelity import column_similarities
from healthforge.generators import get_generator
from healthforge.generators.core.conditions import mask, parse_conditions, resolve
from healthforge.privacy.filter import privacy_filter

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
DATASETS = {
    "nhefs": ("nhefs_complete", "death", ["seqn", "censored", "yrdth", "modth", "dadth"]),
    "icu": ("icu", "died", []),
}
TORCH = {"lm", "ctgan", "tvae", "ddpm"}
LOCKED_NOTE = (
    "Run under `flock /tmp/hf-bench.lock` (no other timed benchmark at the same time), "
    "**while other engineers' niced jobs were running on the same 2 cores**, so times are "
    "upper bounds (±30 % or more). Machine per session below."
)


def split(name: str) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    table, target, drop = DATASETS[name]
    df = load_table(f"bundled:{table}").drop(columns=drop)
    train, test = train_test_split(df, test_size=0.2, stratify=df[target], random_state=0)
    return train.reset_index(drop=True), test.reset_index(drop=True), target


def subset_similarity(real: pd.DataFrame, synth: pd.DataFrame, skip: set[str]) -> float:
    """Mean per-column similarity of ``synth`` to ``real`` over columns not in ``skip``."""
    columns = [c for c in infer_schema(real).modelled if c.name not in skip]
    codes = encode_codes(real, columns)
    space = FeatureSpace.fit(codes, columns)
    sims = column_similarities(space, codes, encode_codes(synth, columns))
    return float(np.mean([v["similarity"] for v in sims.values()]))


def run_one(name: str, dataset: str, args: argparse.Namespace) -> dict[str, Any]:
    train, test, target = split(dataset)
    params: dict[str, Any] = {"seed": args.seed}
    if name in TORCH:
        params["threads"] = args.threads
    gen = get_generator(name, **params)
    start = time.perf_counter()
    gen.fit(train, target=target)
    fit_s = time.perf_counter() - start
    start = time.perf_counter()
    big = gen.sample(10_000, seed=args.seed + 1)
    sample_s = time.perf_counter() - start
    synth = big.head(len(train)).reset_index(drop=True)
    summary = evaluate(train, synth, holdout=test, target=target, n_attacks=100).summary
    kept, report = privacy_filter(synth, train, holdout=test)
    copies_after = evaluate_copies(train, kept)
    out: dict[str, Any] = {
        "dataset": dataset,
        "generator": name,
        "fit_s": fit_s,
        "sample_10k_s": sample_s,
        "epochs": getattr(gen, "epochs_trained_", None),
        "tstr_trtr": summary["utility"]["ratio"],
        "detection_auc": summary["fidelity"]["detection_auc"],
        "dcr_ratio": summary["privacy"]["dcr_ratio"],
        "exact_match_rate": summary["privacy"]["exact_match_rate"],
        "filter_removed": report.removed,
        "filter_removed_copies": report.removed_copies,
        "copies_after_filter": copies_after,
        "params": {k: repr(v) for k, v in gen.get_params().items()},
    }
    if dataset == "nhefs" and args.conditions:
        out["conditioned"] = conditioned(gen, train, test, args)
    return out


def evaluate_copies(train: pd.DataFrame, rows: pd.DataFrame) -> int:
    """Rows of ``rows`` identical to a training row on every modelled column."""
    from healthforge.evaluation.privacy import row_hashes

    columns = infer_schema(train).modelled
    train_h = row_hashes(encode_codes(train, columns))
    return int(np.isin(row_hashes(encode_codes(rows, columns)), train_h).sum())


def conditioned(
    gen: Any, train: pd.DataFrame, test: pd.DataFrame, args: argparse.Namespace
) -> dict:
    conditions = resolve(parse_conditions(args.conditions), gen.schema_)
    skip = {c.column for c in conditions}
    real = pd.concat([train, test], ignore_index=True)
    real_subset = real[mask(real, conditions)]
    start = time.perf_counter()
    given = gen.sample(1000, seed=args.seed + 2, conditions=args.conditions)
    seconds = time.perf_counter() - start
    stats = dict(gen.sample_stats_)
    free = gen.sample(1000, seed=args.seed + 2)
    train_subset, test_subset = train[mask(train, conditions)], test[mask(test, conditions)]
    return {
        "conditions": args.conditions,
        "rows_real_subset": len(real_subset),
        "satisfied_share": float(mask(given, conditions).mean()),
        "rejected_by_mask": stats["rejected_conditions"],
        "drawn": stats["drawn"],
        "sample_1k_s": seconds,
        "similarity_conditioned": subset_similarity(real_subset, given, skip),
        "similarity_unconditioned": subset_similarity(real_subset, free, skip),
        "similarity_real_holdout_vs_train": subset_similarity(train_subset, test_subset, skip),
    }


def write_markdown(cache: dict[str, Any], out_dir: Path) -> None:
    lines = [
        "# `lm` vs ctgan (and others) on NHEFS and ICU",
        "",
        "Script: `benchmarks/bench_lm.py` (protocol in its docstring).",
        "",
        cache.get("note", LOCKED_NOTE),
        "",
        "| dataset | generator | fit (s) | epochs | sample 10k (s) | TSTR/TRTR | detection AUC "
        "| DCR ratio | exact-match rate | filter removed | copies after filter |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    runs = sorted(cache["runs"].values(), key=lambda r: (r["dataset"], r["generator"] != "lm"))
    for r in runs:
        lines.append(
            f"| {r['dataset']} | {r['generator']} | {r['fit_s']:.1f} | {r['epochs'] or '—'} | "
            f"{r['sample_10k_s']:.2f} | {_f(r['tstr_trtr'])} | {_f(r['detection_auc'])} | "
            f"{_f(r['dcr_ratio'])} | {_f(r['exact_match_rate'], 4)} | {r['filter_removed']} | "
            f"{r['copies_after_filter']} |"
        )
    cond = [r for r in runs if r.get("conditioned")]
    if cond:
        c0 = cond[0]["conditioned"]
        lines += [
            "",
            f"Conditioned samples on NHEFS, conditions `{', '.join(c0['conditions'])}` "
            f"({c0['rows_real_subset']} real rows meet them; 1,000 rows per generator). "
            "Similarity: mean per-column 1 − KS / 1 − TV of the other columns to that real "
            "subset.",
            "",
            "| generator | satisfied | rejected by the row mask / drawn | sample 1k (s) "
            "| similarity conditioned | similarity unconditioned | real holdout subset vs "
            "train subset |",
            "|---|---|---|---|---|---|---|",
        ]
        for r in cond:
            c = r["conditioned"]
            lines.append(
                f"| {r['generator']} | {c['satisfied_share']:.1%} | {c['rejected_by_mask']:,} / "
                f"{c['drawn']:,} | {c['sample_1k_s']:.2f} | {c['similarity_conditioned']:.3f} | "
                f"{c['similarity_unconditioned']:.3f} | "
                f"{c['similarity_real_holdout_vs_train']:.3f} |"
            )
    lines += ["", "Sessions (machine at the start of each):", ""]
    for key, info in cache["sessions"].items():
        lines.append(f"* {key}: `{json.dumps(info)}`")
    atomic_write_text(out_dir / "lm.md", "\n".join(lines) + "\n")


def _f(value: Any, digits: int = 2) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="*", default=list(DATASETS))
    parser.add_argument("--generators", nargs="*", default=["lm", "ctgan"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    # NHEFS codes sex 1 = female; the fitted schema here is inferred, without value labels
    parser.add_argument("--conditions", nargs="*", default=["sex=1", "age>=65"])
    parser.add_argument("--markdown-only", action="store_true")
    parser.add_argument("--results", type=Path, default=RESULTS, help="where lm.json/lm.md go")
    parser.add_argument("--note", help="replace the run-conditions paragraph of lm.md")
    args = parser.parse_args()
    path = args.results / "lm.json"
    path.parent.mkdir(parents=True, exist_ok=True)  # a fresh --results folder
    cache = json.loads(path.read_text()) if path.exists() else {"runs": {}, "sessions": {}}
    if args.note:
        cache["note"] = args.note
    if not args.markdown_only:
        from healthforge.generators.core.torch_support import import_torch

        import_torch()  # pay the import before any timer starts
        session = f"{'+'.join(args.datasets)} / {'+'.join(args.generators)}"
        cache["sessions"][session] = {**machine_info(), "threads": args.threads}
        for dataset in args.datasets:
            for name in args.generators:
                result = run_one(name, dataset, args)
                cache["runs"][f"{dataset}/{name}"] = result
                print(json.dumps(result), flush=True)
                atomic_write_text(path, json.dumps(cache, indent=1, default=str) + "\n")
    write_markdown(cache, args.results)


if __name__ == "__main__":
    main()
