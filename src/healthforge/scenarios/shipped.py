"""The shipped scenarios (the YAML files in ``presets/``, package data) and a user's file."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from healthforge.errors import HealthForgeError
from healthforge.scenarios.model import Scenario, _parse

if TYPE_CHECKING:
    from healthforge.pipeline.spec import RunSpec


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


def load_spec(path: str | Path) -> RunSpec:
    """A run specification from YAML: a scenario file (flat scenario fields) or a nested
    run specification (with a ``data:`` section).

    Here, not on :class:`RunSpec`, because reading a scenario needs this package and the
    pipeline must not import it back.
    """
    import yaml

    from healthforge.pipeline.spec import RunSpec

    text = Path(path).read_text(encoding="utf-8") if Path(path).is_file() else ""
    try:
        data = yaml.safe_load(text) if text else None
    except yaml.YAMLError as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise HealthForgeError(f"{path} is not valid YAML: {first}") from None
    if isinstance(data, dict) and "data" in data:
        return RunSpec.from_dict(data, str(path))
    return load_scenario(path).to_spec()
