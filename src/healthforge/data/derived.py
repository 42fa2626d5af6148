"""Derived columns: ``age_group`` from ``age``, ``region`` from a birthplace code.

A derived column is declared in the schema (``Schema.derived``), never modelled, and
computed from its source column after sampling, so it always agrees with its source.
Conditions on a derived column are translated into conditions on the source
(``age_group=65+`` becomes ``age>=65``; ``region=South`` becomes ``birthplace in [...]``),
so every generator can honour them.

Two kinds exist:

* **bins**: left-closed intervals ``[edges[i], edges[i+1])`` of a numeric source, with one
  label per interval (labels default to ``"25-34"``, ``"65+"`` style);
* **mapping**: a value-to-label table, inline (``mapping``) or from a CSV file
  (``mapping_file``; ``resource:NAME`` names a file shipped in ``healthforge/data/resources``),
  with ``default`` as the label of unmapped and missing values.
"""

from __future__ import annotations

import functools
import itertools
import math
from dataclasses import asdict, dataclass, replace
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from healthforge.errors import HealthForgeError

if TYPE_CHECKING:
    from healthforge.data.schema import ColumnSchema, Schema

RESOURCE_PREFIX = "resource:"
US_REGIONS_FILE = RESOURCE_PREFIX + "us_census_regions.csv"
UNKNOWN_REGION = "Other/Unknown"
DEFAULT_AGE_BINS: tuple[float, ...] = (0, 18, 25, 35, 45, 55, 65, 75, math.inf)
NHEFS_AGE_BINS: tuple[float, ...] = (25, 35, 45, 55, 65, math.inf)  # NHEFS ages are 25-74


