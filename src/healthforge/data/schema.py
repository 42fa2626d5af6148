"""A typed, serialisable description of a table: what each column is and how to treat it.

The schema is the contract between data, generators and evaluation. It is inferred
from data (:func:`healthforge.data.infer.infer_schema`), saved as YAML or JSON for the
user to edit, and read back with :meth:`Schema.load`.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from healthforge.data.derived import DerivedColumn, restrict
from healthforge.errors import HealthForgeError

Kind = Literal["continuous", "integer", "categorical", "ordinal", "boolean", "datetime", "text"]
Role = Literal["identifier", "quasi_identifier", "sensitive", "target", "feature"]

KINDS: tuple[str, ...] = (
    "continuous",
    "integer",
    "categorical",
    "ordinal",
    "boolean",
    "datetime",
    "text",
)
ROLES: tuple[str, ...] = ("identifier", "quasi_identifier", "sensitive", "target", "feature")
NUMERIC_KINDS = frozenset({"continuous", "integer", "datetime"})
DISCRETE_KINDS = frozenset({"categorical", "ordinal", "boolean"})
SCHEMA_VERSION = 1


@dataclass
class ColumnSchema:
    """One column.

    ``minimum``/``maximum`` are numbers for numeric kinds and days since 1970-01-01 for
    datetimes; ``categories`` lists the observed values of discrete kinds, spelled and
    typed as in the data. ``dtype`` is the pandas dtype the column is written back as.
    ``labels`` maps codes to readable names (``{0: male, 1: female}``): conditions
    accept either, output keeps the codes unless labels are asked for.
    """

    name: str
    kind: Kind
    role: Role = "feature"
    dtype: str = "float64"
    missing_rate: float = 0.0
    minimum: float | None = None
    maximum: float | None = None
    decimals: int | None = None
    categories: list[Any] | None = None
    datetime_format: str | None = None
    reason: str | None = None
    labels: dict[Any, str] | None = None

    def __post_init__(self) -> None:
        if self.labels is not None and isinstance(self.labels, dict):
            # JSON keys are strings: give each key the type of the category it names
            self.labels = {_label_key(k, self.categories): str(v) for k, v in self.labels.items()}

    @property
    def is_numeric(self) -> bool:
        return self.kind in NUMERIC_KINDS

    @property
    def is_discrete(self) -> bool:
        return self.kind in DISCRETE_KINDS

    @property
    def modelled(self) -> bool:
        """Identifiers are never modelled; free text is not modelled by tabular generators."""
        return self.role != "identifier" and self.kind != "text"

    def validate(self) -> None:
        """Raise :class:`HealthForgeError` when the column description is inconsistent."""
        where = f"schema column '{self.name}'"
        if self.kind not in KINDS:
            raise HealthForgeError(
                f"{where} has unknown kind '{self.kind}'", f"use one of: {', '.join(KINDS)}"
            )
        if self.role not in ROLES:
            raise HealthForgeError(
                f"{where} has unknown role '{self.role}'", f"use one of: {', '.join(ROLES)}"
            )
        if not 0.0 <= float(self.missing_rate) <= 1.0:
            raise HealthForgeError(f"{where} has missing_rate {self.missing_rate} outside [0, 1]")
        if self.is_discrete and self.modelled and not self.categories:
            raise HealthForgeError(
                f"{where} is {self.kind} but lists no categories",
                "add a 'categories' list or let healthforge infer the schema",
            )
        if (
            self.minimum is not None
            and self.maximum is not None
            and float(self.minimum) > float(self.maximum)
        ):
            raise HealthForgeError(
                f"{where} has minimum {self.minimum} above maximum {self.maximum}"
            )
        if self.labels is not None:
            _validate_labels(self, where)

    def code_of_label(self, value: Any) -> Any | None:
        """The code whose label is ``value`` (case-insensitive), or ``None``."""
        wanted = str(value).strip().lower()
        for code, label in (self.labels or {}).items():
            if label.strip().lower() == wanted:
                return code
        return None

    def describe_values(self, limit: int = 20) -> str:
        """``"0 (male), 1 (female)"``: the values conditions accept, for error messages."""
        labels = self.labels or {}
        values = list(self.categories or labels)
        parts = [f"{v} ({labels[v]})" if v in labels else str(v) for v in values[:limit]]
        return ", ".join(parts) + (", ..." if len(values) > limit else "")


def _label_key(key: Any, categories: list[Any] | None) -> Any:
    """``key`` as the category it names (``"1"`` -> ``1``), else a number or as given."""
    number = as_float(key)
    for category in categories or []:
        if str(category) == str(key) or (number is not None and as_float(category) == number):
            return category
    if number is None:
        return key
    return int(number) if number.is_integer() else number


def as_float(value: Any) -> float | None:
    """``value`` as a float (``"1"`` -> ``1.0``, ``True`` -> ``1.0``), or None when it is
    not a number."""
    if isinstance(value, bool):
        return float(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _validate_labels(column: ColumnSchema, where: str) -> None:
    labels = column.labels
    if not isinstance(labels, dict) or not labels:
        raise HealthForgeError(f"{where} has 'labels' that are not a mapping of code: label")
    if column.is_discrete and column.categories:
        unknown = [k for k in labels if k not in column.categories]
        if unknown:
            raise HealthForgeError(
                f"{where} labels codes that are not among its categories: "
                + ", ".join(map(str, unknown)),
                "its categories are: " + ", ".join(map(str, column.categories[:20])),
            )
    spelled = [v.strip().lower() for v in labels.values()]
    if any(not v for v in spelled) or len(set(spelled)) != len(spelled):
        raise HealthForgeError(f"{where} has empty or repeated labels (case is ignored)")
    # a label spelling another code would make a condition ambiguous
    codes = {str(k).strip().lower(): k for k in labels}
    for code, label in labels.items():
        other = codes.get(label.strip().lower())
        if other is not None and other != code:
            raise HealthForgeError(f"{where}: label '{label}' is also the spelling of code {other}")


@dataclass
class Schema:
    """All columns of a table, in order, plus table-level settings.

    ``derived`` lists columns computed from a modelled column after sampling (age
    groups, regions; see :mod:`healthforge.data.derived`): never modelled, always
    consistent with their source, and usable in conditions.
    """

    columns: list[ColumnSchema]
    version: int = SCHEMA_VERSION
    source: str | None = None
    notes: list[str] = field(default_factory=list)
    derived: list[DerivedColumn] = field(default_factory=list)

    def __post_init__(self) -> None:
        names = [c.name for c in self.columns]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise HealthForgeError(f"schema lists columns more than once: {', '.join(dupes)}")
        targets = [c.name for c in self.columns if c.role == "target"]
        if len(targets) > 1:
            raise HealthForgeError(
                f"schema marks more than one target column: {', '.join(targets)}",
                "keep role 'target' on one column",
            )
        for column in self.columns:
            column.validate()
        by_name = {c.name: c for c in self.columns}
        derived_names = [d.name for d in self.derived]
        if len(set(derived_names)) != len(derived_names):
            raise HealthForgeError("schema lists a derived column more than once")
        for derived in self.derived:
            derived.validate(by_name)

    def restricted_derived(self, columns: list[ColumnSchema]) -> list[DerivedColumn]:
        """The derived columns still computable from ``columns`` (e.g. after drops)."""
        return restrict(getattr(self, "derived", []), {c.name: c for c in columns})

    # -- lookup -------------------------------------------------------------------
    def __getitem__(self, name: str) -> ColumnSchema:
        for column in self.columns:
            if column.name == name:
                return column
        raise HealthForgeError(f"column '{name}' is not in the schema")

    def __contains__(self, name: object) -> bool:
        return any(c.name == name for c in self.columns)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def modelled(self) -> list[ColumnSchema]:
        return [c for c in self.columns if c.modelled]

    @property
    def modelled_names(self) -> list[str]:
        return [c.name for c in self.modelled]

    @property
    def identifiers(self) -> list[ColumnSchema]:
        return [c for c in self.columns if c.role == "identifier"]

    @property
    def target(self) -> str | None:
        return next((c.name for c in self.columns if c.role == "target"), None)

    def with_target(self, name: str | None) -> Schema:
        """A copy with ``name`` as the only target (previous target becomes a feature)."""
        if name is None:
            return self
        if name not in self:
            raise HealthForgeError(
                f"target column '{name}' is not in the data",
                f"columns are: {', '.join(self.names[:20])}",
            )
        if self[name].role == "identifier":
            raise HealthForgeError(f"target column '{name}' is an identifier and is not modelled")
        columns = []
        for column in self.columns:
            data = asdict(column)
            if column.name == name:
                data["role"] = "target"
            elif column.role == "target":
                data["role"] = "feature"
            columns.append(ColumnSchema(**data))
        return Schema(
            columns=columns,
            source=self.source,
            notes=list(self.notes),
            derived=self.restricted_derived(columns),
        )

    def quasi_identifiers(self) -> list[str]:
        return [c.name for c in self.columns if c.role == "quasi_identifier"]

    # -- serialisation ------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        columns = []
        for column in self.columns:
            data = {k: v for k, v in asdict(column).items() if v is not None}
            columns.append(data)
        out = {
            "version": self.version,
            "source": self.source,
            "notes": list(self.notes),
            "columns": columns,
        }
        if getattr(
            self, "derived", None
        ):  # omitted when empty: files stay as they were before derived columns
            out["derived"] = [d.to_dict() for d in self.derived]
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Schema:
        if not isinstance(data, dict) or not isinstance(data.get("columns"), list):
            raise HealthForgeError(
                "schema file has no 'columns' list",
                "write one with `healthforge profile DATA --schema-out schema.yaml` and edit it",
            )
        version = int(data.get("version", SCHEMA_VERSION))
        if version != SCHEMA_VERSION:
            raise HealthForgeError(
                f"schema version {version} is not supported "
                f"(this healthforge reads version {SCHEMA_VERSION})"
            )
        known = set(ColumnSchema.__dataclass_fields__)
        columns = []
        for raw in data["columns"]:
            if not isinstance(raw, dict) or "name" not in raw or "kind" not in raw:
                raise HealthForgeError("every schema column needs at least 'name' and 'kind'")
            unknown = set(raw) - known
            if unknown:
                raise HealthForgeError(
                    f"schema column '{raw['name']}' has unknown fields: "
                    + ", ".join(sorted(unknown)),
                    f"allowed fields: {', '.join(sorted(known))}",
                )
            columns.append(ColumnSchema(**raw))
        derived = data.get("derived") or []
        if not isinstance(derived, list):
            raise HealthForgeError("schema 'derived' must be a list of derived columns")
        return cls(
            columns=columns,
            version=version,
            source=data.get("source"),
            notes=list(data.get("notes") or []),
            derived=[DerivedColumn.from_dict(d) for d in derived],
        )

    def dumps(self, fmt: Literal["yaml", "json"] = "yaml") -> str:
        if fmt == "json":
            return json.dumps(self.to_dict(), indent=2, default=str)
        return yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True)

    def save(self, path: str | Path) -> None:
        from healthforge.data.io import atomic_write_text

        path = Path(path)
        fmt: Literal["yaml", "json"] = "json" if path.suffix.lower() == ".json" else "yaml"
        atomic_write_text(path, self.dumps(fmt))

    @classmethod
    def load(cls, path: str | Path) -> Schema:
        path = Path(path)
        if not path.is_file():
            raise HealthForgeError(f"schema file '{path}' does not exist")
        text = path.read_text(encoding="utf-8")
        try:
            data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
        except (json.JSONDecodeError, yaml.YAMLError) as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise HealthForgeError(
                f"schema file '{path}' is not valid YAML/JSON: {first}"
            ) from None
        return cls.from_dict(data)
