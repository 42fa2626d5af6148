"""The one rule of a public schema: only a schema the caller passes explicitly is public
knowledge. Values outside it are clipped or made missing, never added to the domain, and
strict mode needs its numeric bounds."""

from __future__ import annotations

import numpy as np
import pandas as pd

from healthforge.data.encoding import category_codes
from healthforge.data.infer import to_days
from healthforge.data.schema import Schema
from healthforge.errors import HealthForgeError


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


def has_all_bounds(schema: Schema) -> bool:
    return all(
        c.is_discrete or (c.minimum is not None and c.maximum is not None) for c in schema.modelled
    )


def require_bounds(schema: Schema) -> None:
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
