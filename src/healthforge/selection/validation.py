"""Leave-one-dataset-out validation of the selection policy against the best fixed default.

For each benchmark dataset in turn, the policy sees the evidence of the *other* datasets
and the held-out table's meta-features, and picks; the best fixed default is the single
generator with the highest mean score over the other datasets. Both are then scored on
the held-out dataset's own benchmark figures with the same priorities (a refused run
scores 0). The oracle is the best generator on the held-out dataset in hindsight.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from healthforge.selection.evidence import Evidence, EvidenceRun
from healthforge.selection.explain import run_score
from healthforge.selection.policy import (
    DP_EPSILON,
    DP_PRESETS,
    generator_traits,
    recommend,
    same_epsilon,
)
from healthforge.selection.reward import Priorities


@dataclass
class Fold:
    dataset: str
    profile: str
    privacy: str
    oracle: str
    oracle_score: float
    default: str
    default_score: float
    policy_greedy: str  # the highest posterior mean
    policy_greedy_score: float
    policy_ts_score: float  # mean over seeds of the Thompson pick's held-out score
    policy_ts_picks: dict[str, int]
    unmeasured_picks: int  # Thompson picks with no held-out figures (next measured used)


def _arm_runs(evidence: Evidence, privacy: str) -> dict[str, list[EvidenceRun]]:
    """Runs per generator as the policy reads them under ``privacy``."""
    dp = privacy in DP_PRESETS
    out: dict[str, list[EvidenceRun]] = defaultdict(list)
    for run in evidence.runs:
        can_dp, _, default_eps, installed = generator_traits(run.generator)
        if not installed or (dp and not can_dp):
            continue
        if same_epsilon(run.epsilon, DP_EPSILON if dp else default_eps):
            out[run.generator].append(run)
    return out


def _scores(runs: list[EvidenceRun], priorities: Priorities) -> dict[str, dict[str, float]]:
    """generator -> dataset -> mean score of its runs there (refused: 0)."""
    per: dict[tuple[str, str], list[float]] = defaultdict(list)
    for run in runs:
        score = run_score(run, priorities) if run.status == "ok" else 0.0
        per[(run.generator, run.dataset)].append(score)
    out: dict[str, dict[str, float]] = defaultdict(dict)
    for (generator, dataset), values in per.items():
        out[generator][dataset] = sum(values) / len(values)
    return out


def leave_one_dataset_out(
    evidence: Evidence,
    profiles: dict[str, Priorities],
    privacy_modes: tuple[str, ...] = ("none", "strict"),
    seeds: int = 30,
) -> list[Fold]:
    folds = []
    for privacy in privacy_modes:
        arms = _arm_runs(evidence, privacy)
        runs = [r for rs in arms.values() for r in rs]
        for profile, priorities in profiles.items():
            table = _scores(runs, priorities)
            for held in sorted(evidence.datasets):
                measured = {g: s[held] for g, s in table.items() if held in s}
                if len(measured) < 2:
                    continue
                train = evidence.without_dataset(held)
                others = {
                    g: sum(v for d, v in s.items() if d != held) / max(1, sum(d != held for d in s))
                    for g, s in table.items()
                    if g in measured and any(d != held for d in s)
                }
                if not others:
                    continue
                default = max(others, key=others.__getitem__)
                oracle = max(measured, key=measured.__getitem__)
                meta = evidence.datasets[held]
                picks: dict[str, int] = defaultdict(int)
                unmeasured, total = 0, 0.0
                greedy = None
                for seed in range(seeds):
                    rec = recommend(meta, priorities, privacy, None, seed, train)
                    if greedy is None:
                        ordered = sorted(rec.ranked, key=lambda c: -c.mean)
                        greedy = next((c.name for c in ordered if c.name in measured), default)
                    first = next((c.name for c in rec.ranked if c.name in measured), None)
                    unmeasured += rec.ranked[0].name not in measured
                    first = first or default
                    picks[first] += 1
                    total += measured[first]
                folds.append(
                    Fold(
                        held,
                        profile,
                        privacy,
                        oracle,
                        measured[oracle],
                        default,
                        measured[default],
                        greedy or default,
                        measured[greedy or default],
                        total / seeds,
                        dict(picks),
                        unmeasured,
                    )
                )
    return folds