@dataclass
class DerivedColumn:
    """A column computed from ``source`` by ``bins`` or by a ``mapping``/``mapping_file``."""

    name: str
    source: str
    bins: list[float] | None = None
    labels: list[str] | None = None
    mapping: dict[Any, str] | None = None
    mapping_file: str | None = None
    mapping_key: str = "code"
    mapping_value: str = "region"
    default: str | None = None
    description: str | None = None

    # -- checks ---------------------------------------------------------------------
    def validate(self, columns: dict[str, ColumnSchema]) -> None:
        """Raise :class:`HealthForgeError` when the declaration cannot work on ``columns``."""
        where = f"derived column '{self.name}'"
        if self.name in columns:
            raise HealthForgeError(f"{where} has the name of a data column", "rename it")
        if self.source not in columns or not columns[self.source].modelled:
            raise HealthForgeError(
                f"{where} derives from '{self.source}', which is not a modelled column",
                "point 'source' at a column of the schema",
            )
        ways = [self.bins is not None, self.mapping is not None, self.mapping_file is not None]
        if sum(ways) != 1:
            raise HealthForgeError(
                f"{where} needs exactly one of 'bins', 'mapping' or 'mapping_file'"
            )
        if self.bins is not None:
            if not columns[self.source].is_numeric:
                raise HealthForgeError(f"{where}: bins need a numeric source, not '{self.source}'")
            edges = [float(e) for e in self.bins]
            if len(edges) < 2 or any(b <= a for a, b in itertools.pairwise(edges)):
                raise HealthForgeError(f"{where}: bins must be at least 2 increasing edges")
            if self.labels is not None and len(self.labels) != len(edges) - 1:
                raise HealthForgeError(
                    f"{where}: {len(edges) - 1} bins but {len(self.labels)} labels"
                )
        else:
            self.table()  # a missing or malformed mapping file fails here, not at sampling
        labels = self.all_labels()
        if len(set(labels)) != len(labels):
            raise HealthForgeError(f"{where} has duplicate labels")

    # -- values -----------------------------------------------------------------------
    def edges(self) -> list[float]:
        return [float(e) for e in self.bins or []]

    def all_labels(self) -> list[str]:
        """Every label the column can take, in natural order."""
        if self.bins is not None:
            return list(self.labels) if self.labels is not None else _bin_labels(self.edges())
        found = list(dict.fromkeys(self.table().values()))
        if self.default is not None and self.default not in found:
            found.append(self.default)
        return found

    def table(self) -> dict[Any, str]:
        """The mapping as ``{normalised source value: label}``."""
        if self.mapping is not None:
            return {_key(k): str(v) for k, v in self.mapping.items()}
        return dict(_read_mapping(str(self.mapping_file), self.mapping_key, self.mapping_value))

    def compute(self, values: pd.Series) -> pd.Series:
        """The derived labels of source ``values`` (missing where a bin has no label)."""
        if self.bins is not None:
            numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
            edges, labels = np.asarray(self.edges()), np.asarray(self.all_labels(), dtype=object)
            index = np.searchsorted(edges, numbers, side="right") - 1
            inside = np.isfinite(numbers) & (index >= 0) & (index < len(labels))
            out = np.full(len(numbers), np.nan, dtype=object)
            out[inside] = labels[index[inside]]
            return pd.Series(out, index=values.index, name=self.name, dtype=_STRING)
        table = self.table()
        mapped = [
            table.get(_key(v), self.default) if not pd.isna(v) else self.default for v in values
        ]
        return pd.Series(mapped, index=values.index, name=self.name, dtype=_STRING)

    def source_conditions(self, wanted: list[str]) -> list[tuple[str, Any]] | None:
        """Conditions on the source, ANDed, that select exactly the labels ``wanted``.

        ``None`` when no such conjunction exists (non-adjacent bins); the caller then
        evaluates the derived column itself.
        """
        labels = self.all_labels()
        if self.bins is not None:
            index = sorted(labels.index(w) for w in wanted)
            if index != list(range(index[0], index[-1] + 1)):
                return None
            edges = self.edges()
            low, high = edges[index[0]], edges[index[-1] + 1]
            out: list[tuple[str, Any]] = []
            if math.isfinite(low):
                out.append((">=", low))
            if math.isfinite(high):
                out.append(("<", high))
            return out
        table = self.table()
        if self.default is not None and self.default in wanted:
            # unmapped and missing values carry the default label: exclude the others
            return [("not in", [k for k, v in table.items() if v not in wanted])]
        return [("in", [k for k, v in table.items() if v in wanted])]

    def to_dict(self) -> dict[str, Any]:
        data = {k: v for k, v in asdict(self).items() if v is not None}
        for key, default in (("mapping_key", "code"), ("mapping_value", "region")):
            if data.get(key) == default and self.mapping_file is None:
                data.pop(key)
        if "bins" in data:  # YAML writes infinity as .inf and reads it back as a float
            data["bins"] = [float(e) for e in data["bins"]]
        return data

    @classmethod
    def from_dict(cls, raw: Any) -> DerivedColumn:
        known = set(cls.__dataclass_fields__)
        if not isinstance(raw, dict) or "name" not in raw or "source" not in raw:
            raise HealthForgeError("every derived column needs at least 'name' and 'source'")
        unknown = set(raw) - known
        if unknown:
            raise HealthForgeError(
                f"derived column '{raw['name']}' has unknown fields: {', '.join(sorted(unknown))}",
                f"allowed fields: {', '.join(sorted(known))}",
            )
        data = dict(raw)
        if data.get("bins") is not None:
            try:
                data["bins"] = [float(str(e).replace(".inf", "inf")) for e in data["bins"]]
            except (TypeError, ValueError):
                raise HealthForgeError(
                    f"derived column '{raw['name']}': bins must be numbers"
                ) from None
        return cls(**data)


_STRING = pd.StringDtype(na_value=np.nan)


def _key(value: Any) -> Any:
    """Source values and mapping keys compared as numbers when they are numbers."""
    if isinstance(value, bool):
        return str(value)
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value).strip()
    return number if math.isfinite(number) else str(value).strip()


def _bin_labels(edges: list[float]) -> list[str]:
    labels = []
    for low, high in itertools.pairwise(edges):
        if not math.isfinite(low):
            labels.append(f"<{high:g}")
        elif not math.isfinite(high):
            labels.append(f"{low:g}+")
        elif float(low).is_integer() and float(high).is_integer():
            labels.append(f"{low:g}-{high - 1:g}")  # integer ages: 65-74 means [65, 75)
        else:
            labels.append(f"{low:g}-<{high:g}")
    return labels


