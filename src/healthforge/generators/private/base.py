"""Shared machinery of the differentially private generators: public domains and budgets.

A DP generator may only learn from the private rows through its noisy mechanism. Three
things are easy to leak "for free" around that mechanism, so they are handled here once:

* **numeric bounds and bins**: taken from the schema when the user supplied it (public
  knowledge), otherwise released from a Gaussian-noised histogram on a public grid of
  round numbers (:func:`_noisy_histograms`, read by :func:`_dp_bounds`), spending part
  of the budget; values outside are clipped;
* **category lists**: the schema's when public; otherwise only categories whose noisy
  count clears a threshold survive (a category held by one patient almost never does);
  values outside the public list are treated as missing, never added;
* **the model file**: it keeps only the released domain, a noisy row count and no
  hashes of training rows (the base class's copy guard would otherwise store them).

Every generator with an ``epsilon`` (``aim``, ``mst``, ``dp_copula``, ``dpctgan``,
``dptvae`` and ``lm``) starts its fit with :func:`private_fit`, the one place that decides
whether a schema is public (only one passed explicitly), splits the budget and releases
the domain. Adjacency is add/remove one record throughout (the row count is private
unless a mechanism states otherwise); every sensitivity below is for that adjacency.

Subclasses implement ``_fit_codes(codes, sizes, rho, rng, progress)`` on the discretised
table (integers ``0..sizes[j]-1``) and ``_sample_codes(n, rng)``.
"""

from __future__ import annotations

import math
from abc import abstractmethod
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd
from scipy.stats import norm

from healthforge.data.encoding import TableEncoder, category_codes
from healthforge.data.infer import to_days
from healthforge.data.prepare import PreparedData, prepare
from healthforge.data.schema import ColumnSchema, Schema
from healthforge.errors import HealthForgeError
from healthforge.generators.core.base import Generator
from healthforge.privacy.accounting import (
    budget_record,
    cdp_rho,
    check_delta,
    check_epsilon,
    default_delta,
)
from healthforge.privacy.mechanisms import gaussian_measure, gaussian_sigma
from healthforge.progress import ProgressCallback

BOUNDS_MODES = ("auto", "schema", "dp")
DOMAIN_SHARE = 0.1  # share of rho spent on the bounds a public schema lacks
PRIVATE_DOMAIN_SHARE = 0.25  # without a public schema: a usable domain is worth more
# public bin edges of the DP bounds histogram: 1, 2, 5 x 10^k from 1e-3 to 5e9, both
# signs, and 0 (neighbouring edges of one sign differ by a factor of at most 2.5)
_MANTISSAS = (1.0, 2.0, 5.0)
_POSITIVE = np.array([m * 10.0**k for k in range(-3, 10) for m in _MANTISSAS])
BOUNDS_EDGES = np.unique(np.concatenate([-_POSITIVE, [0.0], _POSITIVE]))
# chance that the bounds of one column reach into a window holding no row (union bound)
BOUNDS_FAILURE = 1e-3
# widths (in adjacent bins) of the windows the bounds scan reads off the noisy histogram:
# mass spread thinly over several bins clears a wide window where no single bin clears
BOUNDS_WIDTHS = (1, 2, 4, 8)


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


@dataclass
class PrivateFit:
    """What :func:`private_fit` hands a DP generator before it fits its model.

    ``rho`` is the zCDP budget that, with ``delta - delta_select``, converts to the
    (epsilon, delta) target; ``rho_domain`` of it was spent on the released domain
    (``columns``/``released``), the rest is the model's. ``delta_select`` (``delta / 2``
    without a public schema, else 0) is the category release's failure probability.
    """

    prepared: PreparedData
    public: bool
    epsilon: float
    delta: float
    delta_select: float
    rho: float
    rho_domain: float
    encoder: TableEncoder
    matrix: np.ndarray
    columns: list[DiscreteColumn]
    released: Schema
    split_domain: dict[str, Any]
    rng: np.random.Generator


