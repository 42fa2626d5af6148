"""Leave-one-dataset-out validation of generator selection (issue #22, item 5).

    PYTHONPATH=src python benchmarks/selection_lodo.py --seeds 30 \
        --out benchmarks/results/selection_lodo.md

Reads benchmarks/results (the policy's prior) and writes a Markdown table: per held-out
dataset, priority profile and privacy mode, the held-out score of the oracle, the best
fixed default, the policy's greedy pick (highest posterior mean) and its Thompson picks.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from healthforge.selection import Priorities, load_evidence
from healthforge.selection.validation import Fold, leave_one_dataset_out

PROFILES = {
    "balanced": Priorities(),
    "privacy": Priorities.from_names(["privacy"]),
    "utility": Priorities.from_names(["utility"]),
    "fidelity": Priorities.from_names(["fidelity"]),
    "speed": Priorities.from_names(["speed"]),
}


def _summary(folds: list[Fold], privacy: str) -> list[str]:
    rows = [f for f in folds if f.privacy == privacy]
    if not rows:
        return [f"No folds under privacy {privacy}."]
    n = len(rows)

    def mean(values: list[float]) -> float:
        return sum(values) / len(values)

    regret_default = mean([f.oracle_score - f.default_score for f in rows])
    regret_greedy = mean([f.oracle_score - f.policy_greedy_score for f in rows])
    regret_ts = mean([f.oracle_score - f.policy_ts_score for f in rows])
    eps = 1e-9
    wins = sum(f.policy_greedy_score > f.default_score + eps for f in rows)
    losses = sum(f.policy_greedy_score < f.default_score - eps for f in rows)
    ts_wins = sum(f.policy_ts_score > f.default_score + eps for f in rows)
    ts_losses = sum(f.policy_ts_score < f.default_score - eps for f in rows)
    return [
        f"- folds: {n}; mean regret against the held-out oracle: best fixed default "
        f"{regret_default:.4f}, policy greedy (posterior mean) {regret_greedy:.4f}, "
        f"policy Thompson (mean over seeds) {regret_ts:.4f}",
        f"- greedy policy vs default: better in {wins}, worse in {losses}, equal in "
        f"{n - wins - losses} folds; Thompson vs default: better in {ts_wins}, worse in "
        f"{ts_losses}, equal in {n - ts_wins - ts_losses}",
    ]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=30)
    parser.add_argument("--results", default=None, help="results folder (default: repo's)")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    started = time.perf_counter()
    evidence = load_evidence(args.results)
    folds = leave_one_dataset_out(evidence, PROFILES, seeds=args.seeds)
    lines = [
        "# Generator selection, leave-one-dataset-out (issue #22, item 5)",
        "",
        f"Command: `PYTHONPATH=src python benchmarks/selection_lodo.py --seeds {args.seeds}"
        + (f" --out {args.out}`" if args.out else "`"),
        "",
        f"Evidence: {len(evidence.runs)} benchmark runs on {len(evidence.datasets)} datasets "
        f"({', '.join(sorted(evidence.datasets))}) from `benchmarks/results`; skipped files: "
        + ", ".join(sorted(evidence.skipped))
        + ".",
        "",
        "Each fold holds one dataset out: the policy (Bayesian selection with a benchmark "
        "prior, no user observations) sees the other datasets' runs and the held-out "
        "table's meta-features; the **best fixed default** is the single generator with "
        "the highest mean score over the other datasets. Both are scored on the held-out "
        "dataset's own benchmark runs (mean over its splits) with the fold's priorities: "
        "score = weighted mean of fidelity = 1 - 2|detection AUC - 0.5| (0 below the "
        "evaluation's copying floor for the training rows), utility = "
        "min(TSTR/TRTR, 1), privacy = mean(1 - 2 max(0, MIA AUC - 0.5), min(DCR ratio, 1)) "
        "x (1 - exact-match rate) and speed = 1 - log10(1 + fit s) / log10(3601); a named "
        "priority weighs 3, the others 1, speed 0.5 by default (`balanced`); a refused run "
        "scores 0. Only generators with runs on the held-out dataset can be scored: a pick "
        "without held-out figures is replaced by the policy's next-ranked measured one "
        "(counted in `unmeasured`). `greedy` is the highest posterior mean; `Thompson` the "
        f"mean held-out score of the seeded Thompson picks (seeds 0-{args.seeds - 1}).",
        "",
    ]
    for privacy in ("none", "strict"):
        lines += [f"## privacy {privacy}", ""]
        lines += _summary(folds, privacy)
        refused = [f for f in folds if f.privacy == privacy and f.default_score == 0.0]
        if refused:
            kept = [f for f in folds if f not in refused]
            lines += [
                f"- in {len(refused)} of these folds the fixed default refuses the held-out "
                f"table ({', '.join(sorted({f.dataset for f in refused}))}: "
                f"{', '.join(sorted({f.default for f in refused}))}) and scores 0; without "
                "those folds:"
            ]
            lines += ["  " + line for line in _summary(kept, privacy)]
        lines += [
            "",
            "| held out | priorities | oracle | default | greedy pick | Thompson mean "
            "| Thompson picks | unmeasured |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for f in folds:
            if f.privacy != privacy:
                continue
            picks = ", ".join(
                f"{k} {v}" for k, v in sorted(f.policy_ts_picks.items(), key=lambda kv: -kv[1])
            )
            lines.append(
                f"| {f.dataset} | {f.profile} | {f.oracle} {f.oracle_score:.3f} "
                f"| {f.default} {f.default_score:.3f} "
                f"| {f.policy_greedy} {f.policy_greedy_score:.3f} | {f.policy_ts_score:.3f} "
                f"| {picks} | {f.unmeasured_picks} |"
            )
        lines.append("")
    lines.append(f"Ran in {time.perf_counter() - started:.0f} s.")
    text = "\n".join(lines) + "\n"
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
