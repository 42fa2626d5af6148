"""The domain release of a DP fit: category lists and numeric bounds, public or noisy.

Without a public schema, boolean columns take their domain from their kind (free), every
column gets a missing level (free), category lists survive by noisy counts above a
threshold and numeric bounds are read off a noisy histogram on a public grid
(:mod:`healthforge.generators.private.bounds`). The noisy histograms
(:func:`noisy_histograms`) are the release's only contact with the rows.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy.stats import norm

from healthforge.data.encoding import TableEncoder
from healthforge.data.prepare import PreparedData
from healthforge.data.schema import ColumnSchema, Schema
from healthforge.errors import HealthForgeError
from healthforge.generators.private.bounds import (
    BOUNDS_FAILURE,
    BOUNDS_WIDTHS,
    bounds_counts,
    bounds_thresholds,
    dp_bounds,
    on_lattice,
)
from healthforge.generators.private.budget import private_budget
from healthforge.generators.private.discrete import DiscreteColumn
from healthforge.privacy.accounting import check_delta, check_epsilon, default_delta
from healthforge.privacy.mechanisms import gaussian_measure, gaussian_sigma


def _public_boolean(column: ColumnSchema) -> list[Any] | None:
    """The domain of a boolean column, public by its kind: ``[False, True]`` or ``[0, 1]``
    spelled as the data spells them; ``None`` when the categories are other labels."""
    cats = list(column.categories or [])
    if column.kind != "boolean" or not 1 <= len(cats) <= 2:
        return None
    if all(isinstance(v, bool | np.bool_) for v in cats):
        return [False, True]
    if all(isinstance(v, int | float | np.integer | np.floating) for v in cats) and set(
        float(v) for v in cats
    ) <= {0.0, 1.0}:
        kind = type(cats[0])
        return [kind(0), kind(1)]
    return None


@dataclass
class DomainPlan:
    """Which columns' domain is released with DP, and each Gaussian's noise.

    Adding or removing one record changes one count in each released histogram (its
    category, or its bounds bin; a missing value changes none), so ``k`` histograms
    have L2 sensitivity ``sqrt(k)``: the ``k_select`` category histograms cost
    ``rho_select = k_select / (2 select_sigma^2)`` and the ``k_bounds`` bounds
    histograms ``rho_bounds = k_bounds / (2 bounds_sigma^2)`` (zCDP, Gaussian mechanism).
    """

    need_select: list[int]
    need_bounds: list[int]
    booleans: dict[int, list[Any] | None]
    rho_select: float
    rho_bounds: float
    select_sigma: float
    bounds_sigma: float


def domain_plan(schema: Schema, public: bool, rho: float) -> DomainPlan:
    """Split ``rho`` between category lists and numeric bounds, in proportion to the
    number of columns each serves (see :func:`release_domain`)."""
    columns = schema.modelled
    need_bounds = [
        j
        for j, c in enumerate(columns)
        if not c.is_discrete and not (public and c.minimum is not None and c.maximum is not None)
    ]
    booleans = {} if public else {j: _public_boolean(c) for j, c in enumerate(columns)}
    need_select = [
        j for j, c in enumerate(columns) if not public and c.is_discrete and booleans[j] is None
    ]
    queries = len(need_select) + len(need_bounds)
    rho_select = rho * len(need_select) / queries if queries else 0.0
    rho_bounds = rho - rho_select if need_bounds else 0.0
    # k histograms of L2 sensitivity 1 each: sqrt(k) together
    select_sigma = gaussian_sigma(rho_select, math.sqrt(len(need_select))) if need_select else 0.0
    bounds_sigma = gaussian_sigma(rho_bounds, math.sqrt(len(need_bounds))) if need_bounds else 0.0
    return DomainPlan(
        need_select, need_bounds, booleans, rho_select, rho_bounds, select_sigma, bounds_sigma
    )


def release_domain(
    schema: Schema,
    matrix: np.ndarray,
    public: bool,
    rho: float,
    delta_select: float,
    max_bins: int,
    rng: np.random.Generator,
) -> tuple[list[DiscreteColumn], Schema, dict[str, Any]]:
    """Public (or DP-released) domain of every column and the schema to decode with.

    ``matrix`` is the encoded table ``(n_rows, n_modelled)``. Without a public schema:
    boolean columns take their domain from their kind (free); every column gets a
    missing level (free: the model learns its noisy share); category lists of the other
    discrete columns are released by noisy counts above a threshold, numeric bounds by
    a noisy histogram on a public grid (:func:`dp_bounds`); ``rho`` is split between
    the two in proportion to the number of columns each serves (:func:`domain_plan`).
    A column with nothing to release (no category or no bin clears its threshold) is
    refused by name, with the hint to pass a public schema.
    """
    columns = schema.modelled
    plan = domain_plan(schema, public, rho)
    need_select, need_bounds, booleans = plan.need_select, plan.need_bounds, plan.booleans
    split: dict[str, Any] = {
        "rho_category_selection": plan.rho_select,
        "rho_bounds": plan.rho_bounds,
    }

    noisy = noisy_histograms(schema, matrix, plan, rng)
    kept: dict[int, np.ndarray] = {}
    if need_select:
        threshold = 1 + plan.select_sigma * float(norm.isf(delta_select / len(need_select)))
        split["category_sigma"] = plan.select_sigma
        split["category_threshold"] = threshold
        for j in need_select:
            values = matrix[:, j]
            counts = np.bincount(values[np.isfinite(values)].astype(int), minlength=len(noisy[j]))
            kept[j] = np.flatnonzero((counts > 0) & (noisy[j] > threshold))
    bounds: dict[int, tuple[float, float] | None] = {}
    if need_bounds:
        split["bounds_sigma"] = plan.bounds_sigma
        split["bounds_window_widths"] = list(BOUNDS_WIDTHS)
        split["bounds_thresholds"] = bounds_thresholds(plan.bounds_sigma)
        split["bounds_failure_probability"] = BOUNDS_FAILURE
        for j in need_bounds:
            bounds[j] = dp_bounds(noisy[j], plan.bounds_sigma)

    out_columns: list[DiscreteColumn] = []
    released: list[ColumnSchema] = []
    for j, column in enumerate(columns):
        data = asdict(column)
        data["missing_rate"] = 0.0  # the exact rate is private; the model knows a noisy one
        # without a public schema whether a column has gaps is private: all get the level
        has_missing = column.missing_rate > 0 if public else True
        if column.is_discrete and booleans.get(j) is not None:
            domain = booleans[j]
            seen = list(column.categories or [])
            keep = np.arange(len(seen))
            positions = np.array([[float(v) for v in domain].index(float(v)) for v in seen])
            data["categories"] = domain
            out_columns.append(
                DiscreteColumn(column.name, True, True, keep=keep, positions=positions, levels=2)
            )
        elif column.is_discrete:
            keep = kept[j] if j in kept else np.arange(len(column.categories or []))
            if len(keep) == 0:
                raise HealthForgeError(
                    f"no category of column '{column.name}' is common enough to release "
                    "under this privacy budget without a public schema",
                    f"pass --schema with the public categories of '{column.name}' (write one "
                    "with `healthforge profile`, then edit it), raise epsilon, or drop it",
                )
            data["categories"] = [column.categories[i] for i in keep]  # type: ignore[index]
            out_columns.append(DiscreteColumn(column.name, True, has_missing, keep=keep))
        else:
            if j in bounds:
                found = bounds[j]
                if found is None:
                    raise HealthForgeError(
                        f"column '{column.name}' has too few values for its range to be "
                        "released under this privacy budget without a public schema",
                        f"pass --schema with public minimum/maximum for '{column.name}' (write "
                        "one with `healthforge profile`, then edit it), raise epsilon, or drop it",
                    )
                low, high = on_lattice(*found, column.decimals)
            else:
                low, high = float(column.minimum), float(column.maximum)  # type: ignore[arg-type]
            if high <= low:
                high = low + 1.0
            integer = column.kind == "integer" and (column.decimals or 0) == 0
            if integer and high - low + 1 <= max_bins and float(low).is_integer():
                edges = np.arange(low, high + 2)  # one bin per whole number
                step = True
            else:
                edges = np.linspace(low, high, max_bins + 1)
                step = False
            data["minimum"], data["maximum"] = low, high
            out_columns.append(
                DiscreteColumn(column.name, False, has_missing, edges=edges, integer_step=step)
            )
        released.append(ColumnSchema(**data))
    others = [c for c in schema.columns if not c.modelled]
    return out_columns, Schema(columns=released + others, notes=list(schema.notes)), split


def noisy_histograms(
    schema: Schema, matrix: np.ndarray, plan: DomainPlan, rng: np.random.Generator
) -> dict[int, np.ndarray]:
    """The domain release's only contact with the rows: a noisy histogram per column.

    Column ``j`` of ``plan.need_select`` gets its category counts, one of
    ``plan.need_bounds`` its counts on the bounds grid (:func:`bounds_counts`), each
    plus ``N(0, sigma^2)`` per entry with the plan's ``select_sigma`` / ``bounds_sigma``
    (:func:`healthforge.privacy.mechanisms.gaussian_measure`). Everything the release
    derives from these arrays (which categories survive, the bounds) is post-processing.
    """
    noisy: dict[int, np.ndarray] = {}
    for j in plan.need_select:
        values = matrix[:, j]
        k = len(schema.modelled[j].categories or [])
        counts = np.bincount(values[np.isfinite(values)].astype(int), minlength=k)
        noisy[j] = gaussian_measure(counts, plan.select_sigma, rng)
    for j in plan.need_bounds:
        noisy[j] = gaussian_measure(bounds_counts(matrix[:, j]), plan.bounds_sigma, rng)
    return noisy


def released_bounds(
    prepared: PreparedData,
    epsilon: float,
    delta: float | None,
    noise_seed: int | None,
    widths: tuple[int, ...] = BOUNDS_WIDTHS,
) -> dict[str, tuple[float, float] | None]:
    """Each numeric column's DP bounds as a fit without a public schema would release
    them (same budget split and noise; ``None``: refused), categories aside: for
    measuring the bounds mechanism on tables whose categories could not be released.
    ``widths=(1,)`` reads single bins only (the release before the window scan)."""
    n = len(prepared.frame)
    delta = default_delta(n) if delta is None else check_delta(delta, n)
    _, rho_domain, _ = private_budget(check_epsilon(epsilon), delta, False, prepared.schema)
    plan = domain_plan(prepared.schema, False, rho_domain)
    matrix = TableEncoder(prepared.schema).encode(prepared.frame)
    noisy = noisy_histograms(prepared.schema, matrix, plan, np.random.default_rng(noise_seed))
    out: dict[str, tuple[float, float] | None] = {}
    for j in plan.need_bounds:
        column = prepared.schema.modelled[j]
        found = dp_bounds(noisy[j], plan.bounds_sigma, widths)
        out[column.name] = None if found is None else on_lattice(*found, column.decimals)
    return out