def private_fit(
    name: str,
    data: pd.DataFrame | PreparedData,
    schema: Schema | None,
    *,
    bounds: str,
    target: str | None,
    drop: list[str] | tuple[str, ...],
    epsilon: float,
    delta: float | None,
    noise_seed: int | None,
    max_bins: int,
    check: Callable[[PreparedData, TableEncoder], None] | None = None,
) -> PrivateFit:
    """The shared start of every DP fit: public or not, the budget split, the domain.

    The one rule for "public": a schema is public only when the caller passes it
    explicitly as ``schema`` (and ``bounds`` is not ``"dp"``). The schema inside a
    :class:`PreparedData` is never public, whatever ``bounds`` says: it is usually
    inferred from the very rows being protected. A ``PreparedData`` passed *with* an
    explicit ``schema`` is re-prepared against that schema. ``check(prepared, encoder)``
    runs before any noise is drawn (the generator's own refusals come first).

    Budget: without a public schema ``delta / 2`` goes to the category release and
    ``PRIVATE_DOMAIN_SHARE`` of the zCDP budget to the domain; with a public schema
    lacking some numeric bounds ``DOMAIN_SHARE``; with a complete one nothing.
    """
    if isinstance(data, PreparedData):
        if schema is None:
            prepared = data
        else:
            target = data.schema.target if target is None else target
            frame = conform_to_schema(data.frame, schema)
            prepared = prepare(frame, schema, target, drop)
            prepared.excluded = {**data.excluded, **prepared.excluded}
    else:
        if schema is not None:
            data = conform_to_schema(data, schema)
        prepared = prepare(data, schema, target, drop)
    public = schema is not None and bounds != "dp"  # the explicit argument, never the type
    if len(prepared.frame) < 2:
        raise HealthForgeError("need at least 2 rows to fit a generator")
    if bounds == "schema":
        if not public:
            raise HealthForgeError(
                f"generator '{name}' in strict mode needs a schema you supply",
                "write one with `healthforge profile DATA --schema-out schema.yaml`, "
                "set public minimum/maximum per column, and pass --schema",
            )
        _require_bounds(prepared.schema)
    n = len(prepared.frame)
    epsilon = check_epsilon(epsilon)
    delta = default_delta(n) if delta is None else check_delta(delta, n)
    encoder = TableEncoder(prepared.schema)
    matrix = encoder.encode(prepared.frame)
    if check is not None:
        check(prepared, encoder)
    rng = np.random.default_rng(noise_seed)  # OS entropy unless a test pins it
    rho, rho_domain, delta_select = private_budget(epsilon, delta, public, prepared.schema)
    columns, released, split = _release_domain(
        prepared.schema, matrix, public, rho_domain, delta_select, max_bins, rng
    )
    return PrivateFit(
        prepared, public, epsilon, delta, delta_select, rho, rho_domain,
        encoder, matrix, columns, released, split, rng,
    )  # fmt: skip


