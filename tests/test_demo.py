"""The demo workflow: reports for each generator, atomic output folder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from healthforge.demo import DemoResult, run_demo
from healthforge.errors import HealthForgeError


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[DemoResult, Path]:
    """One demo of three generators, shared by the library's and the CLI's tests."""
    out = tmp_path_factory.mktemp("demo_run") / "demo"
    return run_demo(out, generators=["independent", "cart", "dp_copula"], seed=1), out


def test_demo_writes_a_report_per_generator_and_a_leaderboard(
    demo_run: tuple[DemoResult, Path],
) -> None:
    result, out = demo_run
    assert [r.generator for r in result.runs] == ["independent", "cart", "dp_copula"]
    assert result.rows_train + result.rows_holdout == 1629
    for run in result.runs:
        summary = json.loads(run.json_path.read_text())
        assert summary["settings"]["target"] == "death"
        assert not {"yrdth", "modth", "dadth"} & set(summary["fidelity"]["columns"])
        assert run.report_path.stat().st_size > 100_000 and run.synthetic_path.exists()
    dp = result.runs[2].summary["privacy"]["dp_budget"]
    assert dp is not None and dp["epsilon"] == 1.0  # DP runs report their budget
    ratios = {r.generator: r.summary["utility"]["ratio"] for r in result.runs}
    assert ratios["cart"] > ratios["independent"]  # dependence matters for predicting death
    assert (out / "leaderboard.html").exists()


def test_demo_never_clobbers_or_half_writes(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(HealthForgeError, match="already exists"):
        run_demo(out, generators=["independent"])
    with pytest.raises(HealthForgeError, match="unknown generator"):
        run_demo(out, generators=["nope"], force=True)
    assert (out / "keep.txt").read_text() == "mine"
    assert [p.name for p in tmp_path.iterdir()] == ["demo"]  # no temporary folder left


def test_demo_cli_names_the_extra_a_skipped_generator_needs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, demo_run: tuple[DemoResult, Path]
) -> None:
    """The command passes its options to run_demo and prints its result (the shared
    demo's, so that no second demo is fitted), naming the extra a skipped one needs."""
    from typer.testing import CliRunner

    import healthforge.demo
    from healthforge.cli.app import app
    from healthforge.generators import registry

    calls: list[tuple[Any, ...]] = []

    def shared_demo(out: Path, names: list[str] | None, **options: Any) -> DemoResult:
        calls.append((out, names, options["seed"], options["force"]))
        return demo_run[0]

    monkeypatch.setattr(healthforge.demo, "run_demo", shared_demo)
    # as on a machine without the llm extra, whatever this venv has installed
    monkeypatch.setattr(registry, "missing_extra", lambda name: "llm" if name == "llm" else None)
    out = tmp_path / "demo"
    args = ["demo", "--generators", "independent, cart", "--out", str(out), "--seed", "3"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert calls == [(out, ["independent", "cart"], 3, False)]
    printed = " ".join(result.output.split())
    assert "report for dp_copula:" in printed and "leaderboard:" in printed
    # rich would read "[llm]" as a style tag and drop it
    assert "llm needs pip install 'healthforge[llm]'" in printed
