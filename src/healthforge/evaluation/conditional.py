"""Conditional fidelity: do rows generated under conditions look like the real subgroup?

Rows sampled with ``conditions=["sex=female", "age>=65"]`` can satisfy every condition
and still describe the wrong people (the right sex and age, the lab values of everyone
else). :func:`conditional_fidelity` compares them, column by column, with the real rows
that satisfy the same conditions:

* numeric columns (continuous, integer, datetime as days): the standardised mean
  difference ``(mean_synthetic - mean_real) / sd_real``, with the real subgroup's sample
  standard deviation (ddof 1), over non-missing values;
* discrete columns (categorical, ordinal, boolean): the total-variation distance of the
  two level distributions, missing counted as a level of its own.

The summary is the largest ``|SMD|`` and the mean TVD. A real subgroup of fewer than
``min_real_rows`` rows is too noisy to compare against: the result is then flagged
(``too_small``) or, with ``strict=True``, an error.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from healthforge.data.infer import infer_schema, to_days
from healthforge.data.schema import ColumnSchema, Schema
from healthforge.errors import HealthForgeError
from healthforge.generators import conditions as cond

MIN_REAL_ROWS = 20  # a smaller real subgroup gives SMDs dominated by its own noise


@dataclass(frozen=True)
class ConditionalFidelity:
    """Per-column comparison of conditioned synthetic rows with the real subgroup.

    Attributes:
        conditions: the conditions as resolved against the schema (``"age >= 65.0"``).
        real_rows: size of the real subgroup satisfying every condition.
        synthetic_rows: number of synthetic rows compared.
        synthetic_satisfying: share of synthetic rows satisfying every condition (1.0
            for a generator that honours them).
        smd: ``{column: SMD}`` for numeric columns (``nan`` when either side has no
            value; ``inf`` when the real subgroup is constant and the means differ).
        tvd: ``{column: TVD}`` in ``[0, 1]`` for discrete columns.
        max_abs_smd: largest ``|SMD|`` (``nan`` without numeric columns).
        max_smd_column: the column reaching it (``None`` without numeric columns).
        mean_tvd: mean TVD over discrete columns (``nan`` without discrete columns).
        too_small: the real subgroup has fewer than ``min_real_rows`` rows.
    """

    conditions: list[str]
    real_rows: int
    synthetic_rows: int
    synthetic_satisfying: float
    smd: dict[str, float] = field(default_factory=dict)
    tvd: dict[str, float] = field(default_factory=dict)
    max_abs_smd: float = float("nan")
    max_smd_column: str | None = None
    mean_tvd: float = float("nan")
    too_small: bool = False

    # duplicates: a record written out field by field, like the other to_dict methods
    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (``nan`` and ``inf`` become ``None`` and strings)."""
        return {
            "conditions": self.conditions,
            "real_rows": self.real_rows,
            "synthetic_rows": self.synthetic_rows,
            "synthetic_satisfying": self.synthetic_satisfying,
            "max_abs_smd": _json_number(self.max_abs_smd),
            "max_smd_column": self.max_smd_column,
            "mean_tvd": _json_number(self.mean_tvd),
            "too_small": self.too_small,
            "smd": {k: _json_number(v) for k, v in self.smd.items()},
            "tvd": {k: _json_number(v) for k, v in self.tvd.items()},
        }


def standardised_mean_difference(real: np.ndarray, synthetic: np.ndarray) -> float:
    """``(mean(synthetic) - mean(real)) / sd(real)`` of 1-D float arrays (NaN ignored).

    ``sd`` is the real sample's standard deviation (ddof 1). Returns ``nan`` when either
    side has no value (or the real side one value), ``0`` or ``±inf`` when the real
    values are constant.
    """
    real = real[~np.isnan(real)]
    synthetic = synthetic[~np.isnan(synthetic)]
    if real.size < 2 or synthetic.size == 0:
        return float("nan")
    diff = float(synthetic.mean() - real.mean())
    sd = float(real.std(ddof=1))
    if sd == 0.0:
        return 0.0 if diff == 0.0 else float(np.copysign(np.inf, diff))
    return diff / sd


def total_variation(real: pd.Series, synthetic: pd.Series) -> float:
    """Half the L1 distance between the level shares of two series (missing is a level)."""
    if len(real) == 0 or len(synthetic) == 0:
        return float("nan")
    # compare as strings so 1 and 1.0 or "1" from a CSV are one level
    a = _levels(real).value_counts(normalize=True)
    b = _levels(synthetic).value_counts(normalize=True)
    both = a.index.union(b.index)
    return float(
        0.5 * np.abs(a.reindex(both, fill_value=0.0) - b.reindex(both, fill_value=0.0)).sum()
    )


