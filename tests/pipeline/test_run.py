"""pipeline.run: single steps, provenance, and a saved spec replayed by `healthforge run`."""

from __future__ import annotations

import hashlib
import re
from importlib import metadata
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from healthforge.cli.app import app
from healthforge.data import load_table
from healthforge.errors import HealthForgeError
from healthforge.pipeline import (
    STEP_NAMES,
    DataSpec,
    GeneratorSpec,
    OutputSpec,
    Pipeline,
    RunSpec,
    fingerprint,
    run,
)

runner = CliRunner()


def _spec(out: Path | None = None, **kwargs: object) -> RunSpec:
    return RunSpec(
        data=DataSpec(source="bundled:icu"),
        generator=GeneratorSpec(name="independent"),
        rows=30,
        seed=5,
        outputs=OutputSpec(synthetic=None if out is None else str(out)),
        **kwargs,  # type: ignore[arg-type]
    )


def test_steps_run_one_at_a_time_and_in_order() -> None:
    pipeline = Pipeline(_spec())
    pipeline.step("load")
    assert pipeline.state.table is not None and pipeline.state.model is None
    with pytest.raises(HealthForgeError, match="needs step 'prepare'"):
        pipeline.step("fit")
    with pytest.raises(HealthForgeError, match="unknown pipeline step"):
        pipeline.step("train")
    result = pipeline.run(until="fit")
    assert result.steps_run == list(STEP_NAMES[: STEP_NAMES.index("fit") + 1])
    assert result.model is not None and result.synthetic is None
    rest = pipeline.run()
    assert rest.steps_run == list(STEP_NAMES) and len(rest.synthetic) == 30
    assert set(rest.timings) == set(STEP_NAMES)
    # the same spec run whole draws the same rows as the step-wise run
    pd.testing.assert_frame_equal(run(_spec()).synthetic, rest.synthetic)


def test_provenance_names_the_data_seeds_and_versions() -> None:
    result = run(_spec(), until="load")
    table = load_table("bundled:icu")
    provenance = result.provenance
    assert provenance.data_fingerprint == fingerprint(table)
    assert set(provenance.seeds.values()) == {5}
    assert provenance.packages["pandas"] == metadata.version("pandas")
    assert provenance.packages["healthforge"] == metadata.version("healthforge")
    assert provenance.spec_sha256 == hashlib.sha256(_spec().to_json().encode()).hexdigest()


def test_fingerprint_changes_when_one_cell_changes() -> None:
    table = load_table("bundled:icu")
    before = fingerprint(table)
    assert fingerprint(table.copy()) == before
    for column in (table.columns[0], table.columns[-1]):
        changed = table.copy()
        value = changed.at[17, column]
        changed.at[17, column] = value + 1 if isinstance(value, int | float) else f"{value}x"
        assert fingerprint(changed) != before, column
    assert fingerprint(table.rename(columns={table.columns[0]: "other"})) != before
    assert fingerprint(table.iloc[::-1]) != before  # row order counts


def test_a_spec_saved_by_generate_replays_byte_identically(tmp_path: Path) -> None:
    first, spec_path = tmp_path / "first.csv", tmp_path / "spec.json"
    args = ["generate", "bundled:icu", "-g", "cart", "-n", "50", "-c", "age>=50"]
    args += ["--seed", "3", "--privacy", "standard", "-o", str(first)]
    done = runner.invoke(app, [*args, "--save-spec", str(spec_path)])
    assert done.exit_code == 0, done.output
    saved = RunSpec.from_json(spec_path)
    assert saved.privacy == "standard" and saved.conditions == ["age>=50"]
    first_bytes = first.read_bytes()
    first.unlink()
    again = runner.invoke(app, ["run", str(spec_path)])
    assert again.exit_code == 0, again.output
    assert first.read_bytes() == first_bytes
    refused = runner.invoke(app, ["run", str(spec_path)])  # the output exists now
    assert refused.exit_code == 2 and "--force" in refused.output


def test_generate_reports_both_copy_guard_counts(tmp_path: Path) -> None:
    """The copy guard's message (main's #20 fix, in ``_copy_note``) survives the move of
    ``generate`` onto the pipeline: rare copies redrawn and common patterns kept are both
    named. 240 rows over 16 patterns plus 4 unique rows; one-row cart leaves reproduce
    training rows, so both counts are positive for this seed."""
    common = pd.DataFrame(
        {
            "age": [40 if i % 2 else 60 for i in range(240)],
            "sex": ["F" if (i // 2) % 2 else "M" for i in range(240)],
            "dx": ["a" if (i // 4) % 2 else "b" for i in range(240)],
            "died": [(i // 8) % 2 for i in range(240)],
        }
    )
    unique = pd.DataFrame(
        {"age": [95, 18, 77, 33], "sex": ["F", "M", "M", "F"], "dx": ["z", "y", "x", "w"]}
    ).assign(died=[1, 0, 1, 0])
    data = tmp_path / "coarse.csv"
    pd.concat([common, unique], ignore_index=True).to_csv(data, index=False)
    args = ["generate", str(data), "-g", "cart", "--param", "min_samples_leaf=1"]
    args += ["--param", "smoothing=False", "--target", "died", "-n", "2000", "--seed", "3"]
    done = runner.invoke(app, [*args, "-o", str(tmp_path / "out.csv")])
    assert done.exit_code == 0, done.output
    text = " ".join(done.output.split())  # the console may wrap the line
    found = re.search(
        r"\((\d+) draws copying a unique training row were redrawn; "
        r"(\d+) rows equal to a pattern shared by several training rows kept\)",
        text,
    )
    assert found is not None, text
    assert int(found[1]) > 0 and int(found[2]) > 0
