"""The Ray backend writes the same bytes as the local one, and a killed worker never
leaves a silently incomplete dataset. Embedded Ray with 2 CPUs; skipped without ray."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from healthforge.data import load_table
from healthforge.data.partitioned import MANIFEST, read_manifest
from healthforge.distributed import sample_to_folder
from healthforge.errors import HealthForgeError
from healthforge.generators import CHUNK_ROWS, Generator
from healthforge.pipeline import RunSpec, run

ROWS = 3 * CHUNK_ROWS + 777


def _executor(workers: int, retries: int = 2) -> Any:
    from healthforge.distributed.ray_backend import RayExecutor

    return RayExecutor(workers=workers, retries=retries)


def _shard_bytes(folder: Path) -> list[bytes]:
    return [(folder / s["file"]).read_bytes() for s in read_manifest(folder)["shards"]]


def test_ray_shards_are_the_local_bytes_for_1_and_2_workers(
    ray_runtime: Any, fitted: Generator, tmp_path: Path
) -> None:
    local = tmp_path / "local"
    sample_to_folder(fitted, ROWS, local, seed=9, conditions=["smoker=yes"], shard_rows=CHUNK_ROWS)
    for workers in (1, 2):
        folder = tmp_path / f"ray{workers}"
        sample_to_folder(
            fitted,
            ROWS,
            folder,
            seed=9,
            conditions=["smoker=yes"],
            shard_rows=CHUNK_ROWS,
            executor=_executor(workers),
        )
        assert _shard_bytes(folder) == _shard_bytes(local)
        assert (folder / MANIFEST).read_bytes() == (local / MANIFEST).read_bytes()


def test_pipeline_partitioned_run_on_ray_matches_local(ray_runtime: Any, tmp_path: Path) -> None:
    def spec(folder: Path) -> RunSpec:
        return RunSpec.from_dict(
            {
                "data": {"source": "bundled:icu"},
                "generator": {"name": "gaussian_copula"},
                "rows": CHUNK_ROWS + 10,
                "seed": 4,
                "privacy_filter": True,
                "evaluation": {"n_estimators": 20},
                "outputs": {
                    "synthetic": str(folder),
                    "partitioned": True,
                    "shard_rows": CHUNK_ROWS,
                },
            }
        )

    local = run(spec(tmp_path / "local"))
    remote = run(spec(tmp_path / "ray"), executor=_executor(2))
    assert _shard_bytes(tmp_path / "ray") == _shard_bytes(tmp_path / "local")
    assert remote.rows == local.rows == CHUNK_ROWS + 10
    assert remote.evaluation.summary == local.evaluation.summary
    assert remote.filter_result.removed == local.filter_result.removed


def _parent(pid: int) -> int:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0
    return int(stat.rsplit(")", 1)[1].split()[1])


def _ours(pid: int) -> bool:
    """Whether ``pid`` descends from this test process (the embedded Ray's raylet started
    it), not from another user's Ray on the machine."""
    for _ in range(6):
        pid = _parent(pid)
        if pid == os.getpid():
            return True
        if pid <= 1:
            return False
    return False


def _task_workers() -> list[int]:
    """Our Ray worker processes busy with a task (Ray titles them ``ray::_call``)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if cmdline.startswith(b"ray::_call") and _ours(int(entry.name)):
            found.append(int(entry.name))
    return found


def _kill_one_worker_soon(killed: list[int], stop: threading.Event) -> None:
    deadline = time.monotonic() + 60
    while not stop.is_set() and time.monotonic() < deadline:
        pids = _task_workers()
        if pids:
            os.kill(pids[0], signal.SIGKILL)
            killed.append(pids[0])
            return
        time.sleep(0.02)


def _sample_while_killing(fitted: Generator, folder: Path, retries: int) -> list[int]:
    killed: list[int] = []
    stop = threading.Event()
    killer = threading.Thread(target=_kill_one_worker_soon, args=(killed, stop))
    killer.start()
    try:
        sample_to_folder(
            fitted,
            8 * CHUNK_ROWS,
            folder,
            seed=3,
            shard_rows=CHUNK_ROWS,
            executor=_executor(2, retries=retries),
        )
    finally:
        stop.set()
        killer.join()
    return killed


def test_killed_worker_without_retries_fails_clearly_and_leaves_no_manifest(
    ray_runtime: Any, fitted: Generator, tmp_path: Path
) -> None:
    folder = tmp_path / "out"
    with pytest.raises(HealthForgeError, match=r"shard \d+ failed: the Ray worker .* died"):
        _sample_while_killing(fitted, folder, retries=0)
    assert not (folder / MANIFEST).exists()
    with pytest.raises(HealthForgeError, match="incomplete"):
        load_table(folder)


def test_killed_worker_is_retried_and_the_output_is_complete_and_identical(
    ray_runtime: Any, fitted: Generator, tmp_path: Path
) -> None:
    killed = _sample_while_killing(fitted, tmp_path / "ray", retries=2)
    assert killed, "no Ray worker was found running a shard"
    sample_to_folder(fitted, 8 * CHUNK_ROWS, tmp_path / "local", seed=3, shard_rows=CHUNK_ROWS)
    assert _shard_bytes(tmp_path / "ray") == _shard_bytes(tmp_path / "local")
    rows = load_table(tmp_path / "ray")
    pd.testing.assert_frame_equal(rows, fitted.sample(8 * CHUNK_ROWS, seed=3))
