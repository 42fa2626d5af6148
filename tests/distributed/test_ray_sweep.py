"""Sweeps on Ray: the benchmark's figures equal the local backend's, a crashed or
timed-out task is an outcome while the others finish. Embedded Ray; skipped without it."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from healthforge.benchmark import run_benchmark
from healthforge.distributed.executor import Resources

FAST = {"n_estimators": 20, "n_attacks": 50}
TIMED = ("fit_seconds", "sample_seconds_10k", "evaluate_seconds", "peak_rss_mb")
TIMED += ("baseline_rss_mb", "added_rss_mb", "time_ratio", "fit_ratio")


def _executor(workers: int = 2) -> Any:
    from healthforge.distributed.ray_backend import RayExecutor

    return RayExecutor(workers=workers, retries=0)


def _figures(result: Any) -> list[tuple[Any, ...]]:
    return [
        (r.dataset, r.method, r.repeat, r.status, r.reason, r.metrics)
        for r in sorted(result.records, key=lambda r: (r.dataset, r.method, r.repeat))
    ]


def test_a_small_sweep_has_the_local_figures_on_ray(ray_runtime: Any, tmp_path: Path) -> None:
    def sweep(executor: Any, name: str) -> Any:
        return run_benchmark(
            ["icu"], ["independent", "gaussian_copula", "cart"], repeats=2, rows=150,
            sample_rows=300, reference="independent", evaluate_options=FAST,
            generator_params={"cart": {"no_such_param": 1}},  # cart's cells fail
            results_json=tmp_path / f"{name}.json",
            executor=executor,
        )  # fmt: skip

    local = sweep(None, "local")
    remote = sweep(_executor(), "ray")
    assert _figures(remote) == _figures(local)
    statuses = {(r.method, r.status) for r in remote.records}
    assert ("independent", "ok") in statuses and ("gaussian_copula", "ok") in statuses
    assert ("cart", "failed") in statuses  # recorded, and the other cells finished
    assert all(r.metrics for r in remote.records if r.status == "ok")
    assert (tmp_path / "ray.json").exists()  # the results file and cache, as locally
    again = run_benchmark(
        ["icu"], ["independent", "gaussian_copula"], repeats=2, rows=150, sample_rows=300,
        reference="independent", evaluate_options=FAST, results_json=tmp_path / "ray.json",
        executor=_executor(),
    )  # fmt: skip
    ours = [f for f in _figures(remote) if f[1] != "cart"]
    assert [f for f in _figures(again) if f[1] != "cart"] == ours  # cached runs reused


def test_a_crashed_or_hung_task_is_recorded_and_the_others_finish(ray_runtime: Any) -> None:
    def task(_shared: Any, item: str) -> str:
        if item == "crash":
            os._exit(1)  # the worker process dies
        if item == "hang":
            time.sleep(120)
        return item.upper()

    items = [(name, name) for name in ("a", "crash", "hang", "b")]
    executor = _executor()
    executor.map(task, None, [("warm", "warm")] * 2)  # workers started: the limit is the task's
    outcomes = executor.map(task, None, items, resources=Resources(cpus=0.5), timeout=10)
    got = {o.key: (o.status, o.value) for o in outcomes}
    assert got["a"] == ("ok", "A") and got["b"] == ("ok", "B")
    assert got["crash"][0] == "failed" and "died" in (outcomes[1].error or "")
    assert got["hang"][0] == "timeout"


def test_compare_and_augment_on_ray_give_the_local_figures(ray_runtime: Any) -> None:
    import pandas as pd

    from healthforge.augment import augment_experiment
    from healthforge.data import load_table
    from healthforge.evaluation.batch import evaluate_many
    from healthforge.generators import get_generator

    icu = load_table("bundled:icu")
    train, holdout = icu.iloc[:150], icu.iloc[150:]
    frames = {
        name: get_generator(name, seed=0).fit(train).sample(150, seed=1)
        for name in ("independent", "gaussian_copula")
    }
    options = {"holdout": holdout, "target": "died", "seed": 0, "n_estimators": 20}
    local = evaluate_many(train, frames, options)
    remote = evaluate_many(train, frames, options, executor=_executor())
    assert list(remote) == list(local)
    for name in frames:
        assert remote[name].summary == local[name].summary

    settings = {"generator": "independent", "repeats": 2, "n_estimators": 20}
    here = augment_experiment(icu, "sex", "died", **settings)
    there = augment_experiment(icu, "sex", "died", **settings, executor=_executor())
    pd.testing.assert_frame_equal(there.scores, here.scores)
    pd.testing.assert_frame_equal(there.augmented, here.augmented)
