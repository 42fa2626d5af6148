"""The demo: synthetic NHEFS from every generator, each evaluated against a holdout.

A plain library function with structured results so the CLI, the service and the AI
partner can all run it; the CLI only prints what it returns.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from healthforge.data import get_dataset, prepare, write_table
from healthforge.errors import HealthForgeError
from healthforge.generators import generator_names, get_generator
from healthforge.progress import ProgressCallback, report

DEMO_DATASET = "nhefs"
# One or more of each family that fits NHEFS in well under a minute on 2 CPU cores, so
# the demo finishes in a few minutes; `--generators all` runs every registered one.
DEMO_GENERATORS = (
    "independent",
    "gaussian_copula",
    "bayesian_network",
    "cart",
    "arf",
    "dp_copula",
    "tvae",
)


@dataclass
class DemoRun:
    generator: str
    fit_seconds: float
    sample_seconds: float
    synthetic_path: Path
    report_path: Path
    json_path: Path
    summary: dict[str, Any]


@dataclass
class DemoResult:
    out_dir: Path
    dataset: str
    rows_train: int
    rows_holdout: int
    dropped: list[str]
    runs: list[DemoRun] = field(default_factory=list)
    leaderboard_path: Path | None = None
    not_run: list[str] = field(default_factory=list)


def run_demo(
    out_dir: str | Path,
    generators: list[str] | None = None,
    seed: int = 0,
    force: bool = False,
    progress: ProgressCallback | None = None,
) -> DemoResult:
    """Fit each generator on 80% of NHEFS, sample as many rows, evaluate on the other 20%.

    Everything is written to a temporary folder first and moved to ``out_dir`` at the
    end, so a failed run never leaves a half-written or clobbered demo folder.
    """
    from healthforge.evaluation import evaluate, split_train_holdout
    from healthforge.evaluation.compare import compare, write_comparison_report
    from healthforge.evaluation.report import write_report

    out_dir = Path(out_dir)
    if out_dir.exists() and not force:
        raise HealthForgeError(f"'{out_dir}' already exists", "pass --force to replace it")
    if generators == ["all"]:
        names = generator_names(installed_only=True)
    else:
        names = generators or [g for g in DEMO_GENERATORS if g in generator_names()]
    for name in names:
        get_generator(name)  # unknown names fail before any work
    dataset = get_dataset(DEMO_DATASET)
    # yrdth/modth/dadth are only filled when death = 1: they would leak the target
    real = dataset.load().drop(columns=list(dataset.leaky_for_target))
    train, holdout = split_train_holdout(real, dataset.target, holdout_fraction=0.2, seed=seed)
    public_schema = prepare(real, target=dataset.target).schema
    work = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent or "."))
    result = DemoResult(
        out_dir=out_dir,
        dataset=DEMO_DATASET,
        rows_train=len(train),
        rows_holdout=len(holdout),
        dropped=list(dataset.leaky_for_target),
        not_run=[g for g in generator_names() if g not in names],
    )
    try:
        write_table(train, work / "real_train.csv")
        write_table(holdout, work / "real_holdout.csv")
        evaluations = {}
        for step, name in enumerate(names):
            report(progress, "demo generators", step, len(names))
            started = time.perf_counter()
            model = get_generator(name, seed=seed)
            # A DP generator treats a schema it is given as public knowledge. NHEFS's
            # categories and ranges are published in its codebook, so the demo passes the
            # bundled schema; for your own data, declare them (docs/privacy.md).
            public = public_schema if model.differential_privacy else None
            model.fit(train, schema=public, target=dataset.target)
            fitted = time.perf_counter()
            synthetic = model.sample(len(train), seed=seed)
            sampled = time.perf_counter()
            evaluation = evaluate(
                train,
                synthetic,
                holdout=holdout,
                schema=model.schema_,
                target=dataset.target,
                seed=seed,
                dp_budget=getattr(model, "dp_budget_", None),
            )
            evaluations[name] = evaluation
            run = DemoRun(
                generator=name,
                fit_seconds=fitted - started,
                sample_seconds=sampled - fitted,
                synthetic_path=out_dir / f"synthetic_{name}.csv",
                report_path=out_dir / f"report_{name}.html",
                json_path=out_dir / f"report_{name}.json",
                summary=evaluation.summary,
            )
            write_table(synthetic, work / run.synthetic_path.name)
            write_report(
                evaluation,
                work / run.report_path.name,
                real=train,
                synthetic=synthetic,
                holdout=holdout,
                title=f"{name} on NHEFS",
            )
            evaluation.to_json(work / run.json_path.name)
            result.runs.append(run)
        report(progress, "demo generators", len(names), len(names))
        leaderboard = compare(evaluations)
        write_comparison_report(leaderboard, evaluations, work / "leaderboard.html")
        result.leaderboard_path = out_dir / "leaderboard.html"
        if out_dir.exists():
            shutil.rmtree(out_dir)
        work.rename(out_dir)
        umask = os.umask(0)
        os.umask(umask)
        out_dir.chmod(0o777 & ~umask)  # mkdtemp makes the folder private; follow the umask
    finally:
        if work.exists():
            shutil.rmtree(work)
    return result
