"""The one start of every DP fit (``private_fit``): which schema is public, the budget
split and the domain release, before any model sees the rows."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from healthforge.data.encoding import TableEncoder
from healthforge.data.prepare import PreparedData, prepare
from healthforge.data.schema import Schema
from healthforge.errors import HealthForgeError
from healthforge.generators.private.budget import private_budget
from healthforge.generators.private.discrete import DiscreteColumn
from healthforge.generators.private.domain import release_domain
from healthforge.generators.private.public_schema import conform_to_schema, require_bounds
from healthforge.privacy.accounting import check_delta, check_epsilon, default_delta


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
        require_bounds(prepared.schema)
    n = len(prepared.frame)
    epsilon = check_epsilon(epsilon)
    delta = default_delta(n) if delta is None else check_delta(delta, n)
    encoder = TableEncoder(prepared.schema)
    matrix = encoder.encode(prepared.frame)
    if check is not None:
        check(prepared, encoder)
    rng = np.random.default_rng(noise_seed)  # OS entropy unless a test pins it
    rho, rho_domain, delta_select = private_budget(epsilon, delta, public, prepared.schema)
    columns, released, split = release_domain(
        prepared.schema, matrix, public, rho_domain, delta_select, max_bins, rng
    )
    return PrivateFit(
        prepared, public, epsilon, delta, delta_select, rho, rho_domain,
        encoder, matrix, columns, released, split, rng,
    )  # fmt: skip