def private_budget(
    epsilon: float, delta: float, public: bool, schema: Schema
) -> tuple[float, float, float]:
    """``(rho, rho_domain, delta_select)`` of a DP fit (see :func:`private_fit`)."""
    delta_select = 0.0 if public else delta / 2
    rho = cdp_rho(epsilon, delta - delta_select)
    if not public:
        share = PRIVATE_DOMAIN_SHARE
    elif _has_all_bounds(schema):
        share = 0.0
    else:
        share = DOMAIN_SHARE
    return rho, rho * share, delta_select


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
        ``fit(prepared.frame, prepared.schema)`` to vouch for it (see :func:`private_fit`).
        """

        def check(prepared: PreparedData, encoder: TableEncoder) -> None:
            self.schema_ = prepared.schema  # replaced by the released domain below
            self.excluded_ = dict(prepared.excluded)
            self.n_train_ = len(prepared.frame)
            self._check_supported(encoder)

        run = private_fit(
            self.name,
            data,
            schema,
            bounds=self.bounds,
            target=target,
            drop=drop,
            epsilon=self.epsilon,
            delta=self.delta,
            noise_seed=self.noise_seed,
            max_bins=self.max_bins,
            check=check,
        )
        matrix, rng, columns = run.matrix, run.rng, run.columns
        rho, rho_domain, delta, delta_select = run.rho, run.rho_domain, run.delta, run.delta_select
        self.columns_ = columns
        codes = np.column_stack([c.encode(matrix[:, j]) for j, c in enumerate(columns)])
        sizes = np.array([c.size for c in columns])
        self.discrete_ = np.array([c.discrete for c in columns])
        self.cardinalities_ = sizes
        # DP-SGD subclasses compose the domain release with their own (RDP) accountant
        self.budget_context_ = {"rho_domain": rho_domain, "delta_model": delta - delta_select}
        split_model = self._fit_codes(codes, sizes, rho - rho_domain, rng, progress)

        self.schema_ = run.released
        self.encoder_ = TableEncoder(run.released)
        self.train_hashes_ = np.empty(0, dtype=np.uint64)  # hashes would reveal members
        self.n_train_ = max(2, round(self._noisy_total()))
        self.dp_budget_ = budget_record(
            self.mechanism,
            run.epsilon,
            delta,
            {
                "rho_total": rho,
                "domain": run.split_domain,
                "model": split_model,
                "delta_zcdp_conversion": delta - delta_select,
                "delta_category_selection": delta_select,
            },
            self.accountant,
            public_schema=run.public,
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
    number of columns each serves (see :func:`_release_domain`)."""
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
    a noisy histogram on a public grid (:func:`_dp_bounds`); ``rho`` is split between
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

    noisy = _noisy_histograms(schema, matrix, plan, rng)
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
            bounds[j] = _dp_bounds(noisy[j], plan.bounds_sigma)

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
                low, high = _on_lattice(*found, column.decimals)
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


def _bounds_counts(values: np.ndarray) -> np.ndarray:
    """Rows per bin between consecutive ``BOUNDS_EDGES`` (values beyond the grid's ends
    count in the end bins; NaN = missing counts nowhere)."""
    finite = values[np.isfinite(values)]
    n_bins = len(BOUNDS_EDGES) - 1
    bins = np.clip(np.searchsorted(BOUNDS_EDGES, finite, "right") - 1, 0, n_bins - 1)
    return np.bincount(bins, minlength=n_bins)


