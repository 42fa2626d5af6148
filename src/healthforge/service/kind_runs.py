"""A compare, scenario, augment or benchmark job, executed in its worker process with the
library functions the CLI's commands call (``healthforge compare|scenario run|augment|
benchmark``): no second copy of any workflow. Each writes its files under the job's
folder with the service's download names (:data:`~.specs.FILES`) and returns what the
API shows of it: figures and file names, never data rows."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from healthforge.errors import HealthForgeError
from healthforge.service.config import ServiceConfig
from healthforge.service.db import Database
from healthforge.service.specs import FILES, for_run


def _files(job_dir: Path) -> list[str]:
    return sorted(name for name, file in FILES.items() if (job_dir / file).exists())


def _dataset_file(db: Database, config: ServiceConfig, dataset_id: str) -> tuple[Path, str]:
    dataset = db.one("SELECT * FROM datasets WHERE id = ?", dataset_id)
    if dataset is None:
        raise HealthForgeError("the job's dataset was deleted before the job ran")
    return config.folder("datasets", dataset_id) / dataset["stored"], dataset["name"]


def headline(report: dict[str, Any]) -> dict[str, Any]:
    """The leaderboard's figures from an evaluation JSON."""
    scores = report.get("scores") or []
    counts = {s: sum(1 for x in scores if x.get("status") == s) for s in ("pass", "warn", "fail")}
    privacy = report.get("privacy") or {}
    utility = report.get("utility") or {}
    return {
        "fidelity": (report.get("fidelity") or {}).get("column_similarity"),
        "utility_ratio": utility.get("ratio") if isinstance(utility, dict) else None,
        "exact_match_rate": privacy.get("exact_match_rate"),
        "dcr_ratio": privacy.get("dcr_ratio"),
        "mia_auc": privacy.get("mia_auc"),
        "checks": counts,
        "rows_real": report.get("rows_real"),
        "rows_synthetic": report.get("rows_synthetic"),
    }


def run_kind(
    db: Database,
    config: ServiceConfig,
    job: dict[str, Any],
    job_dir: Path,
    reporter: Any,
    executor: Any = None,
) -> dict[str, Any]:
    """Execute ``job`` (not a ``run``); returns its result summary. ``executor`` runs a
    compare's evaluations, an augment's repeats and a benchmark's cells (default: here)."""
    runner = {
        "compare": _compare,
        "scenario": _scenario,
        "augment": _augment,
        "benchmark": _benchmark,
    }[job["kind"]]
    summary = runner(db, config, job, job_dir, reporter, executor)
    return {**summary, "files": _files(job_dir)}


# duplicates: _compare, _scenario, _augment and _benchmark share one signature because
# run_kind calls whichever the job names with the same arguments; their bodies differ
def _compare(
    db: Database,
    config: ServiceConfig,
    job: dict[str, Any],
    job_dir: Path,
    reporter: Any,
    executor: Any,
) -> dict[str, Any]:
    """The runs' synthetic rows judged against the same training and held-out rows, which
    the pipeline splits again from the first run's spec (the runs share data, split and
    seed: checked at the request)."""
    import dataclasses

    from healthforge.data import load_table
    from healthforge.evaluation.batch import evaluate_many
    from healthforge.evaluation.compare import (
        compare,
        write_comparison_json,
        write_comparison_report,
    )
    from healthforge.pipeline import EvaluationSpec, Pipeline, RunSpec

    params = job["spec"]
    runs = [db.one("SELECT * FROM jobs WHERE id = ?", i) for i in params["jobs"]]
    if any(r is None or r["state"] != "done" for r in runs):
        raise HealthForgeError("a compared run was deleted before the comparison ran")
    path, _ = _dataset_file(db, config, job["dataset_id"])
    first = RunSpec.from_dict(runs[0]["spec"])
    spec = for_run(first, path.parent, path.name, job_dir / "split")
    spec = dataclasses.replace(
        spec,
        evaluation=EvaluationSpec(),
        outputs=dataclasses.replace(spec.outputs, synthetic=None, report=None, json=None),
    )
    pipeline = Pipeline(spec, progress=reporter.progress, log=reporter.log)
    pipeline.run(until="split")
    state = pipeline.state
    frames = {
        f"{r['result'].get('generator')}-{r['id'][:6]}": load_table(
            config.folder("jobs", r["id"]) / FILES["synthetic"]
        )
        for r in runs
    }
    options: dict[str, Any] = {
        "holdout": state.holdout,
        "schema": None,
        "target": state.prepared.schema.target,
        "task": None,
        "time_column": None,
        "fairness_by": params.get("fairness_by"),
        "seed": first.seed,
    }
    results = evaluate_many(
        state.train, frames, options, executor=executor, progress=reporter.progress
    )
    board = compare(results)
    write_comparison_json(board, results, job_dir / FILES["report_json"])
    write_comparison_report(board, results, job_dir / FILES["report"])
    return {
        "leaderboard": [
            {"name": str(name), "job_id": run["id"], "mean_rank": float(row["mean_rank"])}
            for (name, row), run in zip(
                board.iterrows(), _in_board_order(board, frames, runs), strict=True
            )
        ],
        "note": board.attrs.get("note"),
    }


