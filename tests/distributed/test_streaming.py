"""Parquet larger than memory: a seeded uniform sample and exact statistics by streaming,
a profile whose missing rates and bounds come from every row, and fitting on a sample."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from typer.testing import CliRunner

from healthforge.cli.app import app
from healthforge.data.streaming import column_stats, sample_rows, streamed_profile
from healthforge.errors import HealthForgeError
from healthforge.pipeline import RunSpec, run


def _folder(tmp_path: Path, n: int = 100_000, files: int = 3) -> tuple[Path, pd.DataFrame]:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "index": np.arange(n),
            "age": rng.integers(18, 90, n).astype(float),
            "group": rng.choice(["a", "b", "c"], n),
        }
    )
    frame.loc[rng.random(n) < 0.1, "age"] = np.nan
    frame.loc[n - 1, "age"] = 130.0  # one extreme row a sample will most likely miss
    frame.loc[n - 2, "group"] = "rare"
    folder = tmp_path / "data"
    folder.mkdir()
    for i, part in enumerate(np.array_split(np.arange(n), files)):
        frame.iloc[part].to_parquet(folder / f"chunk-{i}.parquet", row_group_size=10_000)
    return folder, frame


def test_sample_is_uniform_exact_in_size_ordered_and_seeded(tmp_path: Path) -> None:
    folder, frame = _folder(tmp_path)
    sample = sample_rows(folder, 2_000, seed=1)
    assert len(sample) == 2_000 and sample["index"].is_unique
    assert sample["index"].is_monotonic_increasing  # the data's order
    pd.testing.assert_frame_equal(
        sample.reset_index(drop=True), frame.iloc[sample["index"]].reset_index(drop=True)
    )
    assert sample_rows(folder, 2_000, seed=1).equals(sample)
    assert not sample_rows(folder, 2_000, seed=2)["index"].equals(sample["index"])
    # uniform over the whole table (every file): Kolmogorov-Smirnov against U(0, n)
    p = stats.kstest(sample["index"] / len(frame), "uniform").pvalue
    assert p > 1e-3
    assert len(sample_rows(folder, 10**9)) == len(frame)  # fewer rows than asked: all


def test_column_stats_are_exact_over_every_row(tmp_path: Path) -> None:
    folder, frame = _folder(tmp_path)
    found = column_stats(folder)
    assert found["age"].rows == len(frame)
    assert found["age"].missing == int(frame["age"].isna().sum())
    assert (found["age"].minimum, found["age"].maximum) == (18.0, 130.0)
    assert found["group"].values == {"a", "b", "c", "rare"}
    assert found["index"].values is None  # more distinct values than kept


def test_streamed_profile_takes_bounds_and_categories_from_every_row(tmp_path: Path) -> None:
    folder, frame = _folder(tmp_path)
    prepared, _ = streamed_profile(folder, 500, seed=0)
    schema = prepared.schema
    assert len(prepared.frame) == 500
    assert schema["age"].maximum == 130.0  # not in the sample, still the bound
    assert "rare" in schema["group"].categories
    assert schema["age"].missing_rate == pytest.approx(frame["age"].isna().mean())


def test_profile_cli_streams_a_folder(tmp_path: Path) -> None:
    folder, frame = _folder(tmp_path)
    result = CliRunner().invoke(app, ["profile", str(folder), "--sample-rows", "1000", "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.output[result.output.index("{") :])
    assert document["rows"] == len(frame)


def test_fit_on_a_streamed_sample_through_the_pipeline(tmp_path: Path) -> None:
    folder, _ = _folder(tmp_path)
    spec = RunSpec.from_dict(
        {
            "data": {"source": str(folder), "sample_rows": 3_000},
            "generator": {"name": "gaussian_copula"},
            "rows": 100,
            "seed": 2,
        }
    )
    result = run(spec, until="sample")
    assert result.model.n_train_ == 3_000 and result.rows == 100
    with pytest.raises(HealthForgeError, match="sample_rows"):
        RunSpec.from_dict({"data": {"source": str(folder), "sample_rows": 0}})


MEASURE = """
import sys, pyarrow as pa
from healthforge.data.streaming import sample_rows, column_stats
before = pa.default_memory_pool().max_memory()
sample_rows(sys.argv[1], 1000, seed=0)
column_stats(sys.argv[1])
print(pa.default_memory_pool().max_memory() - before)
"""


def test_streaming_holds_a_batch_not_the_table(tmp_path: Path) -> None:
    n = 2_000_000
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({f"x{i}": rng.random(n) for i in range(8)})  # 128 MB in memory
    path = tmp_path / "big.parquet"
    frame.to_parquet(path, row_group_size=50_000)
    del frame
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, str(path)], capture_output=True, text=True, check=True
    )
    peak = int(done.stdout.strip().splitlines()[-1])
    assert peak < 32 * 2**20, f"peak Arrow memory {peak / 2**20:.0f} MiB for a 128 MiB table"
