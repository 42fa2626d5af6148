"""The :class:`Scenario` type: its fields, their validation, its YAML parsing and its
:class:`~healthforge.pipeline.RunSpec` (a scenario file *is* a run specification)."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from healthforge.errors import HealthForgeError

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
        from healthforge.generators import conditions as cond
        from healthforge.generators import get_generator

        get_generator(self.generator, **self.params)  # unknown generator or parameter
        cond.parse_conditions(self.conditions)  # bad syntax fails before any data is read

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
        from healthforge import pipeline as hp

        schema = None
        if self.schema is not None:  # relative to the scenario file
            path = Path(self.schema)
            if not path.is_absolute() and self.path is not None:
                path = Path(self.path).parent / path
            schema = str(path)
        return hp.RunSpec(
            data=hp.DataSpec(
                source=self.dataset,
                schema=schema,
                target=self.target,
                infer_target=False,  # a scenario names its target, or has none
                drop=list(self.drop),
            ),
            generator=hp.GeneratorSpec(
                name=generator or self.generator,
                params=dict(self.params),
                fair=hp.FairSpec(by=self.fair_by) if self.fair_by else None,
            ),
            privacy=self.privacy,
            conditions=list(self.conditions),
            rows=self.rows if rows is None else rows,
            seed=self.seed if seed is None else seed,
            split=hp.SplitSpec(holdout_fraction=self.holdout_fraction),
            evaluation=hp.EvaluationSpec(
                against="conditioned",
                fairness_by=self.fairness_by,
                n_estimators=n_estimators,
                title=f"Scenario {self.name}: {self.title or '; '.join(self.conditions)}",
            ),
            outputs=hp.OutputSpec(
                synthetic=None if out is None else str(out),
                report=None if report_path is None else str(report_path),
                json=None if json_path is None else str(json_path),
            ),
            name=self.name,
            title=self.title,
            description=self.description,
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
