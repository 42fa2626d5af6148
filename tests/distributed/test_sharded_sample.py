"""Sharded sampling on the local backend: the same rows as one local sample, the
conditions, copy guard and privacy filter applied per shard, and no manifest on failure."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from healthforge.data import load_table
from healthforge.data.partitioned import MANIFEST, read_manifest
from healthforge.distributed import LocalExecutor, sample_to_folder
from healthforge.distributed.executor import Executor, Outcome
from healthforge.errors import HealthForgeError
from healthforge.generators import CHUNK_ROWS, Generator, get_generator
from healthforge.privacy.filter import PrivacyFilter
from tests.distributed.conftest import small_table

ROWS = 3 * CHUNK_ROWS + 1234  # four shards, the last one short


def test_shards_laid_end_to_end_are_one_local_sample(fitted: Generator, tmp_path: Path) -> None:
    result = sample_to_folder(fitted, ROWS, tmp_path / "out", seed=5, shard_rows=CHUNK_ROWS)
    assert result.rows == ROWS and len(result.shards) == 4
    pd.testing.assert_frame_equal(load_table(tmp_path / "out"), fitted.sample(ROWS, seed=5))


def test_same_seed_same_bytes_other_seed_other_bytes(fitted: Generator, tmp_path: Path) -> None:
    def hashes(name: str, seed: int) -> list[str]:
        folder = tmp_path / name
        sample_to_folder(fitted, ROWS, folder, seed=seed, shard_rows=2 * CHUNK_ROWS)
        return [s["sha256"] for s in read_manifest(folder, verify=True)["shards"]]

    assert hashes("a", 5) == hashes("b", 5)
    assert hashes("a", 5)[0] != hashes("c", 6)[0]


def test_conditions_hold_in_every_shard(fitted: Generator, tmp_path: Path) -> None:
    folder = tmp_path / "out"
    sample_to_folder(
        fitted,
        2 * CHUNK_ROWS,
        folder,
        seed=2,
        conditions=["sex=female", "age>=60"],
        shard_rows=CHUNK_ROWS,
    )
    rows = load_table(folder)
    assert len(rows) == 2 * CHUNK_ROWS
    assert (rows["sex"] == "female").all() and (rows["age"] >= 60).all()


def test_copy_guard_redraws_rare_training_rows_in_every_shard(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    table = pd.DataFrame({c: rng.choice(["p", "q", "r"], 60) for c in "abc"})
    model = get_generator("independent", seed=0).fit(table)
    counts = table.value_counts()
    rare = {tuple(i) for i in counts[counts < 2].index}
    assert rare  # the table has unique patterns for the guard to protect
    result = sample_to_folder(
        model, 2 * CHUNK_ROWS, tmp_path / "out", seed=1, shard_rows=CHUNK_ROWS
    )
    rows = load_table(tmp_path / "out")
    drawn = set(map(tuple, rows[list("abc")].itertuples(index=False)))
    assert not drawn & rare
    assert result.sample_stats["rejected_copies"] > 0


def test_privacy_filter_applies_per_shard(fitted: Generator, tmp_path: Path) -> None:
    train, holdout = small_table(300, seed=1), small_table(100, seed=2)
    guard = PrivacyFilter(train, holdout, fitted.schema_)
    folder = tmp_path / "out"
    result = sample_to_folder(
        fitted, CHUNK_ROWS + 500, folder, seed=3, guard=guard, shard_rows=CHUNK_ROWS
    )
    rows = load_table(folder)
    assert len(rows) == CHUNK_ROWS + 500
    _, report = guard.apply(rows)
    assert report.removed == 0  # every written row passes the filter
    assert result.filter_result.removed > 0  # and the filter did remove (and redraw) some
    assert read_manifest(folder)["filter"]["removed"] == result.filter_result.removed


class _FailsShard(Executor):
    """Runs the shards here but reports shard 1 as lost, as a dead worker would."""

    name = "failing"

    def map(self, fn: Any, shared: Any, items: list[tuple[str, Any]], **kw: Any) -> list[Outcome]:
        outcomes = LocalExecutor().map(fn, shared, items)
        outcomes[1] = Outcome(outcomes[1].key, "failed", error="the worker died")
        return outcomes


def test_a_lost_shard_fails_the_run_and_writes_no_manifest(
    fitted: Generator, tmp_path: Path
) -> None:
    folder = tmp_path / "out"
    with pytest.raises(HealthForgeError, match="shard 1 failed: the worker died"):
        sample_to_folder(
            fitted, ROWS, folder, seed=5, shard_rows=CHUNK_ROWS, executor=_FailsShard()
        )
    assert not (folder / MANIFEST).exists()
    with pytest.raises(HealthForgeError, match="incomplete"):
        load_table(folder)
