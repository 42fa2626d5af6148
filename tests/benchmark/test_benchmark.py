"""The benchmark harness on small data: files, fields, refusals, unavailable peers."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from healthforge.benchmark import jobs, run_benchmark
from healthforge.benchmark.peer_runner import fill_missing, restore_missing
from healthforge.benchmark.result import BenchmarkResult
from healthforge.cli.app import app
from healthforge.generators.core.registry import _GENERATORS, register
from healthforge.pipeline import RunSpec

FAST_EVALUATION = {"n_estimators": 30, "n_attacks": 100}


@pytest.fixture(scope="module")
def small_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[BenchmarkResult, Path]:
    cache = tmp_path_factory.mktemp("cache") / "benchmark.json"
    result = run_benchmark(
        ["pima"],
        ["independent", "bayesian_network"],
        repeats=2,
        rows=200,
        reference="independent",
        evaluate_options=FAST_EVALUATION,
        results_json=cache,
    )
    return result, cache


def _rerun(cache: Path, generators: list[str], repeats: int = 2, **options: Any) -> BenchmarkResult:
    """The small run's settings again with ``cache`` as the results file."""
    return run_benchmark(
        ["pima"],
        generators,
        repeats=repeats,
        rows=200,
        reference="independent",
        evaluate_options=FAST_EVALUATION,
        results_json=cache,
        **options,
    )


def _assembled(cache: Path, generators: list[str]) -> BenchmarkResult:
    """The small run's table built from ``cache`` alone, against ``independent``."""
    return _rerun(cache, generators, cached_only=True)


def _copy_of(small_run: tuple[BenchmarkResult, Path], tmp_path: Path) -> Path:
    saved = tmp_path / "benchmark.json"
    shutil.copy(small_run[1], saved)
    return saved


def test_writes_table_json_and_html(
    small_run: tuple[BenchmarkResult, Path], tmp_path: Path
) -> None:
    result, _ = small_run
    paths = result.write(tmp_path, command="healthforge benchmark --test", note="a test run")
    table = paths["markdown"].read_text()
    assert "| independent | 2 |" in table and "| bayesian_network | 2 |" in table
    assert "healthforge benchmark --test" in table and "a test run" in table
    assert " ± " in table  # mean ± sd over the two repeats
    document = json.loads(paths["json"].read_text())
    assert document["machine"]["nproc"] >= 1 and document["machine"]["python"]
    assert len(document["runs"]) == 4
    page = paths["html"].read_text()
    assert page.count("<script type='text/javascript'>") == 1  # plotly.js inlined once
    assert "<script src=" not in page  # nothing loaded from the network


def test_fields_present_and_sane(small_run: tuple[BenchmarkResult, Path]) -> None:
    result, _ = small_run
    assert {(r.method, r.repeat) for r in result.records} == {
        (g, r) for g in ("independent", "bayesian_network") for r in (0, 1)
    }
    for record in result.records:
        assert record.status == "ok", record.reason
        assert record.fit_seconds > 0 and record.sample_seconds_10k > 0
        assert record.peak_rss_mb > 0 and record.rows_sampled == 10_000
        assert 0 < record.metrics["utility_ratio"] <= 1.5
        assert 0 <= record.metrics["detection_auc"] <= 1
        assert record.metrics["dcr_ratio"] > 0
        assert record.fit_ratio is not None
    reference = [r for r in result.records if r.method == "independent"]
    assert all(r.fit_ratio == pytest.approx(1.0) for r in reference)
    # the same split seed per repeat for every method
    assert {r.split_seed for r in result.records if r.repeat == 1} == {1}


