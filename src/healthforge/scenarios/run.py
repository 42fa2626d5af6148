"""Running a scenario: :func:`run_scenario` is :func:`healthforge.pipeline.run` of the
scenario's :meth:`~healthforge.scenarios.model.Scenario.to_spec`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from healthforge.progress import ProgressCallback
from healthforge.scenarios.model import Scenario
from healthforge.scenarios.shipped import load_scenario


@dataclass
class ScenarioResult:
    """What :func:`run_scenario` returns; frames are kept for reports and further use."""

    scenario: Scenario
    synthetic: pd.DataFrame
    real_subset: pd.DataFrame
    holdout_subset: pd.DataFrame | None
    evaluation: Any  # EvaluationResult
    rows_real: int
    share_real: float  # share of all real rows satisfying the conditions
    notes: list[str] = field(default_factory=list)
    out: Path | None = None
    report: Path | None = None
    json: Path | None = None


def run_scenario(
    scenario: str | Path | Scenario,
    rows: int | None = None,
    out: str | Path | None = None,
    report_path: str | Path | None = None,
    json_path: str | Path | None = None,
    seed: int | None = None,
    generator: str | None = None,
    n_estimators: int = 200,
    progress: ProgressCallback | None = None,
) -> ScenarioResult:
    """Run a scenario: fit, sample the conditioned rows, evaluate against the real subset.

    ``rows``, ``seed`` and ``generator`` override the scenario's. Outputs (``out`` table,
    ``report_path`` HTML, ``json_path`` summary) are written only when given; the
    caller checks them before (the CLI refuses to overwrite). The work is
    :func:`healthforge.pipeline.run` of :meth:`Scenario.to_spec`.
    """
    from healthforge.pipeline import run

    spec = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    spec.validate()
    result = run(
        spec.to_spec(rows, seed, generator, n_estimators, out, report_path, json_path),
        progress=progress,
    )
    assert result.synthetic is not None and result.real_evaluated is not None
    # duplicates: a record built field by field; alike in shape to other keyword lists
    return ScenarioResult(
        scenario=spec,
        synthetic=result.synthetic,
        real_subset=result.real_evaluated,
        holdout_subset=result.holdout_evaluated,
        evaluation=result.evaluation,
        rows_real=int(result.rows_real or 0),
        share_real=float(result.share_real or 0.0),
        notes=result.notes,
        out=result.synthetic_path,
        report=result.report_path,
        json=result.json_path,
    )
