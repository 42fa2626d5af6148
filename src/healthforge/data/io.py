"""Reading tables from files or bundled datasets, and writing them atomically.

An output is written to a temporary file next to its destination and moved into
place only when complete, so a failure never leaves a partial or clobbered file.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from pathlib import Path

import pandas as pd

from healthforge.data.atomic import atomic_path, atomic_write_text
from healthforge.data.parquet import write_parquet_chunks
from healthforge.errors import HealthForgeError

__all__ = [
    "NA_MARKERS",
    "WRITTEN_NA",
    "atomic_path",
    "atomic_write_text",
    "load_table",
    "write_chunks",
    "write_table",
]

BUNDLED_PREFIX = "bundled:"
TABLE_FORMATS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".txt": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".xlsx": "excel",
    ".xls": "excel",
}
OUTPUT_FORMATS = {".csv": "csv", ".tsv": "tsv", ".parquet": "parquet", ".pq": "parquet"}

# The text cells of a CSV/TSV/Excel file read as missing: pandas' defaults (R's "NA",
# "N/A", "NULL", "nan", an empty cell, ...) except "None", a category in clinical tables
# (ICU's coma: None/Stupor/Coma; no complication, no smoking) that pandas would silently
# turn into a missing value - and R's read.csv keeps as a level.
NA_MARKERS: tuple[str, ...] = (
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND",
    "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "n/a", "nan", "null",
)  # fmt: skip
# A table healthforge wrote (write_table/write_chunks) marks a missing cell by an empty
# field and nothing else, so reading it back with these keeps every written level.
WRITTEN_NA: tuple[str, ...] = ("",)


def table_format(path: str | Path, output: bool = False) -> str:
    """The format a path's extension names; ``.gz`` after a text format is allowed on input."""
    path = Path(path)
    suffixes = [s.lower() for s in path.suffixes]
    if not output and len(suffixes) >= 2 and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    suffix = suffixes[-1] if suffixes else ""
    formats = OUTPUT_FORMATS if output else TABLE_FORMATS
    if suffix not in formats:
        kinds = ", ".join(sorted(formats))
        what = "write" if output else "read"
        raise HealthForgeError(
            f"cannot {what} '{path.name}': unknown file type '{suffix or '(none)'}'",
            f"use one of {kinds}",
        )
    return formats[suffix]


def load_table(source: str | Path, na_values: Sequence[str] = NA_MARKERS) -> pd.DataFrame:
    """Load a CSV/TSV/Parquet/Excel file, or ``bundled:NAME`` from the bundled datasets.

    ``na_values``: the text cells read as missing (CSV/TSV/Excel); :data:`WRITTEN_NA`
    reads a file healthforge wrote back exactly as it was written."""
    text = str(source)
    if text.startswith(BUNDLED_PREFIX):
        from healthforge.data.bundled import get_dataset

        return get_dataset(text[len(BUNDLED_PREFIX) :]).load()
    path = Path(text)
    if not path.exists():
        raise HealthForgeError(
            f"file '{path}' does not exist",
            "check the path, or use a bundled dataset such as bundled:nhefs",
        )
    if path.is_dir():
        from healthforge.data.partitioned import is_partitioned_folder, load_partitioned

        if is_partitioned_folder(path):
            return load_partitioned(path)  # refuses a folder without a complete manifest
        raise HealthForgeError(f"'{path}' is a folder, not a data file")
    fmt = table_format(path)
    if path.stat().st_size == 0:
        raise HealthForgeError(f"file '{path}' is empty")
    try:
        df = _read(path, fmt, list(na_values))
    except HealthForgeError:
        raise
    except Exception as exc:  # parsers raise many types; all mean "not this format"
        detail = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise HealthForgeError(
            f"could not read '{path}' as {fmt.upper()}: {detail}",
            "check that the file's extension matches its content",
        ) from None
    if df.shape[1] == 0:
        raise HealthForgeError(f"file '{path}' has no columns")
    if df.shape[0] == 0:
        raise HealthForgeError(f"file '{path}' has a header but no rows")
    df.columns = [str(c) for c in df.columns]
    return df


def _read(path: Path, fmt: str, na_values: list[str]) -> pd.DataFrame:
    missing = {"keep_default_na": False, "na_values": na_values}
    if fmt in {"csv", "tsv"}:
        sep = "\t" if fmt == "tsv" else ","
        _check_header(_text_header(path, sep), path)
        return pd.read_csv(path, sep=sep, low_memory=False, **missing)
    if fmt == "parquet":
        import pyarrow.parquet as pq

        names = pq.read_schema(path).names
        _check_header(names, path)
        return pd.read_parquet(path)
    header = pd.read_excel(path, header=None, nrows=1).iloc[0].tolist() if fmt == "excel" else []
    _check_header([str(h) for h in header], path)
    return pd.read_excel(path, **missing)


def _text_header(path: Path, sep: str) -> list[str]:
    import gzip

    opener = gzip.open if path.suffix.lower() == ".gz" else open
    with opener(path, "rt", encoding="utf-8-sig", newline="") as handle:  # type: ignore[operator]
        try:
            return next(csv.reader(handle, delimiter=sep))
        except StopIteration:
            raise HealthForgeError(f"file '{path}' is empty") from None
        except UnicodeDecodeError:
            raise HealthForgeError(
                f"file '{path}' is not UTF-8 text", "save it as UTF-8 CSV, or use Parquet"
            ) from None


def _check_header(names: list[str], path: Path) -> None:
    seen: set[str] = set()
    dupes = sorted({n for n in names if n in seen or seen.add(n)})  # type: ignore[func-returns-value]
    if dupes:
        raise HealthForgeError(
            f"file '{path}' has duplicate column names: {', '.join(dupes)}",
            "rename the columns so each name is unique",
        )


def check_output_path(path: str | Path, force: bool = False) -> Path:
    """Validate a table output path (format from the extension) before any work is done."""
    table_format(path, output=True)
    return check_new_file(path, force)


def check_new_file(path: str | Path, force: bool = False) -> Path:
    """Refuse to overwrite ``path`` without ``force``; its folder must exist."""
    path = Path(path)
    if path.exists() and not force:
        raise HealthForgeError(
            f"'{path}' already exists", "choose another name or pass --force to overwrite it"
        )
    if not path.parent.exists():
        raise HealthForgeError(f"folder '{path.parent}' does not exist", "create it first")
    return path


def write_table(df: pd.DataFrame, path: str | Path) -> None:
    """Write ``df`` atomically in the format the extension names."""
    write_chunks([df], path)


def write_chunks(chunks: Iterable[pd.DataFrame], path: str | Path) -> int:
    """Stream DataFrame chunks into one file atomically; returns the number of rows."""
    path = Path(path)
    fmt = table_format(path, output=True)
    rows = 0
    with atomic_path(path) as tmp:
        if fmt == "parquet":
            written = write_parquet_chunks(chunks, tmp)
            if written is None:
                raise HealthForgeError("nothing to write")
            rows = written
        else:
            sep = "\t" if fmt == "tsv" else ","
            with open(tmp, "w", encoding="utf-8", newline="") as handle:
                for i, chunk in enumerate(chunks):
                    chunk.to_csv(handle, sep=sep, index=False, header=i == 0)
                    rows += len(chunk)
    return rows
