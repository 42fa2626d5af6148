"""A partitioned Parquet dataset: one file per shard and a manifest written last.

A folder of synthetic rows written by several workers is complete only when its
manifest exists: the manifest lists every shard file with its rows, size and sha256, and
is written (atomically) after every shard file is in place. Each shard file is itself
written to a temporary name and renamed, so a killed worker leaves no file under a
shard's name. A reader refuses a folder without a manifest, a folder whose listed files
are missing or changed size, and (with ``verify``) one whose bytes differ from the hashes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from healthforge.data.atomic import atomic_path, atomic_write_text
from healthforge.data.parquet import write_parquet_chunks
from healthforge.errors import HealthForgeError

MANIFEST = "_manifest.json"
IN_PROGRESS = "_writing"  # from prepare_folder until the manifest: the run is not complete
FORMAT = "healthforge-partitioned-parquet"
FORMAT_VERSION = 1
SHARD_GLOB = "part-*.parquet"


@dataclass(frozen=True)
class ShardFile:
    """One written shard: its file name inside the folder, rows, bytes and sha256."""

    index: int
    file: str
    rows: int
    bytes: int
    sha256: str


def shard_name(index: int) -> str:
    return f"part-{index:06d}.parquet"


def is_partitioned(path: str | Path) -> bool:
    """Whether ``path`` names a partitioned folder: an existing folder, or a name with no
    file extension (``synthetic/``, ``out/rows``)."""
    path = Path(path)
    return path.is_dir() or (not path.suffix and not str(path).startswith("bundled:"))


def prepare_folder(folder: str | Path) -> Path:
    """Create ``folder`` (its parent must exist) and remove a previous run's manifest and
    shard files, the manifest first: from now until the new manifest, the folder reads as
    incomplete."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise HealthForgeError(f"'{folder}' is a file, not a folder", "choose a folder name")
    if not folder.parent.exists():
        raise HealthForgeError(f"folder '{folder.parent}' does not exist", "create it first")
    folder.mkdir(exist_ok=True)
    (folder / MANIFEST).unlink(missing_ok=True)
    (folder / IN_PROGRESS).write_text("a partitioned dataset is being written here\n")
    for old in folder.glob(SHARD_GLOB):
        old.unlink()
    return folder


def is_partitioned_folder(path: Path) -> bool:
    """Whether the folder ``path`` holds (or held, or is receiving) a partitioned dataset."""
    names = (MANIFEST, IN_PROGRESS)
    return any((path / n).exists() for n in names) or any(path.glob(SHARD_GLOB))


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_shard(chunks: Iterable[pd.DataFrame], folder: str | Path, index: int) -> ShardFile:
    """Write ``chunks`` as shard ``index`` of ``folder`` (temporary file, then rename)."""
    path = Path(folder) / shard_name(index)
    with atomic_path(path) as tmp:
        rows = write_parquet_chunks(chunks, tmp)
        if rows is None:
            raise HealthForgeError(f"shard {index} has no rows to write")
        sha = file_sha256(tmp)
        size = tmp.stat().st_size
    return ShardFile(index=index, file=path.name, rows=rows, bytes=size, sha256=sha)


def write_manifest(folder: str | Path, shards: list[ShardFile], **extra: Any) -> Path:
    """Write the manifest of ``folder`` last: it makes the dataset complete."""
    folder = Path(folder)
    shards = sorted(shards, key=lambda s: s.index)
    if [s.index for s in shards] != list(range(len(shards))):
        raise HealthForgeError(f"the shards of '{folder}' are not numbered 0..{len(shards) - 1}")
    for shard in shards:
        path = folder / shard.file
        if not path.is_file() or path.stat().st_size != shard.bytes:
            raise HealthForgeError(f"shard file {path} is missing or incomplete")
    manifest = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "rows": sum(s.rows for s in shards),
        "shards": [asdict(s) for s in shards],
        **extra,
    }
    atomic_write_text(folder / MANIFEST, json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    (folder / IN_PROGRESS).unlink(missing_ok=True)
    return folder / MANIFEST


def read_manifest(folder: str | Path, verify: bool = False) -> dict[str, Any]:
    """The manifest of a complete folder; refuses an incomplete or altered one.

    ``verify``: also re-hash every shard file (reads every byte)."""
    folder = Path(folder)
    path = folder / MANIFEST
    if not path.is_file():
        raise HealthForgeError(
            f"'{folder}' has no {MANIFEST}: the partitioned dataset is incomplete "
            "(its run failed or is still writing)",
            "run the sampling again; a complete folder ends with its manifest",
        )
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError:
        raise HealthForgeError(f"{path} is not valid JSON", "run the sampling again") from None
    if manifest.get("format") != FORMAT or manifest.get("version") != FORMAT_VERSION:
        raise HealthForgeError(f"{path} is not a healthforge manifest of version {FORMAT_VERSION}")
    for shard in manifest["shards"]:
        file = folder / shard["file"]
        if not file.is_file() or file.stat().st_size != shard["bytes"]:
            raise HealthForgeError(
                f"shard file {file} listed in the manifest is missing or changed size",
                "the folder was altered after it was written: sample it again",
            )
        if verify and file_sha256(file) != shard["sha256"]:
            raise HealthForgeError(
                f"shard file {file} does not match its sha256 in the manifest",
                "the folder was altered after it was written: sample it again",
            )
    return manifest


def shard_paths(folder: str | Path, verify: bool = False) -> list[Path]:
    """The shard files of a complete folder, in order."""
    manifest = read_manifest(folder, verify=verify)
    return [Path(folder) / s["file"] for s in manifest["shards"]]


def dataset(folder: str | Path) -> Any:
    """A :class:`pyarrow.dataset.Dataset` over the shards of a complete folder (streamed
    reads: ``to_batches``, column projection, filters)."""
    import pyarrow.dataset as ds

    return ds.dataset([str(p) for p in shard_paths(folder)], format="parquet")


def iter_batches(folder: str | Path, columns: list[str] | None = None) -> Iterator[pd.DataFrame]:
    """The rows of a complete folder as pandas frames of at most one row group each."""
    for batch in dataset(folder).to_batches(columns=columns):
        yield batch.to_pandas()


def load_partitioned(folder: str | Path) -> pd.DataFrame:
    """Every row of a complete folder, in shard order, as one frame."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    tables = [pq.read_table(p) for p in shard_paths(folder)]
    return pa.concat_tables(tables).to_pandas()
