"""Streaming data frames into one Parquet file: a single table or one shard of many."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pandas as pd


def write_parquet_chunks(chunks: Iterable[pd.DataFrame], path: Path) -> int | None:
    """Write ``chunks`` into one Parquet file at ``path`` (the first chunk's column types
    for all); returns the rows written, ``None`` when there was no chunk (nothing written).
    The caller makes the write atomic (:func:`atomic_path`)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    writer = None
    rows = 0
    try:
        for chunk in chunks:
            table = pa.Table.from_pandas(chunk, preserve_index=False)
            if writer is None:
                writer = pq.ParquetWriter(path, table.schema)
            writer.write_table(table.cast(writer.schema))
            rows += len(chunk)
    finally:
        if writer is not None:
            writer.close()
    return None if writer is None else rows
