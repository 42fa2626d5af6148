"""Scenarios: named presets for common research needs (dataset, conditions, generator, privacy).

A scenario is a small YAML file::

    name: geriatric
    title: NHEFS participants aged 65 and over
    description: ...
    dataset: bundled:nhefs          # or a file path
    drop: [yrdth, modth, dadth]     # optional
    target: death                   # optional
    conditions: [age_group=65+]     # every synthetic row satisfies them
    generator: bayesian_network
    params: {}                      # generator parameters, optional
    rows: 500
    privacy: none                   # none | standard | strict
    schema: public_schema.yaml      # optional; strict needs it: public bounds (see below)
    fair_by: race                   # optional: one generator per group (FairGenerator)
    fairness_by: sex                # optional: per-group evaluation
    holdout_fraction: 0.2
    seed: 0

:func:`run_scenario` fits the generator on a training split of the *whole* dataset,
samples rows satisfying the conditions and evaluates them against the real training
rows satisfying the same conditions (with the real holdout rows satisfying them as the
holdout). Shipped presets live in ``presets/``; :func:`list_scenarios` lists them.

``privacy: strict`` runs the privacy preset's differentially private generator (``aim``
unless the scenario names another DP generator) at its epsilon with the privacy filter.
A DP generator may only take numeric bounds and categories that are public knowledge,
never ones read off the data: such a scenario names a ``schema`` file (a path relative
to the scenario file) that declares them, and fails with a clear message without one.
Conditions may use value labels (``sex=female``) where the schema has them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from healthforge.errors import HealthForgeError
from healthforge.progress import ProgressCallback

PRIVACY_CHOICES = ("none", "standard", "strict")


@dataclass
class Scenario:
    """A research preset; see the module docstring for the YAML fields."""

    name: str
    dataset: str
    title: str = ""
    description: str = ""
    conditions: list[str] = field(default_factory=list)
    generator: str = "bayesian_network"
    params: dict[str, Any] = field(default_factory=dict)
    rows: int = 1000
    privacy: str = "none"
    target: str | None = None
    drop: list[str] = field(default_factory=list)
    fair_by: str | None = None
    fairness_by: str | None = None
    schema: str | None = None  # public schema file, relative to the scenario file
    holdout_fraction: float = 0.2
    seed: int = 0
    path: str | None = None  # where it was read from; not a YAML field

    def validate(self) -> None:
        """Raise :class:`HealthForgeError` for fields that cannot work."""
        where = f"scenario '{self.name}'"
        if self.privacy not in PRIVACY_CHOICES:
            raise HealthForgeError(
                f"{where}: unknown privacy choice '{self.privacy}'",
                f"use one of: {', '.join(PRIVACY_CHOICES)}",
            )
        if isinstance(self.rows, bool) or not isinstance(self.rows, int) or self.rows < 1:
            raise HealthForgeError(f"{where}: rows must be a positive whole number")
        if not 0.0 < float(self.holdout_fraction) < 1.0:
            raise HealthForgeError(f"{where}: holdout_fraction must be between 0 and 1")
        for name in ("conditions", "drop"):
            value = getattr(self, name)
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise HealthForgeError(f"{where}: '{name}' must be a list of strings")
        if not isinstance(self.params, dict):
            raise HealthForgeError(f"{where}: 'params' must be a mapping of NAME: VALUE")
        from healthforge.generators import get_generator
        from healthforge.generators.conditions import parse_conditions

        get_generator(self.generator, **self.params)  # unknown generator or parameter
        parse_conditions(self.conditions)  # bad syntax fails before any data is read

    def to_spec(
        self,
        rows: int | None = None,
        seed: int | None = None,
        generator: str | None = None,
        n_estimators: int = 200,
        out: str | Path | None = None,
        report_path: str | Path | None = None,
        json_path: str | Path | None = None,
    ) -> Any:
        """This scenario as a :class:`~healthforge.pipeline.RunSpec` (a scenario file *is*
        a run specification); the arguments override the scenario's fields."""
        from healthforge.pipeline import (
            DataSpec,
            EvaluationSpec,
            FairSpec,
            GeneratorSpec,
            OutputSpec,
            RunSpec,
            SplitSpec,
        )

        schema = None
        if self.schema is not None:  # relative to the scenario file
            path = Path(self.schema)
            if not path.is_absolute() and self.path is not None:
                path = Path(self.path).parent / path
            schema = str(path)
        return RunSpec(
            data=DataSpec(
                source=self.dataset,
                schema=schema,
                target=self.target,
                infer_target=False,  # a scenario names its target, or has none
                drop=list(self.drop),
            ),
            generator=GeneratorSpec(
                name=generator or self.generator,
                params=dict(self.params),
                fair=FairSpec(by=self.fair_by) if self.fair_by else None,
            ),
            privacy=self.privacy,
            conditions=list(self.conditions),
            rows=self.rows if rows is None else rows,
            seed=self.seed if seed is None else seed,
            split=SplitSpec(holdout_fraction=self.holdout_fraction),
            evaluation=EvaluationSpec(
                against="conditioned",
                fairness_by=self.fairness_by,
                n_estimators=n_estimators,
                title=f"Scenario {self.name}: {self.title or '; '.join(self.conditions)}",
            ),
            outputs=OutputSpec(
                synthetic=None if out is None else str(out),
                report=None if report_path is None else str(report_path),
                json=None if json_path is None else str(json_path),
            ),
            name=self.name,
            title=self.title,
            description=self.description,
        )


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


