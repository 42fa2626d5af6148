"""Shared machinery of the differentially private generators: public domains and budgets.

A DP generator may only learn from the private rows through its noisy mechanism. Three
things are easy to leak "for free" around that mechanism, so they are handled here once:

* **numeric bounds and bins**: taken from the schema when the user supplied it (public
  knowledge), otherwise estimated with the exponential mechanism on a fixed grid of
  round numbers, spending part of the budget; values outside are clipped;
* **category lists**: the schema's when public; otherwise only categories whose noisy
  count clears a threshold survive (a category held by one patient almost never does);
  values outside the public list are treated as missing, never added;
* **the model file**: it keeps only the released domain, a noisy row count and no
  hashes of training rows (the base class's copy guard would otherwise store them).

Subclasses implement ``_fit_codes(codes, sizes, rho, rng, progress)`` on the discretised
table (integers ``0..sizes[j]-1``) and ``_sample_codes(n, rng)``.
"""

from __future__ import annotations

import math
from abc import abstractmethod
from dataclasses import asdict
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd
from scipy.stats import norm

from healthforge.data.encoding import TableEncoder, category_codes
from healthforge.data.infer import to_days
from healthforge.data.prepare import PreparedData, prepare
from healthforge.data.schema import ColumnSchema, Schema
from healthforge.errors import HealthForgeError
from healthforge.generators.base import Generator
from healthforge.privacy.accounting import (
    budget_record,
    cdp_rho,
    check_delta,
    check_epsilon,
    default_delta,
)
from healthforge.progress import ProgressCallback

BOUNDS_MODES = ("auto", "schema", "dp")
DOMAIN_SHARE = 0.1  # share of rho spent on the bounds a public schema lacks
PRIVATE_DOMAIN_SHARE = 0.25  # without a public schema: a usable domain is worth more
TAIL = 0.005  # DP bounds aim at the 0.5% and 99.5% quantiles

# public grid for DP bounds: round numbers from 1e-3 to 1e9, both signs, and 0
_MANTISSAS = (1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 7.0)
_POSITIVE = np.array([m * 10.0**k for k in range(-3, 10) for m in _MANTISSAS])
BOUNDS_GRID = np.unique(np.concatenate([-_POSITIVE, [0.0], _POSITIVE]))


def conform_to_schema(df: pd.DataFrame, schema: Schema) -> pd.DataFrame:
    """Values outside a public schema become missing (categories) or clipped (numbers).

    A DP generator must not learn its domain from the data, so a category the schema
    does not list is never added; it is treated as missing.
    """
    out = df.copy()
    for column in schema.modelled:
        if column.name not in out.columns:
            continue
        series = out[column.name]
        if column.is_discrete and column.categories:
            codes, _ = category_codes(series, column.categories)
            out[column.name] = series.where(~(np.isnan(codes) & series.notna().to_numpy()))
        elif column.kind in ("continuous", "integer") and (
            column.minimum is not None or column.maximum is not None
        ):
            values = pd.to_numeric(series, errors="coerce")
            out[column.name] = values.clip(column.minimum, column.maximum)
        elif (
            column.kind == "datetime" and column.minimum is not None and column.maximum is not None
        ):
            days = to_days(series, column.datetime_format)
            outside = (days < column.minimum) | (days > column.maximum)
            out[column.name] = series.where(~outside.to_numpy())
    return out