def _in_board_order(board: Any, frames: dict[str, Any], runs: list[Any]) -> list[Any]:
    by_name = dict(zip(frames, runs, strict=True))
    return [by_name[str(name)] for name in board.index]


def _scenario(
    db: Database,
    config: ServiceConfig,
    job: dict[str, Any],
    job_dir: Path,
    reporter: Any,
    executor: Any,
) -> dict[str, Any]:
    """A shipped scenario on its shipped data: :func:`healthforge.scenarios.run_scenario`."""
    from healthforge.scenarios import run_scenario

    params = job["spec"]
    result = run_scenario(
        params["name"],
        rows=params.get("rows"),
        out=job_dir / FILES["synthetic"],
        report_path=job_dir / FILES["report"],
        json_path=job_dir / FILES["report_json"],
        seed=params.get("seed"),
        generator=params.get("generator"),
        progress=reporter.progress,
    )
    report = json.loads((job_dir / FILES["report_json"]).read_text(encoding="utf-8"))
    return {
        "generator": params.get("generator") or result.scenario.generator,
        "rows": len(result.synthetic),
        "conditions": list(result.scenario.conditions),
        "rows_real": result.rows_real,
        "share_real": round(result.share_real, 4),
        "notes": list(result.notes),
        "evaluation": headline(report),
    }


def _augment(
    db: Database,
    config: ServiceConfig,
    job: dict[str, Any],
    job_dir: Path,
    reporter: Any,
    executor: Any,
) -> dict[str, Any]:
    """:func:`healthforge.augment.augment_experiment` on the dataset, as ``augment`` runs."""
    from healthforge.augment import augment_experiment, read_source, write_augment_report
    from healthforge.data.io import atomic_write_text, write_table

    params = job["spec"]
    path, _ = _dataset_file(db, config, job["dataset_id"])
    real, target, dropped, _ = read_source(str(path), params["target"], params.get("drop") or [])
    options = {
        k: params[k]
        for k in ("strategy", "size", "repeats", "holdout_fraction", "seed", "fair_by")
        if params.get(k) is not None
    }
    result = augment_experiment(
        real,
        params["balance"],
        target,
        generator=params.get("generator") or "cart",
        drop=dropped,
        progress=reporter.progress,
        executor=executor,
        **options,
    )
    write_table(result.augmented, job_dir / FILES["synthetic"])
    write_augment_report(result, job_dir / FILES["report"])
    summary = result.summary()
    atomic_write_text(job_dir / FILES["report_json"], json.dumps(summary, indent=2) + "\n")
    return {
        "generator": params.get("generator") or "cart",
        "rows": len(result.augmented),
        "added": {str(k): int(v) for k, v in result.added.items()},
        "conclusion": result.conclusion,
        "notes": list(result.notes),
    }


def _benchmark(
    db: Database,
    config: ServiceConfig,
    job: dict[str, Any],
    job_dir: Path,
    reporter: Any,
    executor: Any,
) -> dict[str, Any]:
    """:func:`healthforge.benchmark.run_benchmark` on the dataset (a seeded sample of at
    most ``rows`` rows), within the service's bounds (checked at the request); no peers."""
    from healthforge.benchmark import Dataset, run_benchmark
    from healthforge.data import load_table

    params = job["spec"]
    path, name = _dataset_file(db, config, job["dataset_id"])
    frame = load_table(path)
    seed = params.get("seed") or 0
    if len(frame) > params["rows"]:
        frame = frame.sample(n=params["rows"], random_state=seed).reset_index(drop=True)
    target = params.get("target")
    if target is not None and target not in frame.columns:
        raise HealthForgeError(f"benchmark: target '{target}' is not a column of the dataset")
    result = run_benchmark(
        [Dataset(Path(name).stem or "dataset", frame, target)],
        params["generators"],
        repeats=params["repeats"],
        seed=seed,
        progress=reporter.progress,
        job_timeout=params["timeout"],
        results_json=job_dir / FILES["report_json"],
        force=True,
        threads=1,
        executor=executor,
    )
    result.write(job_dir, None, None, Path(FILES["report"]).stem)
    return {
        "generators": list(params["generators"]),
        "repeats": params["repeats"],
        "rows_real": len(frame),
        "methods": [
            {"method": s.method, "status": s.status, "runs": s.runs, "ok": s.ok}
            for s in result.summaries
        ],
    }