def test_cache_reuses_finished_runs(
    small_run: tuple[BenchmarkResult, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    result, cache = small_run

    def no_new_work(*args: object, **kwargs: object) -> None:
        raise AssertionError("a cached run was fitted again")

    monkeypatch.setattr(jobs, "run_ours", no_new_work)
    again = _rerun(cache, ["independent", "bayesian_network"])
    assert [r.metrics for r in again.records] == [r.metrics for r in result.records]
    # from the cache alone: a run never measured is listed as not run, nothing is fitted
    assembled = _assembled(cache, ["independent", "cart"])
    statuses = {(r.method, r.status) for r in assembled.records}
    # bayesian_network was not asked for this time: its cached runs are merged in
    assert statuses == {("independent", "ok"), ("cart", "not run"), ("bayesian_network", "ok")}


def test_ratios_against_a_stand_in_reference_are_paired_again(
    small_run: tuple[BenchmarkResult, Path], tmp_path: Path
) -> None:
    # a file whose runs were timed against bayesian_network (e.g. a run without the
    # wanted reference): assembled against independent, they are paired with its runs
    _, cache = small_run
    document = json.loads(cache.read_text())
    document.setdefault("settings", {})["reference"] = "bayesian_network"  # as the CLI writes
    for run in document["runs"]:
        run["fit_ratio"] = run["sample_ratio"] = 1.0
    stand_in = tmp_path / "benchmark.json"
    stand_in.write_text(json.dumps(document))
    assembled = _assembled(stand_in, ["independent", "bayesian_network"])
    fits = {(r.method, r.repeat): r.fit_seconds for r in assembled.records}
    for r in assembled.records:
        assert r.fit_ratio == pytest.approx(
            fits[(r.method, r.repeat)] / fits[("independent", r.repeat)]
        )
    assert any(r.fit_ratio != 1.0 for r in assembled.records)


def test_refused_generator_and_unavailable_peer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a plugin module the benchmark's child process can import by name
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    shutil.copy(Path(__file__).with_name("refusing.py"), plugins / "hf_refusing_plugin.py")
    # ahead of the caller's own path, so the child imports this same healthforge
    kept = os.environ.get("PYTHONPATH")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(plugins), kept])))
    register("refusing", "hf_refusing_plugin:RefusingGenerator")
    try:
        result = run_benchmark(
            ["tissue_gene_expression"],
            ["refusing"],
            peers=["synthcity"],
            repeats=1,
            peers_dir=tmp_path / "no-peers",
        )
    finally:
        _GENERATORS.pop("refusing", None)
    refused, unavailable = result.records[0], result.records[1:]
    assert refused.status == "refused", refused.reason
    assert "far more columns than rows" in refused.reason
    assert unavailable and all(r.status == "unavailable" for r in unavailable)
    assert "not installed" in unavailable[0].reason
    assert not (tmp_path / "no-peers").exists()  # nothing installed unless asked
    table = result.write(tmp_path / "out")["markdown"].read_text()
    assert "refused: generator 'refusing' does not handle" in table
    assert "unavailable: not installed" in table


def test_table_from_the_cache_keeps_the_peer_state_it_recorded(
    small_run: tuple[BenchmarkResult, Path], tmp_path: Path
) -> None:
    """Assembling a table on a machine without a peer must not report the peer's cached
    runs as unavailable: the state recorded when they were measured is kept."""
    saved = _copy_of(small_run, tmp_path)
    document = json.loads(saved.read_text())
    recorded = {"available": True, "reason": "", "versions": "2.0.0", "install_seconds": 300.0}
    document["peers"] = {"sdv": {**recorded, "note": "BSL"}}
    saved.write_text(json.dumps(document))
    options = {"peers": ["sdv:tvae"], "peers_dir": tmp_path / "no-peers"}
    result = _rerun(saved, ["independent"], cached_only=True, **options)
    assert result.peers["sdv"]["available"] and result.peers["sdv"]["versions"] == "2.0.0"
    table = result.write(tmp_path / "out")["markdown"].read_text()
    assert "installed (2.0.0, install took 300 s) when its runs were measured" in table
    measured_now = _rerun(saved, ["independent"], **options)  # a real run says what is
    assert not measured_now.peers["sdv"]["available"]


def test_a_run_of_ours_alone_keeps_the_peers_recorded_state(
    small_run: tuple[BenchmarkResult, Path], tmp_path: Path
) -> None:
    """Re-measuring one generator of ours must not drop the record of the peers whose
    cached runs the table keeps, or a later assembly would call them unavailable."""
    saved = _copy_of(small_run, tmp_path)
    document = json.loads(saved.read_text())
    peer_run = {
        **document["runs"][0],
        "method": "tvae",
        "source": "sdv",
        "key": json.dumps(["sdv:tvae", 0, "v"]),
    }
    recorded = {"available": True, "reason": "", "versions": "2.0.0", "install_seconds": 1.0}
    document["runs"].append(peer_run)
    document["peers"] = {"sdv": {**recorded, "note": "BSL"}}
    saved.write_text(json.dumps(document))
    result = _rerun(saved, ["independent"])  # no --peers: sdv's cached run is merged
    assert any(r.source == "sdv" for r in result.records)
    assert result.peers["sdv"]["versions"] == "2.0.0"


def test_missing_values_survive_the_peer_round_trip() -> None:
    frame = pd.DataFrame({"x": [1.0, None, 3.0], "s": ["a", None, "b"], "k": [1, 2, 3]})
    filled, kinds = fill_missing(frame)
    assert not filled.isna().any().any()
    restored = restore_missing(filled, kinds)[list(frame.columns)]
    assert restored["x"].isna().tolist() == [False, True, False]
    assert restored["s"].isna().tolist() == [False, True, False]


