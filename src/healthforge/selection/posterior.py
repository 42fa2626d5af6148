"""Gaussian-process posteriors of each generator's reward components in a table's context.

For one arm (a generator at one epsilon) and one component (fidelity, utility, privacy),
the mean reward on a table with meta-features x is modelled as

    f(x) = mu0 + a + g(x),   a ~ N(0, s0^2),   g ~ GP(0, tau^2 k(x, x'))

``a`` is the arm's overall level (a generator good on other tables is probably good on
this one), ``g`` its deviation on tables like x, with ``k`` the meta-feature similarity
(:meth:`MetaFeatures.similarity`). An observation is f at its table plus noise of
variance sigma^2 / n: a benchmark dataset is the mean of its n splits (splits of one
table are not independent tables), each evaluated run of the user's counts with n = 1.

mu0, s0, tau and sigma are read from the benchmark files themselves (empirical Bayes):
mu0 the mean over every arm's dataset means, s0 the spread of the arms' means around it,
tau the spread of one arm's dataset means around that arm's mean, sigma the spread of
one arm's splits on one dataset.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from healthforge.selection.meta import MetaFeatures
from healthforge.selection.reward import COMPONENTS

MIN_SD = 0.02  # no scale is taken as smaller than this (a few runs can agree exactly)
DEFAULT_SD = 0.15  # a scale the evidence is too thin to measure
JITTER = 1e-9


@dataclass
class Point:
    """One observation of one arm: its table and its mean components over ``runs``."""

    meta: MetaFeatures
    values: dict[str, float]
    runs: int
    user: bool = False
    # per component: (sum of squared deviations of the runs from their mean, runs - 1)
    within: dict[str, tuple[float, int]] = field(default_factory=dict)


@dataclass
class Scales:
    """The prior's scales per component (empirical Bayes, from the benchmark points)."""

    mu0: dict[str, float]
    s0: dict[str, float]
    tau: dict[str, float]
    sigma: dict[str, float]


@dataclass
class Posterior:
    mean: dict[str, float] = field(default_factory=dict)
    sd: dict[str, float] = field(default_factory=dict)
    weight: float = 0.0  # summed similarity of the observations to the query table
    user_weight: float = 0.0


def point_of(meta: MetaFeatures, runs: list[dict[str, float | None]], user: bool = False) -> Point:
    """The mean of ``runs`` (component values, None: not measured) on one table."""
    values: dict[str, float] = {}
    within: dict[str, tuple[float, int]] = {}
    for name in COMPONENTS:
        known = [v for r in runs if (v := r.get(name)) is not None]
        if known:
            centre = sum(known) / len(known)
            values[name] = centre
            within[name] = (sum((v - centre) ** 2 for v in known), len(known) - 1)
    return Point(meta, values, len(runs), user, within)


def _sd(squares: float, dof: int) -> float:
    return max(math.sqrt(squares / dof), MIN_SD) if dof > 0 else DEFAULT_SD


def scales(points: dict[str, list[Point]]) -> Scales:
    """mu0, s0, tau and sigma per component from every arm's benchmark points."""
    mu0, s0, tau, sigma = {}, {}, {}, {}
    for name in COMPONENTS:
        by_arm = {
            arm: [p.values[name] for p in pts if name in p.values and not p.user]
            for arm, pts in points.items()
        }
        by_arm = {arm: v for arm, v in by_arm.items() if v}
        every = [v for values in by_arm.values() for v in values]
        mu0[name] = sum(every) / len(every) if every else 0.5
        means = [sum(v) / len(v) for v in by_arm.values()]
        s0[name] = _sd(sum((m - mu0[name]) ** 2 for m in means), len(means) - 1)
        between = [
            (sum((x - sum(v) / len(v)) ** 2 for x in v), len(v) - 1) for v in by_arm.values()
        ]
        tau[name] = _sd(sum(s for s, _ in between), sum(d for _, d in between))
        splits = [
            p.within[name]
            for pts in points.values()
            for p in pts
            if not p.user and name in p.within
        ]
        sigma[name] = _sd(sum(s for s, _ in splits), sum(d for _, d in splits))
    return Scales(mu0, s0, tau, sigma)


def posterior(points: list[Point], query: MetaFeatures, prior: Scales) -> Posterior:
    """The Normal posterior of each component's mean reward on ``query``'s kind of table."""
    result = Posterior()
    for name in COMPONENTS:
        pts = [p for p in points if name in p.values]
        base = prior.s0[name] ** 2
        local = prior.tau[name] ** 2
        if not pts:
            result.mean[name] = prior.mu0[name]
            result.sd[name] = math.sqrt(base + local)
            continue
        similarity = np.array([[a.meta.similarity(b.meta) for b in pts] for a in pts])
        noise = np.array([prior.sigma[name] ** 2 / max(p.runs, 1) for p in pts])
        gram = base + local * similarity + np.diag(noise + JITTER)
        towards = base + local * np.array([query.similarity(p.meta) for p in pts])
        residual = np.array([p.values[name] for p in pts]) - prior.mu0[name]
        solved = np.linalg.solve(gram, np.column_stack([residual, towards]))
        result.mean[name] = float(prior.mu0[name] + towards @ solved[:, 0])
        variance = base + local - float(towards @ solved[:, 1])
        result.sd[name] = math.sqrt(max(variance, JITTER))
    for point in points:
        w = query.similarity(point.meta)
        result.weight += w
        if point.user:
            result.user_weight += w
    return result
