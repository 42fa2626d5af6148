"""Gaussian posteriors of each generator's reward components in a table's context.

For one arm (a generator at one epsilon) and one component (fidelity, utility, privacy),
the mean reward on tables like the user's is unknown; its prior is Normal(mu0, tau0^2)
with mu0 the mean over every arm's benchmark results. Each observation updates it with
a weight equal to the similarity of its table to the user's
(:meth:`MetaFeatures.similarity`): a benchmark dataset counts as one observation (the
mean of its splits: splits of one table are not independent tables), each evaluated run
of the user's counts as one. The observation noise sigma is the spread of one
generator's results between benchmark datasets, measured from the same files.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from healthforge.selection.meta import MetaFeatures
from healthforge.selection.reward import COMPONENTS

PRIOR_SD = 0.3  # tau0: before any evidence a component may sit anywhere in [0, 1]
MIN_NOISE_SD = 0.05
DEFAULT_NOISE_SD = 0.15  # used only when the evidence has no spread to measure


@dataclass
class Point:
    """One observation of one arm: its table and its mean components."""

    meta: MetaFeatures
    values: dict[str, float]  # component -> mean over the runs it summarises
    runs: int
    user: bool = False


@dataclass
class Posterior:
    mean: dict[str, float] = field(default_factory=dict)
    sd: dict[str, float] = field(default_factory=dict)
    weight: float = 0.0  # total similarity weight of the evidence behind it
    user_weight: float = 0.0


def dataset_points(rewards: Iterable[tuple[MetaFeatures, dict[str, float | None]]]) -> Point:
    """Average runs on one table into one point (components measured at least once)."""
    items = list(rewards)
    sums: dict[str, list[float]] = defaultdict(list)
    for _, values in items:
        for name in COMPONENTS:
            value = values.get(name)
            if value is not None:
                sums[name].append(value)
    means = {name: sum(v) / len(v) for name, v in sums.items()}
    return Point(items[0][0], means, len(items))


def prior_moments(points: dict[str, list[Point]]) -> tuple[dict[str, float], dict[str, float]]:
    """mu0 per component (mean over every arm's benchmark points) and the noise sd (the
    pooled spread of an arm's points around that arm's mean)."""
    mu0: dict[str, float] = {}
    noise: dict[str, float] = {}
    for name in COMPONENTS:
        every = [p.values[name] for pts in points.values() for p in pts if name in p.values]
        mu0[name] = sum(every) / len(every) if every else 0.5
        squares, dof = 0.0, 0
        for pts in points.values():
            own = [p.values[name] for p in pts if name in p.values and not p.user]
            if len(own) > 1:
                centre = sum(own) / len(own)
                squares += sum((v - centre) ** 2 for v in own)
                dof += len(own) - 1
        sd = math.sqrt(squares / dof) if dof else DEFAULT_NOISE_SD
        noise[name] = max(sd, MIN_NOISE_SD)
    return mu0, noise


def posterior(
    points: list[Point], query: MetaFeatures, mu0: dict[str, float], noise: dict[str, float]
) -> Posterior:
    """The Normal posterior of each component's mean reward on ``query``'s kind of table."""
    result = Posterior()
    for name in COMPONENTS:
        precision = 1.0 / PRIOR_SD**2
        weighted = mu0[name] / PRIOR_SD**2
        for point in points:
            if name not in point.values:
                continue
            w = query.similarity(point.meta)
            precision += w / noise[name] ** 2
            weighted += w * point.values[name] / noise[name] ** 2
        result.mean[name] = weighted / precision
        result.sd[name] = math.sqrt(1.0 / precision)
    for point in points:
        w = query.similarity(point.meta)
        result.weight += w
        if point.user:
            result.user_weight += w
    return result
