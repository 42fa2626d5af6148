"""`healthforge recommend` and `generate --generator auto`: output and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from healthforge.cli.app import app
from healthforge.generators import describe

runner = CliRunner()


@pytest.fixture(autouse=True)
def _own_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEALTHFORGE_SELECTION_DIR", str(tmp_path / "store"))


def test_recommend_prints_a_ranking_with_evidence() -> None:
    result = runner.invoke(app, ["recommend", "bundled:icu", "--priority", "privacy"])
    assert result.exit_code == 0, result.output
    assert "Bayesian selection with a benchmark prior" in result.output
    assert " 1. " in result.output and "runs" in result.output


def test_recommend_json_under_strict_lists_dp_generators_only() -> None:
    result = runner.invoke(app, ["recommend", "bundled:icu", "--privacy", "strict", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    names = [c["name"] for c in payload["ranked"]]
    assert names and all(describe(n).differential_privacy for n in names)
    assert payload["used_private_evaluation"] is False
    assert payload["meta"]["rows"] == 200


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["recommend", "bundled:icu", "--priority", "beauty"], "unknown priority 'beauty'"),
        (["recommend", "bundled:icu", "--privacy", "max"], "unknown privacy preset 'max'"),
        (["recommend", "missing.csv"], "does not exist"),
        (["recommend", "bundled:icu", "--target", "nope"], "nope"),
        (["recommend", "bundled:icu", "--time-budget", "-1"], "time budget"),
        (["recommend", "bundled:icu", "--time-budget", "0.0001"], "no generator"),
        (
            ["generate", "bundled:icu", "--generator", "auto", "--param", "a=1", "-o", "x.csv"],
            "--generator auto takes no --param",
        ),
        (
            ["generate", "bundled:icu", "-g", "cart", "--priority", "speed", "-o", "x.csv"],
            "--priority applies to --generator auto",
        ),
        (
            ["generate", "bundled:icu", "-g", "auto", "--priority", "cost", "-o", "x.csv"],
            "unknown priority 'cost'",
        ),
    ],
)
def test_bad_input_is_one_line(args: list[str], message: str, tmp_path: Path) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert result.output.startswith("error:")


def _seed_store(generator: str, reward: float, runs: int = 30) -> None:
    """The user's store after ``runs`` evaluated runs of ``generator`` on ICU."""
    from healthforge.selection import Reward, SelectionStore, record
    from healthforge.selection.runs import data_meta

    meta = data_meta({"source": "bundled:icu"})
    store = SelectionStore.open()
    for _ in range(runs):
        record(meta, generator, Reward(reward, reward, reward, 0.1), store, save=False)
    store.save()


def test_generate_auto_picks_what_the_store_learnt_and_records_the_run(tmp_path: Path) -> None:
    """30 excellent runs of cart on ICU: auto picks cart, saves the spec with cart (not
    'auto') and, evaluated, adds this run's reward to the store."""
    from healthforge.selection import SelectionStore

    _seed_store("cart", 1.0)
    spec_path, out = tmp_path / "spec.json", tmp_path / "out.csv"
    args = [
        "generate",
        "bundled:icu",
        "--generator",
        "auto",
        "-o",
        str(out),
        "--save-spec",
        str(spec_path),
        "--evaluate",
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    flat = " ".join(result.output.split())  # rich wraps long lines
    assert "auto: picked cart" in flat and "why: cart:" in flat
    assert "30 of your evaluated runs count too" in flat
    assert "itself a use of that data" in flat
    assert json.loads(spec_path.read_text())["generator"]["name"] == "cart"
    store = SelectionStore.open()
    assert len(store.observations) == 31
    last = store.observations[-1]
    assert last.generator == "cart" and last.meta.rows == 200
    assert last.reward.utility is not None and last.reward.fit_seconds is not None


def test_generate_auto_without_evaluation_records_nothing(tmp_path: Path) -> None:
    from healthforge.selection import SelectionStore

    _seed_store("cart", 1.0)
    result = runner.invoke(
        app, ["generate", "bundled:icu", "--generator", "auto", "-o", str(tmp_path / "o.csv")]
    )
    assert result.exit_code == 0, result.output
    assert "auto: picked cart" in result.output  # a fast fit keeps the test short
    assert len(SelectionStore.open().observations) == 30


def test_every_evaluated_generate_run_is_recorded(tmp_path: Path) -> None:
    from healthforge.selection import SelectionStore

    args = ["generate", "bundled:icu", "-g", "cart", "-o", str(tmp_path / "a.csv"), "--evaluate"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    observations = SelectionStore.open().observations
    assert [o.generator for o in observations] == ["cart"]
    assert observations[0].meta.rows == 200 and observations[0].meta.columns == 22


def test_a_conditioned_run_is_not_recorded(tmp_path: Path) -> None:
    """Rows drawn under a condition, judged against every real row, do not measure the
    generator as the benchmark does: not recorded."""
    from healthforge.selection import SelectionStore

    args = [
        "generate",
        "bundled:icu",
        "-g",
        "cart",
        "-o",
        str(tmp_path / "a.csv"),
        "--evaluate",
        "-c",
        "age>=60",
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert SelectionStore.open().observations == []
