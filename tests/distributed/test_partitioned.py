"""The partitioned folder: atomic shard files, a manifest written last, a strict reader."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from healthforge.data import load_table
from healthforge.data.partitioned import (
    MANIFEST,
    load_partitioned,
    prepare_folder,
    read_manifest,
    write_manifest,
    write_shard,
)
from healthforge.errors import HealthForgeError


def _frame(start: int, n: int = 5) -> pd.DataFrame:
    return pd.DataFrame({"x": range(start, start + n), "y": [f"v{i}" for i in range(n)]})


def _written(folder: Path) -> Path:
    prepare_folder(folder)
    shards = [write_shard(iter([_frame(10 * i)]), folder, i) for i in range(3)]
    write_manifest(folder, shards, seed=1)
    return folder


def test_complete_folder_reads_back_in_shard_order(tmp_path: Path) -> None:
    folder = _written(tmp_path / "out")
    manifest = read_manifest(folder, verify=True)
    assert manifest["rows"] == 15 and manifest["seed"] == 1
    expected = pd.concat([_frame(0), _frame(10), _frame(20)], ignore_index=True)
    pd.testing.assert_frame_equal(load_partitioned(folder), expected)
    pd.testing.assert_frame_equal(load_table(folder), expected)


def test_reader_refuses_a_folder_without_manifest(tmp_path: Path) -> None:
    folder = tmp_path / "out"
    prepare_folder(folder)
    write_shard(iter([_frame(0)]), folder, 0)
    with pytest.raises(HealthForgeError, match="incomplete"):
        load_table(folder)


def test_reader_refuses_missing_or_altered_shards(tmp_path: Path) -> None:
    folder = _written(tmp_path / "out")
    shard = folder / "part-000001.parquet"
    data = shard.read_bytes()
    shard.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))  # same size, one bit changed
    read_manifest(folder)  # sizes only: not detected without verify
    with pytest.raises(HealthForgeError, match="sha256"):
        read_manifest(folder, verify=True)
    shard.unlink()
    with pytest.raises(HealthForgeError, match="missing"):
        load_partitioned(folder)


def test_manifest_refuses_gaps_in_the_shards(tmp_path: Path) -> None:
    folder = tmp_path / "out"
    prepare_folder(folder)
    shards = [write_shard(iter([_frame(0)]), folder, i) for i in (0, 2)]
    with pytest.raises(HealthForgeError, match="not numbered"):
        write_manifest(folder, shards)
    assert not (folder / MANIFEST).exists()


def test_failed_shard_leaves_no_file_under_its_name(tmp_path: Path) -> None:
    folder = tmp_path / "out"
    prepare_folder(folder)

    def dies() -> Iterator[pd.DataFrame]:
        yield _frame(0)
        raise RuntimeError("worker lost")

    with pytest.raises(RuntimeError):
        write_shard(dies(), folder, 0)
    assert [p.name for p in folder.iterdir()] == ["_writing"]  # no shard, no temporary file


def test_rewriting_a_folder_drops_the_old_manifest_first(tmp_path: Path) -> None:
    folder = _written(tmp_path / "out")
    prepare_folder(folder)  # a new run starts: the old rows no longer read as complete
    assert not (folder / MANIFEST).exists() and not list(folder.glob("part-*"))
    with pytest.raises(HealthForgeError):
        load_table(folder)


def test_manifest_lists_hashes_of_the_files(tmp_path: Path) -> None:
    import hashlib

    folder = _written(tmp_path / "out")
    manifest = json.loads((folder / MANIFEST).read_text())
    for shard in manifest["shards"]:
        digest = hashlib.sha256((folder / shard["file"]).read_bytes()).hexdigest()
        assert digest == shard["sha256"]
