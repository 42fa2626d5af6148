"""Checking an uploaded table before anything is stored, and profiling it.

An upload is read only from a temporary file the service wrote; its format comes from
the file name's extension and is then checked against the content (a binary file named
``.csv`` is refused), the header is counted before the table is parsed (a CSV with
10,000 columns is refused without building it), and the parsed table is held to the row
limit. The profile is the library's: :func:`healthforge.data.prepare` infers the schema
and screens every column for direct identifiers (:mod:`healthforge.data.phi`).
"""

from __future__ import annotations

import codecs
import csv
import sys
from pathlib import Path
from typing import Any

import pandas as pd

from healthforge.errors import HealthForgeError
from healthforge.service.config import ServiceConfig
from healthforge.service.errors import ServiceError

# extension -> (format, the extension the stored file gets)
# duplicates: a table, one (format, extension) per file type; its rows look alike, no logic repeats
FORMATS = {
    ".csv": ("csv", ".csv"),
    ".tsv": ("tsv", ".tsv"),
    ".tab": ("tsv", ".tsv"),
    ".parquet": ("parquet", ".parquet"),
    ".pq": ("parquet", ".parquet"),
    ".xlsx": ("excel", ".xlsx"),
}
SNIFF_BYTES = 64 * 1024
TOO_LARGE = 413
UNSUPPORTED = 415


def upload_format(filename: str | None) -> tuple[str, str]:
    """(format, stored extension) named by an upload's file name."""
    suffix = Path(filename or "").suffix.lower()
    if suffix not in FORMATS:
        raise ServiceError(
            f"cannot read '{Path(filename or '').name or '(no name)'}': "
            f"unknown file type '{suffix or '(none)'}'",
            f"upload a table as one of {', '.join(sorted(FORMATS))}",
            UNSUPPORTED,
        )
    return FORMATS[suffix]


def check_content(path: Path, fmt: str, config: ServiceConfig) -> None:
    """Refuse an empty file, content of another format, or too many columns."""
    size = path.stat().st_size
    if size == 0:
        raise ServiceError("the uploaded file is empty", "choose the file that holds the table")
    with open(path, "rb") as handle:
        head = handle.read(SNIFF_BYTES)
    if fmt in ("csv", "tsv"):
        _check_text(head, size, fmt)
        columns = _text_columns(path, "\t" if fmt == "tsv" else ",", config.max_columns)
    elif fmt == "parquet":
        if not head.startswith(b"PAR1"):
            raise ServiceError("the file named .parquet is not a Parquet file")
        columns = _parquet_columns(path)
    else:
        if not head.startswith(b"PK\x03\x04"):
            raise ServiceError("the file named .xlsx is not an Excel workbook")
        columns = _excel_columns(path)
    _check_columns(columns, config)


def _check_text(head: bytes, size: int, fmt: str) -> None:
    if b"\x00" in head:
        raise ServiceError(
            f"the file is binary, not {fmt.upper()} text",
            "export the table as UTF-8 CSV, or upload the Parquet/Excel file as it is",
        )
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    try:
        decoder.decode(head, final=size <= SNIFF_BYTES)
    except UnicodeDecodeError:
        raise ServiceError(
            "the file is not UTF-8 text", "save it as UTF-8 CSV, or upload Parquet"
        ) from None


def _text_columns(path: Path, sep: str, limit: int) -> int:
    """Columns of the header line, counted without reading further than the limit."""
    csv.field_size_limit(sys.maxsize)
    with open(path, encoding="utf-8-sig", newline="", errors="replace") as handle:
        try:
            header = next(csv.reader(handle, delimiter=sep))
        except StopIteration:
            raise ServiceError("the uploaded file is empty") from None
        except csv.Error as exc:
            raise ServiceError(f"the header line cannot be read: {exc}") from None
    return len(header)


def _parquet_columns(path: Path) -> int:
    import pyarrow.parquet as pq

    try:
        return len(pq.read_schema(path).names)
    except Exception as exc:  # a damaged footer, a truncated file
        raise ServiceError(f"the Parquet file cannot be read: {_first_line(exc)}") from None


def _excel_columns(path: Path) -> int:
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True)
        sheet = book.worksheets[0]
        columns = int(sheet.max_column or 0)
        book.close()
    except Exception as exc:  # a zip that is not a workbook, a damaged sheet
        raise ServiceError(f"the Excel file cannot be read: {_first_line(exc)}") from None
    return columns


def _check_columns(columns: int, config: ServiceConfig) -> None:
    if columns > config.max_columns:
        raise ServiceError(
            f"the table has {columns:,} columns; this service accepts at most "
            f"{config.max_columns:,}",
            "upload the columns you need (an administrator can raise --max-columns)",
            TOO_LARGE,
        )


def load_checked(path: Path, config: ServiceConfig) -> pd.DataFrame:
    """The table of a checked upload, held to the row and column limits."""
    from healthforge.data import load_table

    try:
        frame = load_table(path)
    except HealthForgeError as exc:
        message = exc.message.replace(f"'{path}'", "the uploaded file").replace(str(path), "it")
        raise ServiceError(message, exc.hint) from None
    _check_columns(frame.shape[1], config)
    if len(frame) > config.max_rows:
        raise ServiceError(
            f"the table has {len(frame):,} rows; this service accepts at most {config.max_rows:,}",
            "upload a sample (an administrator can raise --max-rows)",
            TOO_LARGE,
        )
    return frame


def profile(
    frame: pd.DataFrame, target: str | None = None, schema: Any = None
) -> tuple[dict[str, Any], Any]:
    """The profile (schema summary, identifier findings, notices; no data rows) of a
    table, and its :class:`~healthforge.data.Schema` (``schema`` checked, else inferred)."""
    from healthforge.data import prepare

    try:
        prepared = prepare(frame, schema, target=target)
    except HealthForgeError as exc:
        raise ServiceError(exc.message, exc.hint) from None
    schema = prepared.schema
    columns = [
        {
            "name": c.name,
            "kind": c.kind,
            "role": c.role,
            "missing_rate": round(float(c.missing_rate), 4),
            "domain": _domain(c),
            "reason": _reason(c),
        }
        for c in schema.columns
    ]
    found = {
        "rows": len(frame),
        "columns": frame.shape[1],
        "target": schema.target,
        "schema": columns,
        "phi": [{"column": c.name, "reason": _reason(c)} for c in schema.identifiers],
        "quasi_identifiers": schema.quasi_identifiers(),
        "notices": prepared.notices(),
    }
    return found, schema


def _reason(column: Any) -> str | None:
    if column.role == "identifier" and not column.reason:
        return "marked as an identifier in the reviewed schema"
    return column.reason


def _domain(column: Any) -> str:
    if column.role == "identifier":
        return ""  # an identifier's values are never shown back
    if column.categories is not None:
        shown = ", ".join(map(str, column.categories[:6]))
        more = len(column.categories) - 6
        return shown + (f", ... (+{more})" if more > 0 else "")
    if column.minimum is not None and column.maximum is not None:
        if column.kind == "datetime":  # stored as days since 1970-01-01
            first, last = (
                pd.Timestamp(0) + pd.Timedelta(days=d) for d in (column.minimum, column.maximum)
            )
            return f"{first:%Y-%m-%d} .. {last:%Y-%m-%d}"
        return f"{column.minimum:g} .. {column.maximum:g}"
    return ""


def _first_line(exc: Exception) -> str:
    text = str(exc)
    return text.splitlines()[0][:200] if text else type(exc).__name__