def test_peer_rows_get_the_real_dtypes() -> None:
    real = pd.DataFrame(
        {"age": [30, 40], "sex": pd.array(["F", "M"], dtype="string"), "bmi": [20.5, 30.1]}
    )
    peer = pd.DataFrame({"age": [31.0, 45.0], "sex": ["M", "F"], "bmi": [22, 25]})
    out = jobs.like_real(peer, real)
    assert out["age"].dtype == real["age"].dtype  # whole numbers back to integers
    assert out["sex"].dtype == real["sex"].dtype
    assert out["bmi"].dtype == float
    unrounded = jobs.like_real(pd.DataFrame({"age": [31.4, 45.0]}), real[["age"]])
    assert unrounded["age"].tolist() == [31.4, 45.0]  # never rounded for the peer


def test_cli_refuses_to_overwrite_and_rejects_unknown_names(tmp_path: Path) -> None:
    runner = CliRunner()
    (tmp_path / "benchmark.md").write_text("old")
    done = runner.invoke(app, ["benchmark", "--datasets", "pima", "--out", str(tmp_path)])
    assert done.exit_code == 2 and "--force" in done.output
    assert (tmp_path / "benchmark.md").read_text() == "old"
    (tmp_path / "benchmark.json").write_text("not json")  # never silently overwritten
    done = runner.invoke(app, ["benchmark", "--datasets", "pima", "--out", str(tmp_path)])
    assert done.exit_code == 2 and "not a benchmark results file" in done.output
    assert (tmp_path / "benchmark.json").read_text() == "not json"
    for args in (
        ["--datasets", "no_such_data"],
        ["--datasets", "pima", "--generators", "no_such_generator"],
        ["--datasets", "pima", "--peers", "no_such_peer"],
        ["--datasets", "pima", "--epsilons", "0,1"],
        ["--datasets", "pima", "--epsilons", "one"],
    ):
        done = runner.invoke(app, ["benchmark", *args, "--out", str(tmp_path / "new")])
        assert done.exit_code == 2, done.output
        assert "Traceback" not in done.output
    assert not (tmp_path / "new").exists()


