"""Conditions on generated rows: ``sex=female``, ``age>=65``, ``race in [black, other]``.

A value may be a code or its label from the schema (``sex=female`` where the data
stores ``sex`` as 0/1 with labels ``{0: male, 1: female}``; labels ignore case).

Conditions are parsed once, checked against the schema (an impossible condition is an
error before any sampling), and applied as a vectorised row mask.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from healthforge.data.derived import DerivedColumn, find_derived
from healthforge.data.schema import ColumnSchema, Schema, as_float
from healthforge.errors import HealthForgeError

_PATTERN = re.compile(
    r"^\s*(?P<col>[^=<>!]+?)\s*(?P<op>==|=|!=|>=|<=|>|<|\s+in\s+|\s+not\s+in\s+)\s*(?P<val>.+?)\s*$",
    re.IGNORECASE,
)
COMPARE: dict[str, Callable[[Any, Any], Any]] = {
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
    # set when a condition on a derived column cannot be put on its source: the mask
    # then computes the derived column itself
    derived: DerivedColumn | None = field(default=None, compare=False, repr=False)

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
    if raw.strip()[:1] in {"=", "<", ">", "!"}:  # "age >=" would read as age > "="
        raise HealthForgeError(
            f"cannot read condition '{text}': no value after the operator",
            "write e.g. age>=65",
        )
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
    """Match values to the schema's spellings and types; raise for impossible conditions.

    Conditions on derived columns (``age_group``, ``region``) become conditions on
    their source column, so one derived condition may resolve to two.
    """
    out: list[Condition] = []
    for condition in conditions:
        spec = find_derived(schema, condition.column) if condition.column not in schema else None
        if spec is not None:
            out.extend(_resolve_derived(condition, spec, schema))
        else:
            out.append(_resolve_one(condition, schema))
    return out


def _resolve_derived(condition: Condition, spec: DerivedColumn, schema: Schema) -> list[Condition]:
    labels = spec.all_labels()
    if condition.op in COMPARE:
        raise HealthForgeError(
            f"condition '{condition}' compares derived column '{spec.name}', which has labels",
            "use = or in [...]: its labels are " + ", ".join(labels),
        )
    given = condition.value if condition.op in {"in", "not in"} else [condition.value]
    matched = []
    for value in given:
        hit = next((lab for lab in labels if lab.lower() == str(value).strip().lower()), None)
        if hit is None:
            raise HealthForgeError(
                f"impossible condition '{condition}': '{value}' is not a label of '{spec.name}'",
                "its labels are: " + ", ".join(labels),
            )
        matched.append(hit)
    wanted = [lab for lab in labels if (lab in matched) != (condition.op in {"!=", "not in"})]
    if not wanted:
        raise HealthForgeError(f"impossible condition '{condition}': it excludes every label")
    on_source = spec.source_conditions(wanted)
    if on_source is None:  # e.g. two non-adjacent age groups: no single range on the source
        return [Condition(spec.name, "in", wanted, derived=spec)]
    resolved = []
    source = schema[spec.source]
    for op, value in on_source:
        if op in {"in", "not in"}:
            value = _present_values(value, source)
            if op == "in" and not value:
                raise HealthForgeError(
                    f"impossible condition '{condition}': no value of '{spec.source}' in the "
                    f"training data's range maps to {', '.join(wanted)}"
                )
            resolved.append(Condition(source.name, op, value))
        else:
            resolved.append(_resolve_one(Condition(source.name, op, value), schema))
    return resolved


def _present_values(values: list[Any], column: ColumnSchema) -> list[Any]:
    """The mapping keys that can occur in ``column`` (its categories, or within bounds)."""
    if column.is_discrete:
        found = []
        for value in values:
            for category in column.categories or []:
                same = str(category).strip().lower() == str(value).strip().lower()
                both = as_float(category) is not None and as_float(category) == as_float(value)
                if same or both:
                    found.append(category)
        return found
    low, high = _bounds(column)
    numbers = [as_float(v) for v in values]
    return [v for v in numbers if v is not None and low <= v <= high]


def _resolve_one(condition: Condition, schema: Schema) -> Condition:
    if condition.column not in schema:
        raise HealthForgeError(
            f"condition on unknown column '{condition.column}'",
            f"columns are: {', '.join(schema.modelled_names[:25])}",
        )
    column = schema[condition.column]
    if not column.modelled:
        raise HealthForgeError(f"cannot condition on '{column.name}': it is not modelled")
    if condition.op in COMPARE:
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
            if as_float(category) is not None and as_float(category) == as_float(value):
                return category
        coded = column.code_of_label(value)  # a value label: sex=female for sex=1
        if coded is not None:
            return coded
        raise HealthForgeError(
            f"impossible condition '{condition}': '{value}' never occurs in column '{column.name}'",
            ("its values (labels in brackets) are: " if column.labels else "its values are: ")
            + column.describe_values(),
        )
    coded = column.code_of_label(value)
    number = as_float(value if coded is None else coded)
    if number is None:
        raise HealthForgeError(f"condition '{condition}' needs a number for column '{column.name}'")
    _check_in_bounds(number, column, condition)
    return number


def _resolve_range(condition: Condition, column: ColumnSchema) -> Condition:
    if column.is_discrete and not all(as_float(c) is not None for c in column.categories or []):
        raise HealthForgeError(
            f"condition '{condition}' compares '{column.name}', which has categories, not numbers",
            "use = or in [...] for categorical columns",
        )
    coded = column.code_of_label(condition.value)  # education>=hs on a labelled code
    number = as_float(condition.value if coded is None else coded)
    if number is None:
        raise HealthForgeError(
            f"condition '{condition}' needs a number" + (" or a label" if column.labels else ""),
            "its values (labels in brackets) are: " + column.describe_values()
            if column.labels
            else None,
        )
    low, high = _bounds(column)
    op = COMPARE[condition.op]
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


def mask(df: pd.DataFrame, conditions: list[Condition]) -> np.ndarray:
    """Boolean array: rows of ``df`` satisfying every (resolved) condition."""
    keep = np.ones(len(df), dtype=bool)
    for condition in conditions:
        if condition.derived is not None:
            series = condition.derived.compute(df[condition.derived.source])
        else:
            series = df[condition.column]
        if condition.op in COMPARE:
            values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float)
            with np.errstate(invalid="ignore"):
                keep &= COMPARE[condition.op](values, condition.value)
            continue
        wanted = condition.value if isinstance(condition.value, list) else [condition.value]
        hit = series.isin(wanted).to_numpy(dtype=bool)
        keep &= ~hit if condition.op in {"!=", "not in"} else hit
    return keep