@functools.cache
def _read_mapping(path: str, key: str, value: str) -> tuple[tuple[Any, str], ...]:
    if path.startswith(RESOURCE_PREFIX):
        name = path[len(RESOURCE_PREFIX) :]
        ref = resources.files("healthforge.data").joinpath("resources", name)
        if not ref.is_file():
            raise HealthForgeError(f"no shipped mapping file '{name}'")
        with ref.open("r", encoding="utf-8") as handle:
            frame = pd.read_csv(handle, dtype=str)
    else:
        if not Path(path).is_file():
            raise HealthForgeError(f"mapping file '{path}' does not exist")
        frame = pd.read_csv(path, dtype=str)
    for column in (key, value):
        if column not in frame.columns:
            raise HealthForgeError(
                f"mapping file '{path}' has no column '{column}'",
                f"its columns are: {', '.join(frame.columns)}",
            )
    rows = frame[[key, value]].dropna()
    return tuple((_key(k), str(v)) for k, v in zip(rows[key], rows[value], strict=True))


# -- schema-level helpers ---------------------------------------------------------------


def derived_of(schema: Schema) -> list[DerivedColumn]:
    """The schema's derived columns (empty for schemas saved before they existed)."""
    return list(getattr(schema, "derived", None) or [])


def find_derived(schema: Schema, name: str) -> DerivedColumn | None:
    return next((d for d in derived_of(schema) if d.name == name), None)


def add_derived(df: pd.DataFrame, schema: Schema) -> pd.DataFrame:
    """``df`` with the schema's derived columns appended (those whose source is in ``df``)."""
    specs = [d for d in derived_of(schema) if d.source in df.columns and d.name not in df.columns]
    if not specs:
        return df
    extra = pd.DataFrame({d.name: d.compute(df[d.source]) for d in specs}, index=df.index)
    return pd.concat([df, extra], axis=1)


def with_derived(schema: Schema, derived: list[DerivedColumn]) -> Schema:
    """A copy of ``schema`` with ``derived`` added (replacing columns of the same name)."""
    names = {d.name for d in derived}
    kept = [d for d in derived_of(schema) if d.name not in names]
    # replace(), not Schema(...): schema.py imports this module, so no import back
    return replace(
        schema,
        columns=list(schema.columns),
        notes=list(schema.notes),
        derived=kept + list(derived),
    )


def add_demographics(
    schema: Schema,
    age: str | None = "age",
    age_bins: tuple[float, ...] | list[float] = DEFAULT_AGE_BINS,
    age_labels: list[str] | None = None,
    birthplace: str | None = None,
    region_file: str = US_REGIONS_FILE,
    region_level: str = "region",
) -> Schema:
    """Add ``age_group`` (from ``age``) and ``region`` (from ``birthplace``) to ``schema``.

    Columns not in the schema are skipped, so the helper is safe on any table.
    ``region_level`` picks the mapping file's label column (``region`` or ``division``).
    """
    derived = []
    if age is not None and age in schema and schema[age].is_numeric:
        derived.append(
            DerivedColumn(
                name="age_group",
                source=age,
                bins=[float(e) for e in age_bins],
                labels=age_labels,
                description=f"age groups of '{age}', left-closed bins",
            )
        )
    if birthplace is not None and birthplace in schema:
        derived.append(
            DerivedColumn(
                name="region",
                source=birthplace,
                mapping_file=region_file,
                mapping_value=region_level,
                default=UNKNOWN_REGION,
                description=f"US census {region_level} of '{birthplace}' (FIPS state code)",
            )
        )
    return with_derived(schema, derived) if derived else schema


def bundled_demographics(schema: Schema, dataset: str) -> Schema:
    """The default derived columns of a bundled dataset (NHEFS: age groups, regions)."""
    if dataset in {"nhefs", "nhefs_complete"}:
        return add_demographics(schema, age_bins=NHEFS_AGE_BINS, birthplace="birthplace")
    return schema


def restrict(derived: list[DerivedColumn], columns: dict[str, ColumnSchema]) -> list[DerivedColumn]:
    """The derived columns whose source survives in ``columns`` (after drops)."""
    return [replace(d) for d in derived if d.source in columns and columns[d.source].modelled]
