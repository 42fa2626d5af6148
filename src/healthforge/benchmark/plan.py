"""What a benchmark will run: the datasets, the grid of jobs, and each job's cache key.

A job is one method on one split (dataset, repeat) at one privacy budget. Our DP
generators run once per ε asked for (those private only on request, like ``lm``, also
once without); DP peers run at each ε (1 when none is asked for); the rest once.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from healthforge.benchmark.peers import PEERS
from healthforge.errors import HealthForgeError


@dataclass
class Dataset:
    """A table to benchmark on: real rows, target, and the columns dropped first."""

    name: str
    data: pd.DataFrame
    target: str | None
    dropped: tuple[str, ...] = ()


def load_dataset(name: str, rows: int | None = None, seed: int = 0) -> Dataset:
    """A bundled dataset with its target, leaky columns dropped (they reveal the target)."""
    from healthforge.data import get_dataset

    bundled = get_dataset(name)
    data = bundled.load().drop(columns=list(bundled.leaky_for_target))
    if rows is not None and rows < len(data):
        data = data.sample(n=rows, random_state=seed).reset_index(drop=True)
    return Dataset(name, data, bundled.target, tuple(bundled.leaky_for_target))


@dataclass(frozen=True)
class Job:
    """One planned run: a method on one split, at one privacy budget for DP methods.

    ``private`` says the method runs with differential privacy (it then gets the
    dataset's public schema), whether or not a budget was asked for."""

    data: Dataset
    repeat: int
    source: str  # "healthforge" or a peer library
    method: str
    epsilon: float | None = None
    private: bool = False

    @property
    def name(self) -> str:
        return self.method if self.source == "healthforge" else f"{self.source}:{self.method}"

    @property
    def tag(self) -> str:
        return "" if self.epsilon is None else f"_eps{self.epsilon:g}"


def plan_jobs(
    datasets: Sequence[Dataset],
    generators: Sequence[str],
    peer_methods: Sequence[tuple[str, list[str]]],
    epsilons: list[float | None],
    repeats: int,
    peer_repeats: int,
    peer_datasets: Sequence[str] | None,
) -> list[Job]:
    """Every job, by dataset, then repeat, then our generators before the peers."""
    dp_ours = {g for g in generators if is_dp(g)}
    # DP is an option of these (epsilon defaults to None): they also run without it
    dp_optional = {g for g in dp_ours if dp_is_optional(g)}
    plan: list[Job] = []
    for data in datasets:
        for r in range(repeats):
            for g in generators:
                budgets = ([None] if g in dp_optional else []) + (
                    epsilons if g in dp_ours else [None]
                )
                always = g in dp_ours and g not in dp_optional
                plan += [
                    Job(data, r, "healthforge", g, e, e is not None or always)
                    for e in dict.fromkeys(budgets)
                ]
            if r < peer_repeats and (peer_datasets is None or data.name in peer_datasets):
                plan += _peer_jobs(data, r, peer_methods, epsilons)
    return plan


def _peer_jobs(
    data: Dataset, r: int, peer_methods: Sequence[tuple[str, list[str]]], epsilons: list
) -> list[Job]:
    jobs = []
    for lib, methods in peer_methods:
        dp_peer = PEERS[lib].differential_privacy
        budgets = (epsilons if epsilons != [None] else [1.0]) if dp_peer else [None]
        jobs += [Job(data, r, lib, m, e, e is not None) for m in methods for e in budgets]
    return jobs


def check_epsilons(epsilons: Sequence[float] | None) -> list[float | None]:
    """The distinct budgets asked for, checked; ``[None]``: each method's default."""
    if epsilons is None:
        return [None]
    from healthforge.privacy.accounting import check_epsilon

    values = [check_epsilon(e) for e in epsilons]
    if not values:
        raise HealthForgeError("no privacy budgets given", "for example --epsilons 0.5,1,3,10")
    return list(dict.fromkeys(values))


def dp_is_optional(generator: str) -> bool:
    """True for a generator that can be private but whose default instance is not
    (``lm``: private only when given ``epsilon``)."""
    from healthforge.generators import generator_class

    try:
        return not generator_class(generator)().is_private
    except Exception:  # a generator that fails to import is recorded per run instead
        return False


def is_dp(generator: str) -> bool:
    from healthforge.generators import generator_class

    try:
        return bool(generator_class(generator).differential_privacy)
    except Exception:  # fails to import here: the child records why, per run
        return False


def run_key(job: Job, split_seed: int, settings: dict, version: str) -> str:
    """The job and everything that changes its numbers, as the results file's key."""
    relevant = {
        k: settings[k] for k in ("rows", "sample_rows", "holdout_fraction", "evaluate_options")
    }
    if settings.get("eval_draws", 1) != 1:  # keys of one-block runs stay as they were
        relevant["eval_draws"] = settings["eval_draws"]
    if job.source != "healthforge":
        relevant["peer_epochs"] = settings["peer_epochs"]
    else:
        relevant["params"] = settings["generator_params"].get(job.method)
    return json.dumps(
        [job.data.name, job.name, job.epsilon, job.repeat, split_seed, relevant, version],
        sort_keys=True,
    )
