"""A run that evaluates its rows as read back from the written file (the CLI's
``generate --evaluate``, the partner's tools) judges the rows it wrote (issue #25).

On ICU the CSV read-back used to turn the coma level "None" into a missing value in
~93% of rows: detection AUC 0.997 and TSTR/TRTR 0.74 for bayesian_network on seed 0,
where the same rows in memory (and the benchmark, which reads parquet) gave 0.41 / 1.07.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from healthforge.pipeline import (
    DataSpec,
    EvaluationSpec,
    GeneratorSpec,
    OutputSpec,
    Pipeline,
    RunSpec,
)
from healthforge.pipeline.judging import _synthetic_for_evaluation


def _spec(out: Path, from_file: bool, stream: bool) -> RunSpec:
    return RunSpec(
        data=DataSpec(source="bundled:icu"),
        generator=GeneratorSpec(name="bayesian_network"),
        seed=0,
        evaluation=EvaluationSpec(from_file=from_file, n_estimators=50, n_attacks=40),
        outputs=OutputSpec(synthetic=str(out), stream=stream),
    )


@pytest.mark.parametrize("suffix", [".csv", ".tsv"])
def test_rows_read_back_are_the_rows_written(tmp_path: Path, suffix: str) -> None:
    pipeline = Pipeline(_spec(tmp_path / f"syn{suffix}", from_file=False, stream=False))
    pipeline.run(until="write")
    written = pipeline.state.synthetic
    assert written is not None and (written["coma"] == "None").sum() > len(written) // 2
    pipeline.spec.evaluation.from_file = True  # type: ignore[union-attr]
    back = _synthetic_for_evaluation(pipeline.state)
    pd.testing.assert_frame_equal(back, written, check_dtype=False, check_column_type=False)


def test_evaluation_from_the_csv_equals_the_evaluation_in_memory(tmp_path: Path) -> None:
    from_file = Pipeline(_spec(tmp_path / "a.csv", from_file=True, stream=True)).run()
    in_memory = Pipeline(_spec(tmp_path / "b.csv", from_file=False, stream=False)).run()
    assert from_file.evaluation is not None and in_memory.evaluation is not None
    got, want = from_file.evaluation.summary, in_memory.evaluation.summary
    for section in ("fidelity", "utility", "privacy"):
        assert got[section] == want[section], section
    # and the figure is the benchmark's kind of figure, not a real-vs-missing separation
    assert got["fidelity"]["detection_auc"] < 0.8


def test_levels_a_reader_could_take_for_missing_survive_the_read_back(tmp_path: Path) -> None:
    # a parquet source keeps "NA" (North America), "None" and "null" as levels
    rng = np.random.default_rng(0)
    n = 200
    table = pd.DataFrame(
        {
            "region": pd.Series(rng.choice(["NA", "EU", "None", "null"], n), dtype="str"),
            "age": rng.integers(20, 90, n),
            "died": pd.Series(rng.choice(["Yes", "No"], n), dtype="str"),
        }
    )
    source = tmp_path / "t.parquet"
    table.to_parquet(source, index=False)
    spec = _spec(tmp_path / "syn.csv", from_file=True, stream=False)
    spec.data = DataSpec(source=str(source), target="died")
    pipeline = Pipeline(spec)
    pipeline.run(until="write")
    written = pipeline.state.synthetic
    assert written is not None and set(written["region"]) == {"NA", "EU", "None", "null"}
    back = _synthetic_for_evaluation(pipeline.state)
    pd.testing.assert_frame_equal(back, written, check_dtype=False, check_column_type=False)
