"""The public domain a differentially private method gets in the benchmark.

A DP generator may not read bounds or category lists from the private rows for free
(``docs/privacy.md``). The bundled datasets are published with their codebooks, so the
benchmark gives DP methods - ours and DP peers alike - the schema of the whole bundled
table, with every numeric range widened outward to round numbers (tens for ranges wider
than 10) as a data steward declaring "age 20-80" would. It is a stand-in for declared
bounds, not a DP release of them; the same schema goes to every DP method.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from healthforge.data.schema import Schema


def public_schema(data: pd.DataFrame, target: str | None) -> Schema:
    """Schema of ``data`` (the full table, ``(n_rows, n_columns)``) with round bounds."""
    from healthforge.data.prepare import prepare

    schema = prepare(data, target=target).schema
    for column in schema.columns:
        if column.kind not in ("continuous", "integer"):
            continue
        if column.minimum is None or column.maximum is None:
            continue
        step = 10.0 if column.maximum - column.minimum > 10 else 1.0
        column.minimum = math.floor(column.minimum / step) * step
        column.maximum = math.ceil(column.maximum / step) * step
    return schema


def peer_domain(schema: Schema) -> dict[str, Any]:
    """What a DP peer is told: ``{column: [low, high]}`` for numbers (binned as ours are),
    ``{column: None}`` for discrete columns (their categories count as public)."""
    domain: dict[str, Any] = {}
    for column in schema.modelled:
        if column.is_discrete:
            domain[column.name] = None
        elif column.minimum is not None and column.maximum is not None:
            domain[column.name] = [float(column.minimum), float(column.maximum)]
    return domain