class DPGenerator(Generator):
    """Base of the DP generators: (epsilon, delta), public domain, budget record.

    Args:
        epsilon: privacy-loss budget, > 0 (smaller is more private).
        delta: failure probability in (0, 1/n); default ``min(1/n^2, 1e-6)``.
        bounds: where numeric bounds and category lists come from. ``"auto"``: the
            schema passed to ``fit`` is public, gaps are estimated with DP; an inferred
            schema is never trusted. ``"schema"`` (strict): every numeric column needs
            ``minimum``/``maximum`` in a schema you supply. ``"dp"``: ignore the schema's
            bounds and categories and estimate them all with DP.
        max_bins: bins per numeric column (fewer bins, less noise per cell).
        noise_seed: seed of the privacy noise. ``None`` (default) draws it from the OS:
            noise regenerated from a known seed could be subtracted, so only tests set it.
        seed: seed of sampling.
    """

    family: ClassVar[str] = "privacy"
    differential_privacy: ClassVar[bool] = True
    high_dimensional: ClassVar[bool] = False
    mechanism: ClassVar[str] = ""
    accountant: ClassVar[str] = "zCDP (Gaussian and exponential mechanisms), converted to (ε, δ)"

    def __init__(
        self,
        epsilon: float = 1.0,
        delta: float | None = None,
        bounds: str = "auto",
        max_bins: int = 10,
        noise_seed: int | None = None,
        seed: int = 0,
    ) -> None:
        super().__init__(seed=seed)
        self.epsilon = epsilon
        self.delta = delta
        self.bounds = bounds
        self.max_bins = max_bins
        self.noise_seed = noise_seed
        check_epsilon(epsilon)
        if delta is not None:
            check_delta(delta)
        if bounds not in BOUNDS_MODES:
            raise HealthForgeError(
                f"bounds must be one of {', '.join(BOUNDS_MODES)}, not {bounds!r}",
                "'schema' needs minimum/maximum in your schema; 'auto' estimates gaps with DP",
            )
        if isinstance(max_bins, bool) or not isinstance(max_bins, int) or max_bins < 2:
            raise HealthForgeError(f"max_bins must be a whole number >= 2, not {max_bins!r}")

    # -- fitting --------------------------------------------------------------------
    def fit(
        self,
        data: pd.DataFrame | PreparedData,
        schema: Schema | None = None,
        *,
        target: str | None = None,
        drop: list[str] | tuple[str, ...] = (),
        progress: ProgressCallback | None = None,
    ) -> Self:
        """Fit on ``data`` (``(n_rows, n_columns)``) spending exactly (epsilon, delta).

        A ``schema`` passed here is public knowledge. The schema inside a
        :class:`PreparedData` is not (it is usually inferred from these very rows): pass
        ``fit(prepared.frame, prepared.schema)`` to vouch for it.
        """
        if isinstance(data, PreparedData):
            prepared, public = data, False
        else:
            public = schema is not None and self.bounds != "dp"
            if schema is not None:
                data = conform_to_schema(data, schema)
            prepared = prepare(data, schema, target, drop)
        if self.bounds == "dp":
            public = False
        if len(prepared.frame) < 2:
            raise HealthForgeError("need at least 2 rows to fit a generator")
        if self.bounds == "schema":
            if not public:
                raise HealthForgeError(
                    f"generator '{self.name}' in strict mode needs a schema you supply",
                    "write one with `healthforge profile DATA --schema-out schema.yaml`, "
                    "set public minimum/maximum per column, and pass --schema",
                )
            _require_bounds(prepared.schema)
        n = len(prepared.frame)
        epsilon = check_epsilon(self.epsilon)
        delta = default_delta(n) if self.delta is None else check_delta(self.delta, n)
        rng = np.random.default_rng(self.noise_seed)  # OS entropy unless a test pins it

        encoder = TableEncoder(prepared.schema)
        matrix = encoder.encode(prepared.frame)
        self.schema_ = prepared.schema  # replaced by the released domain below
        self.excluded_ = dict(prepared.excluded)
        self.n_train_ = n
        self._check_supported(encoder)

        domain_share = 0.0 if public and _has_all_bounds(prepared.schema) else DOMAIN_SHARE
        if not public:
            domain_share = PRIVATE_DOMAIN_SHARE
        delta_select = delta / 2 if not public else 0.0
        rho = cdp_rho(epsilon, delta - delta_select)
        rho_domain = rho * domain_share
        columns, released_schema, split_domain = _release_domain(
            prepared.schema, matrix, public, rho_domain, delta_select, self.max_bins, rng
        )
        self.columns_ = columns
        codes = np.column_stack([c.encode(matrix[:, j]) for j, c in enumerate(columns)])
        sizes = np.array([c.size for c in columns])
        self.discrete_ = np.array([c.discrete for c in columns])
        self.cardinalities_ = sizes
        # DP-SGD subclasses compose the domain release with their own (RDP) accountant
        self.budget_context_ = {"rho_domain": rho_domain, "delta_model": delta - delta_select}
        split_model = self._fit_codes(codes, sizes, rho - rho_domain, rng, progress)

        self.schema_ = released_schema
        self.encoder_ = TableEncoder(released_schema)
        self.train_hashes_ = np.empty(0, dtype=np.uint64)  # hashes would reveal members
        self.n_train_ = max(2, round(self._noisy_total()))
        self.dp_budget_ = budget_record(
            self.mechanism,
            epsilon,
            delta,
            {
                "rho_total": rho,
                "domain": split_domain,
                "model": split_model,
                "delta_zcdp_conversion": delta - delta_select,
                "delta_category_selection": delta_select,
            },
            self.accountant,
            public_schema=public,
        )
        return self

    @abstractmethod
    def _fit_codes(
        self,
        codes: np.ndarray,
        sizes: np.ndarray,
        rho: float,
        rng: np.random.Generator,
        progress: ProgressCallback | None,
    ) -> dict[str, Any]:
        """Fit on ``codes`` ``(n_rows, n_cols)`` ints with ``rho``-zCDP; return the split."""

    @abstractmethod
    def _sample_codes(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``(n, n_cols)`` integer codes drawn from the fitted model."""

    @abstractmethod
    def _noisy_total(self) -> float:
        """The model's (noisy) estimate of the number of training rows."""

    def _fit(self, X: np.ndarray, progress: ProgressCallback | None) -> None:  # pragma: no cover
        raise NotImplementedError("DP generators fit through DPGenerator.fit")

    def _sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        codes = self._sample_codes(n, rng)
        return np.column_stack([c.decode(codes[:, j], rng) for j, c in enumerate(self.columns_)])


class DiscreteColumn:
    """How one column maps to codes ``0..size-1`` and back (the missing level is last).

    Numeric columns use ``edges`` (public or DP bounds); discrete ones keep the
    category indices in ``keep`` (the released categories, in schema order).
    """

    def __init__(
        self,
        name: str,
        discrete: bool,
        has_missing: bool,
        keep: np.ndarray | None = None,
        edges: np.ndarray | None = None,
        integer_step: bool = False,
        positions: np.ndarray | None = None,
        levels: int | None = None,
    ) -> None:
        self.name = name
        self.discrete = discrete
        self.has_missing = has_missing
        self.keep = keep
        self.edges = edges
        self.integer_step = integer_step
        # where each kept category goes in the released list (default: in order); the
        # released list may hold more levels than were seen (a public boolean domain)
        self.positions = positions
        if discrete:
            self.levels = levels if levels is not None else len(keep)  # type: ignore[arg-type]
        else:
            self.levels = len(edges) - 1  # type: ignore[arg-type]
        self.size = self.levels + int(has_missing)

    def encode(self, values: np.ndarray) -> np.ndarray:
        """Codes ``(n,)`` of encoded values ``(n,)`` (NaN = missing)."""
        finite = np.isfinite(values)
        codes = np.full(len(values), self.levels if self.has_missing else 0, dtype=np.int64)
        if self.discrete:
            lookup = np.full(int(np.nanmax(np.append(values, self.keep.max(initial=0)))) + 2, -1)
            positions = getattr(self, "positions", None)  # models saved before it lack it
            lookup[self.keep] = np.arange(len(self.keep)) if positions is None else positions
            mapped = lookup[np.where(finite, values, -1).astype(np.int64)]
            # dropped categories count as missing; without a missing level, as level 0
            mapped = np.where(mapped >= 0, mapped, self.levels if self.has_missing else 0)
            codes[finite] = mapped[finite]
        else:
            x = np.clip(values[finite], self.edges[0], self.edges[-1])
            codes[finite] = np.clip(np.searchsorted(self.edges, x, "right") - 1, 0, self.levels - 1)
        return codes

    def decode(self, codes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Encoded values ``(n,)`` of ``codes`` ``(n,)``: category index or a value in its bin."""
        missing = codes >= self.levels
        level = np.minimum(codes, self.levels - 1)
        if self.discrete:
            out = level.astype(float)  # the released schema lists only kept categories
        elif self.integer_step:
            out = self.edges[level].astype(float)
        else:
            low, high = self.edges[level], self.edges[level + 1]
            out = low + (high - low) * rng.random(len(codes))
        out[missing] = np.nan
        return out


def _has_all_bounds(schema: Schema) -> bool:
    return all(
        c.is_discrete or (c.minimum is not None and c.maximum is not None) for c in schema.modelled
    )


def _require_bounds(schema: Schema) -> None:
    lacking = [
        c.name
        for c in schema.modelled
        if not c.is_discrete and (c.minimum is None or c.maximum is None)
    ]
    if lacking:
        raise HealthForgeError(
            "strict privacy needs public bounds; the schema has none for: " + ", ".join(lacking),
            "declare minimum/maximum in the schema for each of these columns",
        )


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


def _release_domain(
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
    the exponential mechanism; ``rho`` is split between the two in proportion to the
    number of columns each serves.
    """
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
    split: dict[str, Any] = {"rho_category_selection": rho_select, "rho_bounds": rho_bounds}

    kept: dict[int, np.ndarray] = {}
    if need_select:
        # one row changes one count per column: L2 sensitivity sqrt(k)
        sigma = math.sqrt(len(need_select) / (2 * rho_select))
        threshold = 1 + sigma * float(norm.isf(delta_select / len(need_select)))
        split["category_threshold"] = threshold
        for j in need_select:
            values = matrix[:, j]
            k = len(columns[j].categories or [])
            counts = np.bincount(values[np.isfinite(values)].astype(int), minlength=k)
            noisy = counts + rng.normal(0, sigma, k)
            kept[j] = np.flatnonzero((counts > 0) & (noisy > threshold))
    bounds: dict[int, tuple[float, float]] = {}
    if need_bounds:
        eps_each = math.sqrt(8 * rho_bounds / (2 * len(need_bounds)))  # EM is eps^2/8-zCDP
        split["bounds_epsilon_each"] = eps_each
        for j in need_bounds:
            bounds[j] = _dp_bounds(matrix[:, j], eps_each, rng)

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
            low, high = bounds.get(j, (column.minimum, column.maximum))
            low, high = float(low), float(high)  # type: ignore[arg-type]
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


def _dp_bounds(values: np.ndarray, epsilon: float, rng: np.random.Generator) -> tuple[float, float]:
    """Noisy (low, high) around the TAIL quantiles of ``values`` ``(n,)``, on BOUNDS_GRID.

    Exponential mechanism with utility ``-|rank error|`` (sensitivity 1), half of
    ``epsilon`` for each end.
    """
    x = np.sort(values[np.isfinite(values)])
    n = len(x)
    target = TAIL * n
    below = np.searchsorted(x, BOUNDS_GRID, "left")  # rows strictly below each candidate
    above = n - np.searchsorted(x, BOUNDS_GRID, "right")  # rows strictly above
    low = _exponential(-np.abs(below - target), epsilon / 2, rng)
    high = _exponential(-np.abs(above - target), epsilon / 2, rng)
    lo, hi = sorted((BOUNDS_GRID[low], BOUNDS_GRID[high]))
    return float(lo), float(hi)


def _exponential(utility: np.ndarray, epsilon: float, rng: np.random.Generator) -> int:
    """Index drawn with probability ``∝ exp(epsilon * utility / 2)`` (sensitivity 1)."""
    logits = epsilon * utility / 2
    p = np.exp(logits - logits.max())
    return int(rng.choice(len(p), p=p / p.sum()))