def _presets() -> Any:
    return resources.files("healthforge.scenarios").joinpath("presets")


def list_scenarios() -> list[Scenario]:
    """The shipped scenarios, by name."""
    found = []
    for entry in sorted(_presets().iterdir(), key=lambda e: e.name):
        if entry.name.endswith((".yaml", ".yml")):
            found.append(_parse(entry.read_text(encoding="utf-8"), f"preset {entry.name}"))
    return found


def load_scenario(name_or_path: str | Path) -> Scenario:
    """A shipped scenario by name, or a user's YAML file by path."""
    text = str(name_or_path)
    path = Path(text)
    if text.endswith((".yaml", ".yml")) or path.is_file():
        if not path.is_file():
            raise HealthForgeError(f"scenario file '{path}' does not exist")
        scenario = _parse(path.read_text(encoding="utf-8"), str(path))
        scenario.path = str(path)
        return scenario
    for scenario in list_scenarios():
        if scenario.name == text:
            return scenario
    names = ", ".join(s.name for s in list_scenarios())
    raise HealthForgeError(
        f"no scenario called '{text}'",
        f"choose one of: {names}, or pass your own scenario YAML file",
    )


def _parse(text: str, where: str) -> Scenario:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise HealthForgeError(f"scenario {where} is not valid YAML: {first}") from None
    if not isinstance(data, dict) or "name" not in data or "dataset" not in data:
        raise HealthForgeError(
            f"scenario {where} needs at least 'name' and 'dataset'",
            "see `healthforge scenario show geriatric` for a complete example",
        )
    known = {f.name for f in fields(Scenario)} - {"path"}
    unknown = set(data) - known
    if unknown:
        raise HealthForgeError(
            f"scenario {where} has unknown fields: {', '.join(sorted(unknown))}",
            f"allowed fields: {', '.join(sorted(known))}",
        )
    data["conditions"] = list(data.get("conditions") or [])
    data["drop"] = list(data.get("drop") or [])
    data["params"] = dict(data.get("params") or {})
    if data.get("privacy") == "strict" and "generator" not in data:
        from healthforge.privacy.presets import STRICT_GENERATOR

        data["generator"] = STRICT_GENERATOR  # the preset's DP generator, not the default
    scenario = Scenario(**data)
    scenario.validate()
    return scenario


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
