"""Plain-language evidence for each recommendation, with the numbers from the data."""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

from healthforge.selection.evidence import Evidence, EvidenceRun
from healthforge.selection.meta import MetaFeatures
from healthforge.selection.reward import COMPONENTS, Priorities, speed_score

LITTLE_EVIDENCE = 0.5  # less summed similarity than half of one identical table

if TYPE_CHECKING:
    from healthforge.selection.policy import Choice


def seconds_words(seconds: float | None) -> str:
    if seconds is None:
        return "fit time unknown"
    if seconds < 1:
        return "under 1 s to fit"
    if seconds < 120:
        return f"~{seconds:.0f} s to fit"
    return f"~{seconds / 60:.0f} min to fit"


def run_score(run: EvidenceRun, priorities: Priorities) -> float:
    values: dict[str, float | None] = {c: run.reward.get(c) for c in COMPONENTS}
    values["speed"] = speed_score(run.reward.fit_seconds)
    return priorities.score(values)


def wins(
    runs: list[EvidenceRun], rivals: set[str], evidence: Evidence, priorities: Priorities
) -> tuple[int, int]:
    """(first, out of) over the benchmark's head-to-head runs of this generator: runs of
    the same results file, dataset and split where other candidates ran too."""
    groups: dict[tuple[str, str, Any], list[EvidenceRun]] = defaultdict(list)
    for run in evidence.runs:
        if run.status == "ok" and run.generator in rivals and run.split is not None:
            groups[(run.source_file, run.dataset, run.split)].append(run)
    first = total = 0
    for run in runs:
        group = groups.get((run.source_file, run.dataset, run.split), [])
        if run.status != "ok" or run not in group or len({r.generator for r in group}) < 2:
            continue
        total += 1
        best = max(group, key=lambda r: run_score(r, priorities))
        first += best is run
    return first, total


def describe_choice(
    choice: Choice,
    runs: list[EvidenceRun],
    choices: list[Choice],
    meta: MetaFeatures,
    evidence: Evidence,
    priorities: Priorities,
) -> str:
    """'ensemble: best utility ...; nearest benchmark table nhefs ...; first in 6 of 7 ...'"""
    parts = []
    best_at = [
        c
        for c in COMPONENTS
        if len(choices) > 1
        and choice.components.get(c, -1) >= max(o.components.get(c, -1) for o in choices)
    ]
    expected = ", ".join(f"{c} {choice.components[c]:.2f}" for c in COMPONENTS)
    lead = f"best {' and '.join(best_at)}; " if best_at else ""
    parts.append(f"{lead}expected {expected} on {meta.describe()}")
    ok = [r for r in runs if r.status == "ok"]
    if ok:
        nearest = max({r.dataset for r in ok}, key=lambda d: meta.similarity(evidence.datasets[d]))
        near = [r for r in ok if r.dataset == nearest]
        figures = []
        for key, label in (("detection_auc", "detection"), ("utility_ratio", "TSTR/TRTR")):
            values = [v for r in near if (v := r.metrics.get(key)) is not None]
            if values:
                figures.append(f"{label} ≈ {sum(values) / len(values):.2f}")
        table = evidence.datasets[nearest]
        parts.append(
            f"on {nearest} ({table.describe()}, {table.rows:,} x {table.columns}): "
            + ", ".join(figures)
            + f" over {len(near)} run{'s' * (len(near) != 1)}"
        )
        first, total = wins(runs, {c.name for c in choices}, evidence, priorities)
        if total:
            parts.append(f"first for these priorities in {first} of {total} benchmark runs")
    if choice.evidence_weight < LITTLE_EVIDENCE:
        parts.append(
            f"little evidence on tables like this (similarity weight "
            f"{choice.evidence_weight:.2f}): mostly the prior, drawn for exploration"
        )
    if choice.user_runs:
        parts.append(f"{choice.user_runs} of your evaluated runs count too")
    parts.append(seconds_words(choice.expected_fit_seconds))
    return f"{choice.name}: " + "; ".join(parts)


def privacy_words(privacy: str, used_private: bool, user_runs: int) -> str:
    if privacy == "strict":
        return (
            "Under the strict (DP) preset only differentially private generators are ranked, "
            "on your table's metadata (rows, columns, column kinds, missingness, target "
            "balance) and public benchmark evidence alone: no evaluation on your data was "
            "used. The metadata themselves are not covered by epsilon."
        )
    if used_private:
        return (
            f"This ranking used {user_runs} evaluations of earlier runs on your data: "
            "selecting by evaluation on the private data is itself a use of that data, "
            "outside any DP guarantee (use --privacy strict to select without it)."
        )
    return (
        "This ranking used your table's metadata and public benchmark evidence only. "
        "Evaluated runs you record update it; selecting by evaluation on your data is "
        "itself a use of that data."
    )


def explain(
    choices: list[Choice],
    meta: MetaFeatures,
    priorities: Priorities,
    privacy: str,
    seed: int,
    excluded: dict[str, str],
    no_evidence: list[str],
    evidence: Evidence,
    used_private: bool,
) -> str:
    best = choices[0]
    datasets = sorted({r.dataset for r in evidence.runs})
    lines = [
        f"Bayesian selection with a benchmark prior (Thompson sampling, seed {seed}) for "
        f"{priorities.words()} priorities on {meta.describe()} ({meta.rows:,} rows x "
        f"{meta.columns} columns).",
        f"Picked {best.name}: first in this seed's posterior draw; best in "
        f"{best.p_best:.0%} of 2,000 draws.",
        privacy_words(privacy, used_private, sum(c.user_runs for c in choices)),
        f"Prior: {len(evidence.runs)} benchmark runs on {len(datasets)} datasets "
        f"({', '.join(datasets)}).",
    ]
    if excluded:
        lines.append("Left out: " + "; ".join(f"{k} ({v})" for k, v in excluded.items()) + ".")
    if no_evidence:
        lines.append("Not ranked, no benchmark evidence: " + ", ".join(no_evidence) + ".")
    return "\n".join(lines)
