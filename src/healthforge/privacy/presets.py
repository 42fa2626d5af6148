"""Privacy presets a data steward can pick without knowing the mechanisms.

=========  ====================================  ==========  ======  =====================
preset     generator                             epsilon     filter  bounds
=========  ====================================  ==========  ======  =====================
none       any (default bayesian_network)        -           off     -
standard   any non-DP or DP generator            as given    on      -
strict     a DP generator (default ``aim``)      <= 1        on      public, from schema
=========  ====================================  ==========  ======  =====================

See ``docs/privacy.md`` for what each promises and what it does not.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from healthforge.errors import HealthForgeError
from healthforge.generators import generator_class, is_private, private_generator_names

PRESET_NAMES = ("none", "standard", "strict")
STRICT_EPSILON = 1.0
STRICT_GENERATOR = "aim"


@dataclass(frozen=True)
class PrivacyPlan:
    """What a preset resolves to: the generator, its parameters and whether to filter."""

    preset: str
    generator: str
    params: dict[str, Any] = field(default_factory=dict)
    privacy_filter: bool = False
    needs_schema: bool = False


def resolve_preset(
    preset: str, generator: str | None = None, params: dict[str, Any] | None = None
) -> PrivacyPlan:
    """The plan for ``preset`` given the user's generator choice (``None``: the default).

    Raises :class:`HealthForgeError` when the choice contradicts the preset (e.g. a
    non-DP generator, or epsilon above 1, under ``strict``).
    """
    params = dict(params or {})
    if preset not in PRESET_NAMES:
        raise HealthForgeError(
            f"unknown privacy preset '{preset}'", f"choose one of: {', '.join(PRESET_NAMES)}"
        )
    if preset == "none":
        return PrivacyPlan(preset, generator or "bayesian_network", params)
    if preset == "standard":
        return PrivacyPlan(preset, generator or "bayesian_network", params, privacy_filter=True)
    name = generator or STRICT_GENERATOR
    if not generator_class(name).differential_privacy:
        raise HealthForgeError(
            f"--privacy strict needs a differentially private generator, not '{name}'",
            f"use {', '.join(private_generator_names())} (or leave --generator out for aim)",
        )
    epsilon = params.setdefault("epsilon", STRICT_EPSILON)
    if isinstance(epsilon, int | float) and epsilon > STRICT_EPSILON:
        raise HealthForgeError(
            f"--privacy strict allows epsilon up to {STRICT_EPSILON:g}, not {epsilon}",
            "lower epsilon, or use --privacy standard with a DP generator for a larger budget",
        )
    if params.get("bounds", "schema") != "schema":
        raise HealthForgeError("--privacy strict takes bounds from the schema only")
    params["bounds"] = "schema"
    # the class can be private; the configured instance must be (lm: epsilon is set above)
    if not is_private(name, params):
        raise HealthForgeError(
            f"--privacy strict needs a differentially private generator; '{name}' with "
            "these parameters is not private",
            f"use {', '.join(private_generator_names())} with an epsilon of at most "
            f"{STRICT_EPSILON:g}",
        )
    return PrivacyPlan(preset, name, params, privacy_filter=True, needs_schema=True)