def _noisy_histograms(
    schema: Schema, matrix: np.ndarray, plan: DomainPlan, rng: np.random.Generator
) -> dict[int, np.ndarray]:
    """The domain release's only contact with the rows: a noisy histogram per column.

    Column ``j`` of ``plan.need_select`` gets its category counts, one of
    ``plan.need_bounds`` its counts on the bounds grid (:func:`_bounds_counts`), each
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
        noisy[j] = gaussian_measure(_bounds_counts(matrix[:, j]), plan.bounds_sigma, rng)
    return noisy


def bounds_thresholds(
    sigma: float, widths: tuple[int, ...] = BOUNDS_WIDTHS, failure: float = BOUNDS_FAILURE
) -> dict[int, float]:
    """Noisy sum a window of ``w`` adjacent bounds bins must exceed, for each ``w``.

    A window of ``w`` empty bins has noisy sum ``N(0, w sigma^2)``; with ``W`` windows of
    all widths on the grid, ``sigma sqrt(w) Phi^-1(1 - failure / W)`` is exceeded by any
    one of them with probability ``failure / W``, so by the union bound some empty window
    of one column clears with probability <= ``failure``."""
    n_bins = len(BOUNDS_EDGES) - 1
    windows = sum(n_bins - w + 1 for w in widths)
    z = float(norm.isf(failure / windows))
    return {w: sigma * math.sqrt(w) * z for w in widths}


def _dp_bounds(
    noisy: np.ndarray, sigma: float, widths: tuple[int, ...] = BOUNDS_WIDTHS
) -> tuple[float, float] | None:
    """DP ``(low, high)`` read off a column's noisy bounds histogram, or ``None``.

    ``noisy``: ``(len(BOUNDS_EDGES) - 1,)`` counts on the public 1-2-5 log grid of both
    signs and 0, each plus ``N(0, sigma^2)`` (:func:`_noisy_histograms`): one record
    moves one count by 1, so ``1 / (2 sigma^2)``-zCDP per column, and this function is
    post-processing (free). ApproximateBounds (Google's differential-privacy library)
    reads single bins; mass spread thinly over several fine bins (values within +-1 fill
    ~20 bins of this grid) then clears none. So it scans windows of ``w`` adjacent bins
    for every ``w`` in ``widths`` (contiguous across 0): a window *clears* when its noisy
    sum exceeds :func:`bounds_thresholds`. A clearing window that contains a narrower
    clearing one is ignored (the narrower one says more precisely where the rows are);
    the release is the lower edge of the lowest and the upper edge of the highest
    remaining window.

    Guarantee: with probability >= 1 - ``BOUNDS_FAILURE`` per column no window without
    rows clears, and then each released bound lies inside the data's range or at most
    ``max(widths)`` grid steps outside it (the window's edge; the grid edge at or below
    the real minimum counts as the first step); one step of one sign is a factor <= 2.5,
    three steps a factor 10, so 8 steps a factor <= 250 (or across 0 to the other sign).
    In practice a window hugging empty bins is beaten by a narrower one inside it, and
    the bounds land one step out (benchmarks/results/dp_bounds.md). The price is the
    tails: windows holding fewer rows than their threshold are cut off and clipped.

    Why not the exponential mechanism on quantiles (the first release): its utility,
    ``-|rank error|``, ties for every candidate outside the data, and there are many of
    them, so at small epsilon it picked round numbers far outside the range.
    """
    n_bins = len(noisy)
    clear: dict[int, np.ndarray] = {}
    starts: list[int] = []
    ends: list[int] = []
    for w, threshold in sorted(bounds_thresholds(sigma, widths).items()):
        if w > n_bins:
            continue
        clear[w] = np.convolve(noisy, np.ones(w), "valid") > threshold  # window i: bins i..i+w-1
        minimal = clear[w].copy()
        for narrower, inside in clear.items():
            if narrower < w:  # windows of width `narrower` starting at i..i+w-narrower
                minimal &= np.convolve(inside, np.ones(w - narrower + 1), "valid") == 0
        found = np.flatnonzero(minimal)
        if len(found):
            starts.append(int(found[0]))
            ends.append(int(found[-1]) + w)
    if not starts:
        return None
    return float(BOUNDS_EDGES[min(starts)]), float(BOUNDS_EDGES[max(ends)])


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
    noisy = _noisy_histograms(prepared.schema, matrix, plan, np.random.default_rng(noise_seed))
    out: dict[str, tuple[float, float] | None] = {}
    for j in plan.need_bounds:
        column = prepared.schema.modelled[j]
        found = _dp_bounds(noisy[j], plan.bounds_sigma, widths)
        out[column.name] = None if found is None else _on_lattice(*found, column.decimals)
    return out


def _on_lattice(low: float, high: float, decimals: int | None) -> tuple[float, float]:
    """Released bounds moved inwards onto the column's public decimal lattice.

    Decoding rounds values to ``decimals`` and then clips them to the bounds; bounds on
    the lattice are kept by rounding, so no value (nor its integer cast) leaves them.
    Outwards instead when inwards would leave at most one value (a bin ``[0, 0.001)`` of
    a whole-number column becomes ``[0, 1]``).
    """
    if decimals is None:
        return low, high
    scale = 10.0**decimals
    inner = (math.ceil(round(low * scale, 6)) / scale, math.floor(round(high * scale, 6)) / scale)
    if inner[1] > inner[0]:
        return inner
    return math.floor(low * scale) / scale, math.ceil(high * scale) / scale
