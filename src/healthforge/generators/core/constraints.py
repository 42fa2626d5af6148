"""Conditions in the shared encoding, for generators that condition natively: per column, the
allowed codes or the numeric interval (:class:`EncodedConstraint`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from healthforge.data.schema import ColumnSchema
from healthforge.generators.core.conditions import COMPARE, Condition


@dataclass(frozen=True)
class EncodedConstraint:
    """What one encoded column may take: allowed category codes, or a closed interval.

    ``codes`` is a boolean mask over the column's categories (discrete columns); ``low``
    and ``high`` bound numeric values. Strict inequalities are treated as closed here:
    the exact mask still filters the decoded rows afterwards.
    """

    codes: np.ndarray | None
    low: float
    high: float
    missing_allowed: bool


def encoded_constraints(
    conditions: list[Condition], columns: list[ColumnSchema]
) -> dict[int, EncodedConstraint]:
    """Constraints per encoded column index, combining several conditions on one column.

    Conditions a native sampler cannot express (on derived columns) are left out: the
    row mask applied after decoding still enforces them.
    """
    index = {c.name: j for j, c in enumerate(columns)}
    out: dict[int, EncodedConstraint] = {}
    for condition in conditions:
        if condition.derived is not None or condition.column not in index:
            continue
        j = index[condition.column]
        column = columns[j]
        new = _constraint(condition, column)
        old = out.get(j)
        if old is not None:
            codes = new.codes if old.codes is None else old.codes & new.codes  # type: ignore[operator]
            new = EncodedConstraint(
                codes,
                max(old.low, new.low),
                min(old.high, new.high),
                old.missing_allowed and new.missing_allowed,
            )
        out[j] = new
    return out


def _constraint(condition: Condition, column: ColumnSchema) -> EncodedConstraint:
    op, value = condition.op, condition.value
    if column.is_discrete:
        categories = pd.Series(column.categories or [], dtype=object)
        if op in COMPARE:
            numbers = pd.to_numeric(categories, errors="coerce").to_numpy(dtype=float)
            with np.errstate(invalid="ignore"):
                codes = COMPARE[op](numbers, float(value))
            return EncodedConstraint(codes, -np.inf, np.inf, False)
        wanted = value if isinstance(value, list) else [value]
        hit = categories.isin(wanted).to_numpy(dtype=bool)
        negated = op in {"!=", "not in"}
        return EncodedConstraint(~hit if negated else hit, -np.inf, np.inf, negated)
    if op in {">=", ">"}:
        return EncodedConstraint(None, float(value), np.inf, False)
    if op in {"<=", "<"}:
        return EncodedConstraint(None, -np.inf, float(value), False)
    if op in {"=", "in"}:
        values = [float(v) for v in (value if isinstance(value, list) else [value])]
        return EncodedConstraint(None, min(values), max(values), False)
    return EncodedConstraint(None, -np.inf, np.inf, True)  # != on a number: mask only