def test_changed_code_measures_again_without_duplicates(
    small_run: tuple[BenchmarkResult, Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from healthforge.benchmark import store

    saved = _copy_of(small_run, tmp_path)
    calls: list[str] = []
    real_run = jobs.run_ours

    def counting(spec: RunSpec, *args: Any, **kwargs: Any) -> jobs.JobOutcome:
        calls.append(spec.generator.name)
        return real_run(spec, *args, **kwargs)

    monkeypatch.setattr(jobs, "run_ours", counting)
    monkeypatch.setattr(store, "code_version", lambda *args: "changed")
    again = _rerun(saved, ["independent"])
    assert calls == ["independent", "independent"]  # stale runs measured again
    methods = sorted(r.method for r in again.records)
    # the new independent runs replace the stale ones; bayesian_network's are merged in
    assert methods == ["bayesian_network"] * 2 + ["independent"] * 2
    assert all(r.code_version == "changed" for r in again.records if r.method == "independent")


def test_dp_generators_run_at_each_epsilon_with_the_public_schema(tmp_path: Path) -> None:
    result = run_benchmark(
        ["icu"],
        ["independent", "dp_copula"],
        repeats=1,
        epsilons=[1, 10],
        sample_rows=2000,
        reference="independent",
        evaluate_options=FAST_EVALUATION,
        results_json=tmp_path / "trade.json",
    )
    dp = [r for r in result.records if r.method == "dp_copula"]
    assert sorted(r.epsilon for r in dp) == [1.0, 10.0]
    for record in dp:
        assert record.status == "ok", record.reason  # not refused: it got the public schema
        budget = record.settings["dp_budget"]
        assert budget["epsilon"] == record.epsilon and budget["public_schema"] is True
        for metric in ("mia_auc", "singling_out_risk", "linkability_risk", "inference_risk"):
            assert metric in record.metrics
        assert record.metrics["mia_auc"] is not None
    plain = next(r for r in result.records if r.method == "independent")
    assert plain.epsilon is None and "dp_budget" not in plain.settings
    stored = json.loads((tmp_path / "trade.json").read_text())
    assert len(stored["runs"]) == 3 and all(run["key"] for run in stored["runs"])
    paths = result.write(tmp_path, stem="trade")
    table = paths["markdown"].read_text()
    assert "## Privacy-utility trade-off" in table and "| dp_copula | 10 | 1 |" in table
    assert "dp_copula ε=1" in table
    page = paths["html"].read_text()
    assert "membership-inference AUC" in page and "Privacy-utility trade-off</h2>" in page


def test_thread_limit_reaches_the_child_environment() -> None:
    from healthforge.benchmark.jobs import thread_env

    assert thread_env(None) is None
    env = thread_env(1)
    assert env is not None
    assert env["OMP_NUM_THREADS"] == env["MKL_NUM_THREADS"] == "1"
    assert "PATH" in env  # the rest of the environment is kept


def test_optional_dp_generators_also_run_without_epsilon() -> None:
    from healthforge.benchmark.plan import dp_is_optional as _dp_is_optional
    from healthforge.benchmark.plan import is_dp as _is_dp

    assert _is_dp("lm") and _dp_is_optional("lm")  # private only when given epsilon
    assert _is_dp("dp_copula") and not _dp_is_optional("dp_copula")
    assert not _is_dp("cart")


def test_code_version_covers_every_module_a_generator_imports() -> None:
    """lm lives in a package: its entry file is an __init__ that only re-exports, so
    hashing that file alone would reuse results measured with older model code."""
    import importlib.util

    import healthforge
    from healthforge.benchmark import store
    from healthforge.generators import registry

    root = Path(healthforge.__file__).parent
    spec = importlib.util.find_spec(registry._GENERATORS["lm"].partition(":")[0])
    assert spec is not None and spec.origin is not None
    found = {
        p.relative_to(root).as_posix() for p in store._imported_sources(Path(spec.origin), root)
    }
    assert {"generators/lm/model.py", "generators/lm/training.py"} <= found
    # shared helpers count too, wherever the generators' layout puts them
    assert any(name.endswith("/torch_support.py") for name in found)
    # naming a generator changes no number: the registry never counts, even when reached
    reached = store._imported_sources(Path(registry.__file__), root)
    assert reached and Path(registry.__file__) not in reached


def test_eval_draws_average_disjoint_blocks_and_are_part_of_the_key(
    small_run: tuple[BenchmarkResult, Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from types import SimpleNamespace

    import healthforge.evaluation as evaluation
    from healthforge.benchmark.output import markdown_tables

    saved = _copy_of(small_run, tmp_path)
    blocks: list[pd.DataFrame] = []

    def fake_evaluate(train: pd.DataFrame, synthetic: pd.DataFrame, **kwargs: object):  # type: ignore[no-untyped-def]
        blocks.append(synthetic)
        auc = (0.5, 0.6, 0.7)[len(blocks) - 1]
        return SimpleNamespace(summary={"fidelity": {"detection_auc": auc}})

    monkeypatch.setattr(evaluation, "evaluate", fake_evaluate)
    again = _rerun(saved, ["independent"], repeats=1, eval_draws=3)
    (record,) = [r for r in again.records if r.method == "independent" and r.repeat == 0]
    # a cached one-block run is not reused for three blocks: it was measured again
    assert len(blocks) == 3 and record.eval_draws == 3
    n = len(blocks[0])
    assert n == 160 and all(len(b) == n for b in blocks)  # len(train) rows each
    rows = pd.concat(blocks)
    assert len(rows.drop_duplicates()) > 2 * n  # disjoint blocks, not one block thrice
    assert record.metrics["detection_auc"] == pytest.approx(0.6)
    assert record.draw_sd["detection_auc"] == pytest.approx(0.1)
    assert record.metrics["utility_ratio"] is None
    # with the cached one-block run of repeat 1 beside it
    assert "| independent | 2 ×1-3 |" in markdown_tables(again)


def test_a_cell_is_a_run_specification_that_runs_unchanged_here(tmp_path: Path) -> None:
    """The child's rows are those of the cell's spec run in this process, after a JSON
    round trip: the benchmark measures the pipeline's workflow, not a copy of it."""
    from healthforge.benchmark.cells import cell_spec, judging_spec
    from healthforge.benchmark.plan import Job, load_dataset
    from healthforge.pipeline import run

    data = load_dataset("icu")
    source = tmp_path / "icu.parquet"
    data.data.to_parquet(source, index=False)
    settings = {
        "sample_rows": 500,
        "seed": 2,
        "holdout_fraction": 0.2,
        "evaluate_options": FAST_EVALUATION,
        "generator_params": {},
    }
    judging = judging_spec("icu", source, data.target, settings)
    job = Job(data, 0, "healthforge", "bayesian_network")
    spec = cell_spec(job, judging, settings, None, tmp_path / "synthetic_bn.parquet")
    outcome = jobs.run_ours(spec, tmp_path, timeout=600)
    assert outcome.status == "ok" and outcome.synthetic is not None, outcome.reason
    here = run(RunSpec.from_json(spec.to_json()), until="sample")
    assert here.synthetic is not None and len(here.synthetic) == 500
    # read back from parquet: the column labels' index type may differ, not the rows
    pd.testing.assert_frame_equal(outcome.synthetic, here.synthetic, check_column_type=False)
    # the child fitted on the judging split's training rows
    split = run(judging, until="split", table=data.data)
    assert split.train is not None and here.train is not None
    pd.testing.assert_frame_equal(here.train, split.train, check_column_type=False)
