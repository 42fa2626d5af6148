"""Check a table against its schema and select what a generator may model."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from healthforge.data.encoding import TableEncoder
from healthforge.data.infer import infer_schema
from healthforge.data.schema import Schema
from healthforge.errors import HealthForgeError


@dataclass
class PreparedData:
    """The modelled part of a table with its schema and what was left out, and why."""

    frame: pd.DataFrame
    schema: Schema
    excluded: dict[str, str] = field(default_factory=dict)

    def notices(self) -> list[str]:
        """Plain-language lines for the user about excluded columns."""
        lines = []
        identifiers = [n for n, why in self.excluded.items() if why.startswith("identifier")]
        if identifiers:
            lines.append(
                "not modelled, direct identifiers (never in synthetic output): "
                + ", ".join(identifiers)
            )
        others = [f"{n} ({why})" for n, why in self.excluded.items() if n not in identifiers]
        if others:
            lines.append("not modelled: " + ", ".join(others))
        return lines


def prepare(
    df: pd.DataFrame,
    schema: Schema | None = None,
    target: str | None = None,
    drop: list[str] | tuple[str, ...] = (),
    source: str | None = None,
) -> PreparedData:
    """Validate ``df`` (against ``schema`` if given, else an inferred one).

    Raises :class:`HealthForgeError` for tables that cannot be modelled: no rows, a
    column entirely missing, a schema that contradicts the data, nothing left to model.
    """
    if df.shape[0] == 0:
        raise HealthForgeError("the data has no rows")
    unknown_drop = [c for c in drop if c not in df.columns]
    if unknown_drop:
        raise HealthForgeError(f"cannot drop unknown columns: {', '.join(unknown_drop)}")
    df = df.drop(columns=list(drop))
    if schema is not None:
        # derived columns are recomputed from their source after sampling, never modelled
        recomputed = [d.name for d in getattr(schema, "derived", []) if d.name in df.columns]
        df = df.drop(columns=recomputed)
    if schema is None:
        schema = infer_schema(df, target=target, source=source)
    else:
        schema = _align(schema, df, drop).with_target(target)
    excluded: dict[str, str] = {}
    for column in schema.columns:
        if column.role == "identifier":
            excluded[column.name] = "identifier: " + (column.reason or "marked in the schema")
        elif column.kind == "text":
            excluded[column.name] = "free text is not modelled by tabular generators"
    modelled = schema.modelled_names
    if not modelled:
        raise HealthForgeError(
            "no columns left to model after excluding identifiers and free text",
            "check the roles in the schema (`healthforge profile DATA`)",
        )
    empty = [name for name in modelled if df[name].isna().all()]
    if empty:
        raise HealthForgeError(
            f"column{'s' if len(empty) > 1 else ''} entirely missing: {', '.join(empty)}",
            "drop with " + " ".join(f"--drop {e}" for e in empty),
        )
    frame = df[modelled].reset_index(drop=True)
    TableEncoder(schema).encode(frame, strict=True)  # raises on contradictions
    _check_bounds(frame, schema)
    return PreparedData(frame=frame, schema=schema, excluded=excluded)


def _align(schema: Schema, df: pd.DataFrame, drop: list[str] | tuple[str, ...]) -> Schema:
    described = [c for c in schema.columns if c.name not in drop]
    absent = [c.name for c in described if c.name not in df.columns]
    if absent:
        raise HealthForgeError(
            f"the schema describes columns the data lacks: {', '.join(absent[:10])}",
            "remove them from the schema or use the matching data file",
        )
    undescribed = [c for c in df.columns if c not in {d.name for d in described}]
    if undescribed:
        raise HealthForgeError(
            f"the data has columns the schema does not describe: {', '.join(undescribed[:10])}",
            "add them to the schema or pass --drop for each",
        )
    return Schema(
        columns=described,
        source=schema.source,
        notes=list(schema.notes),
        derived=schema.restricted_derived(described),
    )


def _check_bounds(frame: pd.DataFrame, schema: Schema) -> None:
    encoded = TableEncoder(schema).encode(frame, strict=True)
    for j, column in enumerate(schema.modelled):
        if column.is_discrete or (column.minimum is None and column.maximum is None):
            continue
        values = encoded[:, j]
        values = values[np.isfinite(values)]
        if values.size == 0:
            continue
        low = column.minimum if column.minimum is not None else -np.inf
        high = column.maximum if column.maximum is not None else np.inf
        if values.min() < low - 1e-9 or values.max() > high + 1e-9:
            raise HealthForgeError(
                f"column '{column.name}' has values in [{values.min():g}, {values.max():g}] "
                f"outside the schema's bounds [{low:g}, {high:g}]",
                "widen the bounds in the schema or fix the data",
            )
