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
from healthforge.progress import ProgressCallback, report

PRIVACY_CHOICES = ("none", "standard", "strict")
MIN_SUBSET_ROWS = 2  # fewer real rows satisfying the conditions: nothing to compare with
MIN_HOLDOUT_ROWS = 10  # fewer: evaluate without holdout rather than on a handful of people


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


def privacy_plan(choice: str, generator: str, params: dict[str, Any]) -> Any:
    """The privacy presets' plan for ``choice`` (``None`` for ``none``).

    Applied through :func:`healthforge.privacy.presets.resolve_preset` when that library
    is installed; otherwise only ``none`` is accepted.
    """
    if choice == "none":
        return None
    try:
        from healthforge.privacy.presets import resolve_preset
    except ImportError:
        raise HealthForgeError(
            f"privacy '{choice}' needs the privacy presets, which this installation lacks",
            "use privacy: none",
        ) from None
    return resolve_preset(choice, generator, dict(params))


def _public_schema(spec: Scenario, plan: Any) -> Any:
    """The scenario's schema file, loaded; ``None`` if it names none.

    Raises :class:`HealthForgeError` when its privacy plan needs public bounds and the
    scenario gives no schema.
    """
    from healthforge.data.schema import Schema

    if spec.schema is None:
        if plan is not None and getattr(plan, "needs_schema", False):
            raise HealthForgeError(
                f"scenario '{spec.name}': privacy '{spec.privacy}' needs public bounds for its "
                "DP generator, and the scenario names no schema",
                "add 'schema: FILE' with categories and minimum/maximum known without the data "
                "(start from `healthforge profile DATA --schema-out FILE`), or use privacy: "
                "standard",
            )
        return None
    path = Path(spec.schema)
    if not path.is_absolute() and spec.path is not None:
        path = Path(spec.path).parent / path
    return Schema.load(path)


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
    caller checks them before (the CLI refuses to overwrite).
    """
    from healthforge.data import load_table, prepare
    from healthforge.data.derived import add_derived
    from healthforge.data.io import write_table
    from healthforge.data.prepare import PreparedData
    from healthforge.evaluation import evaluate, split_train_holdout
    from healthforge.generators import get_generator
    from healthforge.generators.conditions import mask, parse_conditions, resolve
    from healthforge.generators.fair import FairGenerator

    spec = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    spec.validate()
    n_rows = spec.rows if rows is None else rows
    if isinstance(n_rows, bool) or not isinstance(n_rows, int) or n_rows < 1:
        raise HealthForgeError(f"rows must be a positive whole number, not {n_rows!r}")
    seed = spec.seed if seed is None else seed
    name = generator or spec.generator
    params = dict(spec.params)
    plan = privacy_plan(spec.privacy, name, params)
    notes: list[str] = []
    if plan is not None:
        name, params = plan.generator, dict(plan.params)
    public = _public_schema(spec, plan)
    report(progress, "scenario", 0, 4)
    table = load_table(spec.dataset)
    if public is not None and get_generator(name).differential_privacy:
        from healthforge.generators.dp_base import conform_to_schema

        # values outside the public schema are clipped or made missing, never added
        table = conform_to_schema(table, public)
    prepared = prepare(table, public, spec.target, spec.drop, source=spec.dataset)
    schema = prepared.schema
    conditions = resolve(parse_conditions(spec.conditions), schema)  # fail before fitting
    train, holdout = split_train_holdout(
        prepared.frame, schema.target, spec.holdout_fraction, seed=seed
    )
    everyone = mask(prepared.frame, conditions)
    real_subset = train[mask(train, conditions)].reset_index(drop=True)
    holdout_subset = holdout[mask(holdout, conditions)].reset_index(drop=True)
    if len(real_subset) < MIN_SUBSET_ROWS:
        raise HealthForgeError(
            f"only {len(real_subset)} real training rows satisfy "
            + "; ".join(spec.conditions)
            + ": there is nothing to compare the synthetic rows with",
            "relax the conditions",
        )
    if len(holdout_subset) < MIN_HOLDOUT_ROWS:
        notes.append(
            f"only {len(holdout_subset)} holdout rows satisfy the conditions: evaluated without "
            "a holdout (utility and privacy attacks are skipped)"
        )
        holdout_subset = None
    if len(real_subset) < 50:
        notes.append(
            f"the real comparison group has {len(real_subset)} rows: read fidelity as indicative"
        )
    report(progress, "scenario", 1, 4)
    if spec.fair_by:
        model = FairGenerator(base=name, fair_by=spec.fair_by, params=params, seed=seed)
    else:
        model = get_generator(name, seed=seed, **params)
    if public is not None and model.differential_privacy:
        model.fit(train, schema)  # a schema passed to a DP generator is its public domain
    else:
        model.fit(PreparedData(train, schema, prepared.excluded))
    report(progress, "scenario", 2, 4)
    if plan is not None and plan.privacy_filter:
        from healthforge.privacy.filter import PrivacyFilter, filtered_sample

        # rows too close to a real training record are dropped and redrawn
        guard = PrivacyFilter(train, holdout, schema)
        synthetic, removed = filtered_sample(model, n_rows, guard, seed=seed, conditions=conditions)
        notes.append(f"privacy filter removed {removed.removed:,} of {removed.rows_in:,} rows")
    else:
        synthetic = model.sample(n_rows, seed=seed, conditions=conditions)
    report(progress, "scenario", 3, 4)
    target = schema.target
    if target is not None and real_subset[target].nunique(dropna=False) < 2:
        notes.append(f"'{target}' is constant given the conditions: no utility target")
        target = None
    evaluation = evaluate(
        real_subset,
        synthetic,
        holdout=holdout_subset,
        schema=schema.with_target(None) if target is None else schema,
        target=target,
        fairness_by=spec.fairness_by,
        seed=seed,
        n_estimators=n_estimators,
        dp_budget=getattr(model, "dp_budget_", None),
    )
    result = ScenarioResult(
        scenario=spec,
        synthetic=synthetic,
        real_subset=real_subset,
        holdout_subset=holdout_subset,
        evaluation=evaluation,
        rows_real=int(everyone.sum()),
        share_real=float(everyone.mean()),
        notes=notes,
    )
    if out is not None:
        result.out = Path(out)
        write_table(synthetic, result.out)
    if json_path is not None:
        result.json = Path(json_path)
        evaluation.to_json(result.json)
    if report_path is not None:
        from healthforge.evaluation.report import write_report

        result.report = Path(report_path)
        write_report(
            evaluation,
            result.report,
            add_derived(real_subset, schema),
            synthetic,
            holdout_subset,
            title=f"Scenario {spec.name}: {spec.title or '; '.join(spec.conditions)}",
        )
    report(progress, "scenario", 4, 4)
    return result
