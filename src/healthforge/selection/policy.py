"""Which generator to use: Bayesian selection with a benchmark prior.

A contextual Thompson-sampling bandit. The arms are the registered generators with
benchmark evidence (under the strict DP preset: only the differentially private ones, at
the preset's epsilon). The context is the table's meta-features; for each arm and reward
component a Gaussian posterior (:mod:`healthforge.selection.posterior`) combines the
benchmark's results on similar tables with the user's own evaluated runs. One seeded draw
from every posterior, scored with the user's priorities, orders the arms; the first is
the choice. Every evaluated run updates the posterior through :func:`record`.

Selecting by evaluation on the private data is itself a use of that data: under the strict
(DP) preset the user's evaluations are never read, only metadata and public evidence.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from healthforge.errors import HealthForgeError
from healthforge.selection.evidence import Evidence, EvidenceRun, load_evidence
from healthforge.selection.explain import describe_choice, explain
from healthforge.selection.meta import MetaFeatures
from healthforge.selection.posterior import Point, Posterior, point_of, posterior, scales
from healthforge.selection.reward import COMPONENTS, Priorities, Reward, speed_score
from healthforge.selection.store import Observation, SelectionStore, now
from healthforge.selection.timing import expected_seconds, pooled_exponent

PRIVACY_CHOICES = ("none", "standard", "strict")
DP_PRESETS = ("strict",)
DP_EPSILON = 1.0  # the strict preset's epsilon: DP evidence is read at this budget
REFUSAL_SIMILARITY = 0.5  # refused on a table at least this similar: left out
P_BEST_DRAWS = 2000


@dataclass
class Choice:
    """One ranked generator. ``score``: this seed's Thompson draw of its priority-weighted
    reward; ``mean``: the posterior mean of that score; ``p_best``: the share of posterior
    draws in which it scores highest; ``params``: what to run it with (a DP arm's epsilon)."""

    name: str
    score: float
    evidence: str
    expected_fit_seconds: float | None
    n_evidence: int
    params: dict[str, Any] = field(default_factory=dict)
    mean: float = 0.0
    p_best: float = 0.0
    components: dict[str, float] = field(default_factory=dict)
    user_runs: int = 0
    evidence_weight: float = 0.0  # summed similarity of its observations to this table


@dataclass
class Recommendation:
    ranked: list[Choice]
    explanation: str
    used_private_evaluation: bool
    privacy: str
    excluded: dict[str, str] = field(default_factory=dict)
    seed: int = 0

    @property
    def best(self) -> Choice:
        return self.ranked[0]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Arm:
    name: str
    epsilon: float | None
    runs: list[EvidenceRun]
    user: list[Observation]


@lru_cache(maxsize=64)
def generator_traits(name: str) -> tuple[bool, bool, float | None, bool]:
    """(can be DP, handles p >> n, default epsilon, installed) of a registered generator."""
    from healthforge.generators import describe, missing_extra

    info = describe(name)
    epsilon = info.params.get("epsilon")
    epsilon = float(epsilon) if isinstance(epsilon, int | float) else None
    return info.differential_privacy, info.high_dimensional, epsilon, missing_extra(name) is None


def same_epsilon(a: float | None, b: float | None) -> bool:
    return (a is None and b is None) or (a is not None and b is not None and abs(a - b) < 1e-9)


def _arms(evidence: Evidence, privacy: str, store: SelectionStore | None) -> list[_Arm]:
    dp = privacy in DP_PRESETS
    arms = []
    for name in sorted({r.generator for r in evidence.runs}):
        can_dp, _, default_eps, installed = generator_traits(name)
        if not installed or (dp and not can_dp):
            continue
        epsilon = DP_EPSILON if dp else default_eps
        runs = [
            r for r in evidence.runs if r.generator == name and same_epsilon(r.epsilon, epsilon)
        ]
        # the user's evaluations are private evidence: never read under a DP preset
        user = (
            []
            if dp or store is None
            else [
                o
                for o in store.observations
                if o.generator == name and same_epsilon(o.epsilon, epsilon)
            ]
        )
        if any(r.status == "ok" for r in runs) or user:
            arms.append(_Arm(name, epsilon, runs, user))
    return arms


def _points(arm: _Arm, evidence: Evidence) -> list[Point]:
    by_dataset: dict[str, list[Reward]] = defaultdict(list)
    for run in arm.runs:
        if run.status == "ok":
            by_dataset[run.dataset].append(run.reward)
    points = [
        point_of(evidence.datasets[dataset], [_values(r) for r in rewards])
        for dataset, rewards in sorted(by_dataset.items())
    ]
    points += [point_of(o.meta, [_values(o.reward)], user=True) for o in arm.user]
    return points


def _values(reward: Reward) -> dict[str, float | None]:
    return {name: reward.get(name) for name in COMPONENTS}


def _timing(arm: _Arm, evidence: Evidence) -> list[tuple[MetaFeatures, float]]:
    by_dataset: dict[str, list[float]] = defaultdict(list)
    for run in arm.runs:
        if run.status == "ok" and run.reward.fit_seconds is not None:
            by_dataset[run.dataset].append(run.reward.fit_seconds)
    timed = [(evidence.datasets[d], sum(s) / len(s)) for d, s in sorted(by_dataset.items())]
    timed += [(o.meta, o.reward.fit_seconds) for o in arm.user if o.reward.fit_seconds]
    return timed


def _exclusion(arm: _Arm, meta: MetaFeatures, evidence: Evidence) -> str | None:
    if meta.wide and not generator_traits(arm.name)[1]:
        return (
            f"does not handle tables with more columns than rows "
            f"({meta.columns} columns, {meta.rows} rows)"
        )
    refused = defaultdict(int)
    for run in arm.runs:
        if run.status == "refused":
            refused[run.dataset] += 1
    for dataset, count in sorted(refused.items()):
        if meta.similarity(evidence.datasets[dataset]) >= REFUSAL_SIMILARITY:
            return f"refused {count} benchmark runs on {dataset}, a table like this one"
    return None


def recommend(
    meta: MetaFeatures,
    priorities: Priorities | None = None,
    privacy: str = "none",
    store: SelectionStore | None = None,
    seed: int = 0,
    evidence: Evidence | None = None,
) -> Recommendation:
    """Rank the generators for a table with ``meta`` under ``priorities``.

    ``privacy``: the run's preset (none | standard | strict); under strict only DP
    generators are ranked and the store's evaluations are not read. ``store``: the user's
    observations (None: the benchmark prior alone). ``evidence``: the benchmark evidence
    (default: :func:`~healthforge.selection.evidence.load_evidence`).
    """
    if privacy not in PRIVACY_CHOICES:
        raise HealthForgeError(
            f"unknown privacy choice '{privacy}'", f"use one of: {', '.join(PRIVACY_CHOICES)}"
        )
    priorities = priorities or Priorities()
    evidence = evidence if evidence is not None else load_evidence()
    arms = _arms(evidence, privacy, store)
    if store is not None:  # provenance of the prior, saved with the store's next run
        store.prior = {
            "results": evidence.where,
            "runs": len(evidence.runs),
            "datasets": sorted(evidence.datasets),
        }
    excluded: dict[str, str] = {}
    kept: list[_Arm] = []
    for arm in arms:
        why = _exclusion(arm, meta, evidence)
        if why is None:
            kept.append(arm)
        else:
            excluded[arm.name] = why
    points = {arm.name: _points(arm, evidence) for arm in arms}
    prior = scales(points)
    timings = {arm.name: _timing(arm, evidence) for arm in arms}
    exponent = pooled_exponent(timings)
    candidates: list[tuple[_Arm, Posterior, float | None]] = []
    for arm in kept:
        seconds = expected_seconds(timings[arm.name], meta, exponent)
        budget = priorities.time_budget_s
        if budget is not None and seconds is not None and seconds > budget:
            excluded[arm.name] = f"expected ~{seconds:.0f} s to fit, over the {budget:g} s budget"
            continue
        candidates.append((arm, posterior(points[arm.name], meta, prior), seconds))
    if not candidates:
        reasons = "; ".join(f"{k}: {v}" for k, v in list(excluded.items())[:3])
        raise HealthForgeError(
            "no generator with benchmark evidence fits this table and these limits"
            + (f" ({reasons}{'; ...' if len(excluded) > 3 else ''})" if reasons else ""),
            "raise the time budget, use another privacy preset, or name a generator "
            "yourself with --generator",
        )
    rng = np.random.default_rng(seed)
    draws = _draw_scores(candidates, priorities, rng, 1)[:, 0]
    many = _draw_scores(candidates, priorities, np.random.default_rng([seed, 1]), P_BEST_DRAWS)
    p_best = np.bincount(many.argmax(axis=0), minlength=len(candidates)) / P_BEST_DRAWS
    choices = []
    for i, (arm, post, seconds) in enumerate(candidates):
        components = {**post.mean, "speed": speed_score(seconds)}
        choice = Choice(
            name=arm.name,
            score=float(draws[i]),
            evidence="",
            expected_fit_seconds=seconds,
            n_evidence=sum(r.status == "ok" for r in arm.runs) + len(arm.user),
            params={"epsilon": arm.epsilon} if arm.epsilon is not None else {},
            mean=priorities.score(components),
            p_best=float(p_best[i]),
            components={k: float(v) for k, v in components.items() if v is not None},
            user_runs=len(arm.user),
            evidence_weight=float(post.weight),
        )
        choices.append(choice)
    arms_by_name = {arm.name: arm for arm, _, _ in candidates}
    for choice in choices:
        choice.evidence = describe_choice(
            choice, arms_by_name[choice.name].runs, choices, meta, evidence, priorities
        )
    choices.sort(key=lambda c: -c.score)
    used_private = any(c.user_runs for c in choices)
    no_evidence = _without_evidence(evidence, privacy)
    text = explain(
        choices, meta, priorities, privacy, seed, excluded, no_evidence, evidence, used_private
    )
    return Recommendation(choices, text, used_private, privacy, excluded, seed)


def _draw_scores(
    candidates: list[tuple[_Arm, Posterior, float | None]],
    priorities: Priorities,
    rng: np.random.Generator,
    n: int,
) -> np.ndarray:
    """(arms, n) priority-weighted scores of ``n`` draws from every arm's posterior."""
    weights = priorities.weights()
    out = np.zeros((len(candidates), n))
    for i, (_, post, seconds) in enumerate(candidates):
        total = np.zeros(n)
        weight = 0.0
        for name in COMPONENTS:
            draw = np.clip(rng.normal(post.mean[name], post.sd[name], size=n), 0.0, 1.0)
            total += weights[name] * draw
            weight += weights[name]
        speed = speed_score(seconds)
        if speed is not None and weights["speed"] > 0:
            total += weights["speed"] * speed
            weight += weights["speed"]
        out[i] = total / weight if weight else total
    return out


def _without_evidence(evidence: Evidence, privacy: str) -> list[str]:
    from healthforge.generators import generator_names

    seen = {r.generator for r in evidence.runs if r.status == "ok"}
    names = []
    for name in generator_names(installed_only=True):
        if name in seen:
            continue
        if privacy in DP_PRESETS and not generator_traits(name)[0]:
            continue
        names.append(name)
    return names


def record(
    meta: MetaFeatures,
    generator: str,
    reward: Reward,
    store: SelectionStore,
    epsilon: float | None = None,
    privacy: str = "none",
    save: bool = True,
) -> Observation:
    """Add one evaluated run to ``store`` (and save it when it has a file)."""
    from healthforge.generators import generator_class

    generator_class(generator)  # an unknown name fails here, in one line
    if epsilon is None:  # a DP generator run without --epsilon used its default
        epsilon = generator_traits(generator)[2]
    observation = Observation(meta, generator, reward, epsilon, privacy, now())
    store.add(observation)
    if save and store.path is not None:
        store.save()
    return observation