def conditional_fidelity(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    conditions: cond.ConditionsLike,
    schema: Schema | None = None,
    min_real_rows: int = MIN_REAL_ROWS,
    strict: bool = False,
    columns: Sequence[str] | None = None,
) -> ConditionalFidelity:
    """Compare ``synthetic`` rows generated under ``conditions`` with the real subgroup.

    Args:
        real: the real table ``(n_real, p)``; the subgroup is its rows satisfying every
            condition.
        synthetic: rows generated under ``conditions`` ``(n_synthetic, p')``, with the
            compared columns spelled and coded as in ``real``. All are compared, also
            any that violate a condition (``synthetic_satisfying`` says how many do).
        conditions: as for ``Generator.sample``: ``["sex=female", "age>=65"]``, a dict
            or :class:`~healthforge.generators.conditions.Condition` objects.
        schema: the schema of ``real`` (value labels let ``sex=female`` match codes);
            inferred from ``real`` when ``None``.
        min_real_rows: a smaller real subgroup is flagged ``too_small``.
        strict: raise instead of flagging a subgroup smaller than ``min_real_rows``.
        columns: columns to compare; default every modelled column in both tables.

    Returns:
        A :class:`ConditionalFidelity`.
    """
    if not isinstance(real, pd.DataFrame) or not isinstance(synthetic, pd.DataFrame):
        raise HealthForgeError("conditional_fidelity needs two pandas DataFrames (real, synthetic)")
    parsed = cond.parse_conditions(conditions)
    if not parsed:
        raise HealthForgeError(
            "conditional_fidelity needs at least one condition",
            "for unconditioned rows use healthforge.evaluation.evaluate",
        )
    if len(synthetic) == 0:
        raise HealthForgeError("conditional_fidelity: the synthetic table has no rows")
    schema = schema if schema is not None else infer_schema(real)
    resolved = cond.resolve(parsed, schema)
    for condition in resolved:
        source = condition.derived.source if condition.derived is not None else condition.column
        if source not in synthetic.columns:
            raise HealthForgeError(
                f"conditional_fidelity: the synthetic table has no column '{source}' "
                f"for condition '{condition}'"
            )
    subgroup = real.loc[cond.mask(real, resolved)]
    n_real = len(subgroup)
    too_small = n_real < min_real_rows
    if too_small and strict:
        raise HealthForgeError(
            f"only {n_real} real rows satisfy "
            + "; ".join(map(str, resolved))
            + f" (fewer than {min_real_rows}): too few to compare against",
            "relax the conditions or pass strict=False to get the figures flagged too_small",
        )
    satisfying = float(cond.mask(synthetic, resolved).mean())

    names = list(columns) if columns is not None else schema.modelled_names
    smd: dict[str, float] = {}
    tvd: dict[str, float] = {}
    for name in names:
        if name not in real.columns or name not in synthetic.columns:
            if columns is not None:
                raise HealthForgeError(f"conditional_fidelity: no column '{name}' in both tables")
            continue
        if name not in schema or schema[name].kind == "text":
            continue
        column = schema[name]
        if column.is_discrete:
            tvd[name] = total_variation(subgroup[name], synthetic[name])
        else:
            smd[name] = standardised_mean_difference(
                _numbers(subgroup[name], column), _numbers(synthetic[name], column)
            )

    finite = {k: abs(v) for k, v in smd.items() if not np.isnan(v)}
    max_column = max(finite, key=lambda k: finite[k]) if finite else None
    tvds = [v for v in tvd.values() if not np.isnan(v)]
    return ConditionalFidelity(
        conditions=[str(c) for c in resolved],
        real_rows=n_real,
        synthetic_rows=len(synthetic),
        synthetic_satisfying=satisfying,
        smd=smd,
        tvd=tvd,
        max_abs_smd=finite[max_column] if max_column is not None else float("nan"),
        max_smd_column=max_column,
        mean_tvd=float(np.mean(tvds)) if tvds else float("nan"),
        too_small=too_small,
    )


def _numbers(series: pd.Series, column: ColumnSchema) -> np.ndarray:
    if column.kind == "datetime":
        return to_days(series, column.datetime_format).to_numpy(dtype=float)
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype=float)


def _levels(series: pd.Series) -> pd.Series:
    numbers = pd.to_numeric(series, errors="coerce")
    # numeric codes compared as numbers (1 == 1.0), other values as text; NaN a level
    text = series.astype(object).where(numbers.isna(), numbers.astype(float).astype(object))
    return text.map(lambda v: "<missing>" if pd.isna(v) else str(v))


def _json_number(value: float) -> float | str | None:
    if np.isnan(value):
        return None
    if np.isinf(value):
        return "inf" if value > 0 else "-inf"
    return float(value)
