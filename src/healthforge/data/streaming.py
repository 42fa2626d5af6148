"""Parquet data larger than memory, read by streaming: exact statistics in one pass and
a seeded uniform sample, each holding one record batch (plus the sample) at a time.

A source is a ``.parquet`` file, a complete partitioned folder written by healthforge
(its manifest's shards, in order) or a folder of ``.parquet`` files (in name order).
:func:`sample_rows` draws exactly ``n`` rows uniformly without replacement, keeping
their order in the data, the same rows for the same seed; :func:`column_stats` streams
every row once for exact counts, missing values, bounds and (up to a cap) categories.
``profile`` and ``evaluate`` use both; ``generate --fit-rows`` fits on the sample.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from healthforge.errors import HealthForgeError

BATCH_ROWS = 65_536
MAX_CATEGORIES = 1_000  # distinct values kept per column while streaming


def parquet_files(source: str | Path) -> list[Path]:
    """The Parquet files of ``source``, in order (refuses an incomplete partitioned folder)."""
    from healthforge.data.partitioned import is_partitioned_folder, shard_paths

    path = Path(source)
    if not path.exists():
        raise HealthForgeError(f"'{path}' does not exist", "check the path")
    if path.is_file():
        if path.suffix.lower() not in (".parquet", ".pq"):
            raise HealthForgeError(
                f"'{path}' is not a Parquet file: only Parquet is streamed",
                "convert it once (e.g. healthforge datasets export, or pandas.to_parquet)",
            )
        return [path]
    if is_partitioned_folder(path):
        return shard_paths(path)
    files = sorted(p for p in path.iterdir() if p.suffix.lower() in (".parquet", ".pq"))
    if not files:
        raise HealthForgeError(f"folder '{path}' holds no .parquet files")
    return files


def count_rows(files: list[Path]) -> int:
    """Rows of the files, read from their footers (no data read)."""
    import pyarrow.parquet as pq

    return sum(pq.ParquetFile(f).metadata.num_rows for f in files)


def _batches(files: list[Path], columns: list[str] | None = None) -> Any:
    import pyarrow.parquet as pq

    for file in files:
        # pre_buffer (Arrow's default) reads the whole file ahead: 169 MiB for a 128 MiB
        # table in tests/distributed/test_streaming.py; off, one batch at a time (~20 MiB)
        handle = pq.ParquetFile(file, pre_buffer=False, buffer_size=1 << 20)
        yield from handle.iter_batches(batch_size=BATCH_ROWS, columns=columns)


def sample_rows(
    source: str | Path, n: int, seed: int = 0, columns: list[str] | None = None
) -> pd.DataFrame:
    """``n`` rows drawn uniformly without replacement (all rows when there are fewer), in
    the data's order; the same rows for the same ``seed`` and data. Memory: the sample
    and one record batch."""
    import pyarrow as pa

    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise HealthForgeError(f"the sample size must be a positive whole number, not {n!r}")
    files = parquet_files(source)
    total = count_rows(files)
    if total == 0:
        raise HealthForgeError(f"'{source}' has no rows")
    rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, 0x5A4D])
    chosen = np.arange(total) if n >= total else np.sort(rng.choice(total, n, replace=False))
    parts = []
    start = 0
    for batch in _batches(files, columns):
        stop = start + batch.num_rows
        lo, hi = np.searchsorted(chosen, [start, stop])
        if hi > lo:
            parts.append(batch.take(pa.array(chosen[lo:hi] - start)))
        start = stop
    table = pa.Table.from_batches(parts) if parts else None
    if table is None:
        raise HealthForgeError(f"'{source}' has no rows")
    frame = table.to_pandas()
    frame.columns = [str(c) for c in frame.columns]
    return frame


@dataclass
class ColumnStats:
    """One column over every row: counts, bounds, and its values while few enough."""

    rows: int = 0
    missing: int = 0
    minimum: float | None = None
    maximum: float | None = None
    values: set[Any] | None = field(default_factory=set)  # None: more than the cap

    @property
    def missing_rate(self) -> float:
        return self.missing / self.rows if self.rows else 0.0


def column_stats(source: str | Path, columns: list[str] | None = None) -> dict[str, ColumnStats]:
    """Exact statistics of every column in one streamed pass."""
    import pyarrow.compute as pc
    import pyarrow.types as pt

    stats: dict[str, ColumnStats] = {}
    for batch in _batches(parquet_files(source), columns):
        for name, array in zip(batch.schema.names, batch.columns, strict=True):
            s = stats.setdefault(str(name), ColumnStats())
            s.rows += len(array)
            s.missing += array.null_count
            kind = array.type
            if pt.is_floating(kind):
                s.missing += int(pc.sum(pc.is_nan(array)).as_py() or 0)
            numeric = pt.is_integer(kind) or pt.is_floating(kind)
            if numeric and len(array) > array.null_count:
                bounds = pc.min_max(array, skip_nulls=True)
                low, high = bounds["min"].as_py(), bounds["max"].as_py()
                if low is not None and not (isinstance(low, float) and np.isnan(low)):
                    s.minimum = low if s.minimum is None else min(s.minimum, low)
                    s.maximum = high if s.maximum is None else max(s.maximum, high)
            if s.values is not None:
                s.values.update(v for v in pc.unique(array).to_pylist() if v is not None)
                if len(s.values) > MAX_CATEGORIES:
                    s.values = None
    return stats


def streamed_profile(
    source: str | Path,
    sample: int,
    seed: int = 0,
    target: str | None = None,
    drop: list[str] | tuple[str, ...] = (),
    schema: Any = None,
) -> tuple[Any, dict[str, ColumnStats]]:
    """The schema of a table larger than memory: kinds and roles inferred from a seeded
    sample of ``sample`` rows, then missing rates, bounds and categories set from every
    row (streamed). Returns the prepared sample (its schema corrected) and the stats."""
    import dataclasses

    from healthforge.data.prepare import PreparedData, prepare

    prepared = prepare(sample_rows(source, sample, seed), schema, target, list(drop))
    stats = column_stats(source, [c.name for c in prepared.schema.columns])
    columns = []
    for column in prepared.schema.columns:
        s = stats.get(column.name)
        if s is None:
            columns.append(column)
            continue
        changes: dict[str, Any] = {"missing_rate": s.missing_rate}
        if column.minimum is not None and s.minimum is not None:
            changes.update(minimum=float(s.minimum), maximum=float(s.maximum))
        if column.categories is not None and s.values is not None and schema is None:
            known = list(column.categories)
            extra = sorted((v for v in s.values if v not in set(known)), key=str)
            changes["categories"] = known + extra
        columns.append(dataclasses.replace(column, **changes))
    corrected = dataclasses.replace(prepared.schema, columns=columns)
    return PreparedData(prepared.frame, corrected, prepared.excluded), stats
