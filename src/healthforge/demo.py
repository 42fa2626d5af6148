"""The demo: synthetic NHEFS from every generator, each evaluated against a holdout.

A plain library function with structured results so the CLI, the service and the AI
partner can all run it; the CLI only prints what it returns.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from healthforge.data import get_dataset
from healthforge.errors import HealthForgeError
from healthforge.generators import generator_names
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
    from healthforge.evaluation.compare import compare, write_comparison_report
    from healthforge.pipeline import run

    out_dir = Path(out_dir)
    if out_dir.exists() and not force:
        raise HealthForgeError(f"'{out_dir}' already exists", "pass --force to replace it")
    if generators == ["all"]:
        names = generator_names(installed_only=True)
    else:
        names = generators or [g for g in DEMO_GENERATORS if g in generator_names()]
    dataset = get_dataset(DEMO_DATASET)
    work = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent or "."))
    result = DemoResult(
        out_dir=out_dir,
        dataset=DEMO_DATASET,
        rows_train=0,
        rows_holdout=0,
        # yrdth/modth/dadth are only filled when death = 1: they would leak the target
        dropped=list(dataset.leaky_for_target),
        not_run=[g for g in generator_names() if g not in names],
    )
    try:
        # unknown names fail (the specs are validated) before any work
        specs = [demo_spec(name, work, seed, first=step == 0) for step, name in enumerate(names)]
        evaluations = {}
        for step, (name, spec) in enumerate(zip(names, specs, strict=True)):
            report(progress, "demo generators", step, len(names))
            done = run(spec)
            assert done.train is not None and done.holdout is not None
            result.rows_train, result.rows_holdout = len(done.train), len(done.holdout)
            evaluations[name] = done.evaluation
            result.runs.append(
                DemoRun(
                    generator=name,
                    fit_seconds=done.timings["build"] + done.timings["fit"],
                    sample_seconds=done.timings["sample"],
                    synthetic_path=out_dir / f"synthetic_{name}.csv",
                    report_path=out_dir / f"report_{name}.html",
                    json_path=out_dir / f"report_{name}.json",
                    summary=done.evaluation.summary,
                )
            )
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


def demo_spec(name: str, folder: Path, seed: int = 0, first: bool = True) -> Any:
    """The demo's run of generator ``name``: fit on 80% of NHEFS, sample as many rows,
    evaluate on the other 20%, outputs in ``folder`` (the split too when ``first``)."""
    from healthforge import pipeline as hp

    dataset = get_dataset(DEMO_DATASET)
    return hp.RunSpec(
        data=hp.DataSpec(
            source=f"bundled:{DEMO_DATASET}",
            target=dataset.target,
            infer_target=False,
            # yrdth/modth/dadth are only filled when death = 1: they would leak the target
            drop=list(dataset.leaky_for_target),
            # A DP generator treats a schema it is given as public knowledge. NHEFS's
            # categories and ranges are published in its codebook, so the demo passes the
            # bundled schema; for your own data, declare them (docs/privacy.md).
            schema_from_data=True,
        ),
        generator=hp.GeneratorSpec(name=name),
        seed=seed,
        split=hp.SplitSpec(holdout_fraction=0.2, before_prepare=True),
        evaluation=hp.EvaluationSpec(title=f"{name} on NHEFS"),
        outputs=hp.OutputSpec(
            synthetic=str(folder / f"synthetic_{name}.csv"),
            report=str(folder / f"report_{name}.html"),
            json=str(folder / f"report_{name}.json"),
            train=str(folder / "real_train.csv") if first else None,
            holdout=str(folder / "real_holdout.csv") if first else None,
        ),
    ).validate()
