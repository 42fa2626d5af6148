"""Conditions on generated rows: ``sex=female``, ``age>=65``, ``race in [black, other]``.

Conditions are parsed once, checked against the schema (an impossible condition is an
error before any sampling), and applied as a vectorised row mask.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from healthforge.data.schema import ColumnSchema, Schema
from healthforge.errors import HealthForgeError

_PATTERN = re.compile(
    r"^\s*(?P<col>[^=<>!]+?)\s*(?P<op>==|=|!=|>=|<=|>|<|\s+in\s+|\s+not\s+in\s+)\s*(?P<val>.+?)\s*$",
    re.IGNORECASE,
)
_COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
}


@dataclass(frozen=True)
class Condition:
    """``column op value``; ``op`` is one of ``= != >= <= > < in not in``."""

    column: str
    op: str
    value: Any

    def __str__(self) -> str:
        return f"{self.column} {self.op} {self.value}"


ConditionsLike = Sequence[str] | Sequence[Condition] | Mapping[str, Any] | None


def parse_conditions(conditions: ConditionsLike) -> list[Condition]:
    """Parse strings, :class:`Condition` objects or a dict ``{column: value | list | (op, v)}``."""
    if not conditions:
        return []
    if isinstance(conditions, Mapping):
        parsed = []
        for column, value in conditions.items():
            if isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], str):
                parsed.append(Condition(column, value[0], value[1]))
            elif isinstance(value, list | set | frozenset):
                parsed.append(Condition(column, "in", list(value)))
            else:
                parsed.append(Condition(column, "=", value))
        return parsed
    return [c if isinstance(c, Condition) else _parse_one(c) for c in conditions]


def _parse_one(text: str) -> Condition:
    match = _PATTERN.match(text)
    if not match:
        raise HealthForgeError(
            f"cannot read condition '{text}'",
            "write e.g. sex=female, age>=65 or 'race in [black, other]'",
        )
    column, op, raw = match["col"].strip(), " ".join(match["op"].split()).lower(), match["val"]
    op = "=" if op == "==" else op
    if op in {"in", "not in"}:
        inner = raw.strip()
        if not (inner.startswith("[") and inner.endswith("]")):
            raise HealthForgeError(f"condition '{text}' needs a list in brackets: [a, b]")
        value: Any = [v.strip().strip("'\"") for v in inner[1:-1].split(",") if v.strip()]
    else:
        value = raw.strip().strip("'\"")
    return Condition(column, op, value)


def resolve(conditions: list[Condition], schema: Schema) -> list[Condition]:
    """Match values to the schema's spellings and types; raise for impossible conditions."""
    return [_resolve_one(c, schema) for c in conditions]


def _resolve_one(condition: Condition, schema: Schema) -> Condition:
    if condition.column not in schema:
        raise HealthForgeError(
            f"condition on unknown column '{condition.column}'",
            f"columns are: {', '.join(schema.modelled_names[:25])}",
        )
    column = schema[condition.column]
    if not column.modelled:
        raise HealthForgeError(f"cannot condition on '{column.name}': it is not modelled")
    if condition.op in _COMPARE:
        return _resolve_range(condition, column)
    values = condition.value if condition.op in {"in", "not in"} else [condition.value]
    resolved = [_match_value(v, column, condition) for v in values]
    if condition.op in {"=", "!="}:
        return Condition(column.name, condition.op, resolved[0])
    return Condition(column.name, condition.op, resolved)


def _match_value(value: Any, column: ColumnSchema, condition: Condition) -> Any:
    if column.is_discrete:
        categories = column.categories or []
        for category in categories:
            if str(category).strip().lower() == str(value).strip().lower():
                return category
            if _as_float(category) is not None and _as_float(category) == _as_float(value):
                return category
        raise HealthForgeError(
            f"impossible condition '{condition}': '{value}' never occurs in column '{column.name}'",
            "its values are: " + ", ".join(map(str, categories[:20])),
        )
    number = _as_float(value)
    if number is None:
        raise HealthForgeError(f"condition '{condition}' needs a number for column '{column.name}'")
    _check_in_bounds(number, column, condition)
    return number


def _resolve_range(condition: Condition, column: ColumnSchema) -> Condition:
    if column.is_discrete and not all(_as_float(c) is not None for c in column.categories or []):
        raise HealthForgeError(
            f"condition '{condition}' compares '{column.name}', which has categories, not numbers",
            "use = or in [...] for categorical columns",
        )
    number = _as_float(condition.value)
    if number is None:
        raise HealthForgeError(f"condition '{condition}' needs a number")
    low, high = _bounds(column)
    op = _COMPARE[condition.op]
    feasible = op(high, number) if condition.op in {">=", ">"} else op(low, number)
    if not feasible:
        raise HealthForgeError(
            f"impossible condition '{condition}': '{column.name}' ranges from {low:g} to {high:g} "
            "in the training data"
        )
    return Condition(column.name, condition.op, number)


def _bounds(column: ColumnSchema) -> tuple[float, float]:
    if column.is_discrete:
        values = [float(c) for c in column.categories or []]
        return min(values), max(values)
    low = -np.inf if column.minimum is None else float(column.minimum)
    high = np.inf if column.maximum is None else float(column.maximum)
    return low, high


def _check_in_bounds(number: float, column: ColumnSchema, condition: Condition) -> None:
    low, high = _bounds(column)
    if condition.op in {"=", "in"} and not low <= number <= high:
        raise HealthForgeError(
            f"impossible condition '{condition}': '{column.name}' ranges from {low:g} to {high:g}"
        )


def _as_float(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def mask(df: pd.DataFrame, conditions: list[Condition]) -> np.ndarray:
    """Boolean array: rows of ``df`` satisfying every (resolved) condition."""
    keep = np.ones(len(df), dtype=bool)
    for condition in conditions:
        series = df[condition.column]
        if condition.op in _COMPARE:
            values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float)
            with np.errstate(invalid="ignore"):
                keep &= _COMPARE[condition.op](values, condition.value)
            continue
        wanted = condition.value if isinstance(condition.value, list) else [condition.value]
        hit = series.isin(wanted).to_numpy(dtype=bool)
        keep &= ~hit if condition.op in {"!=", "not in"} else hit
    return keep
