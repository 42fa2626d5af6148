"""`sample` and `generate` with --backend: folders of shards, the same bytes on each."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from healthforge.cli.app import app
from healthforge.data.partitioned import read_manifest
from healthforge.generators import CHUNK_ROWS, Generator

runner = CliRunner()


def _hashes(folder: Path) -> list[str]:
    return [s["sha256"] for s in read_manifest(folder, verify=True)["shards"]]


def test_sample_to_a_folder_local_and_ray_same_bytes(
    ray_runtime: Any, fitted: Generator, tmp_path: Path
) -> None:
    model = tmp_path / "m.hfm"
    fitted.save(str(model))
    common = ["sample", str(model), "-n", str(2 * CHUNK_ROWS + 5), "--seed", "3"]
    common += ["--shard-rows", str(CHUNK_ROWS)]
    local = runner.invoke(app, [*common, "-o", str(tmp_path / "local")])
    assert local.exit_code == 0, local.output
    assert "as 3 shards" in " ".join(local.output.split())
    ray_args = ["-o", str(tmp_path / "ray"), "--backend", "ray", "--retries", "1"]
    ray = runner.invoke(app, [*common, *ray_args])
    assert ray.exit_code == 0, ray.output
    assert _hashes(tmp_path / "ray") == _hashes(tmp_path / "local")
    again = runner.invoke(app, [*common, "-o", str(tmp_path / "ray"), "--backend", "ray"])
    assert again.exit_code == 2 and "not empty" in again.output


def test_generate_partitioned_local(tmp_path: Path) -> None:
    out = tmp_path / "rows"
    args = ["generate", "bundled:icu", "-g", "gaussian_copula", "-n", "70000", "-o", str(out)]
    result = runner.invoke(
        app, [*args, "--shard-rows", "50000", "--save-spec", str(tmp_path / "s.json")]
    )
    assert result.exit_code == 0, result.output
    assert read_manifest(out)["rows"] == 70000 and len(_hashes(out)) == 2
    first = _hashes(out)
    replay = runner.invoke(app, ["run", str(tmp_path / "s.json"), "--force"])
    assert replay.exit_code == 0, replay.output
    assert _hashes(out) == first


def test_ray_backend_refuses_a_single_file(tmp_path: Path) -> None:
    args = ["generate", "bundled:icu", "-n", "10", "-o", str(tmp_path / "x.csv")]
    result = runner.invoke(app, [*args, "--backend", "ray"])
    assert result.exit_code == 2
    assert "writes a partitioned folder" in result.output
