"""The one place a privacy preset is resolved for a run specification.

Its own module so that :meth:`RunSpec.validate` can check a spec's privacy choices without
importing the steps that run it (which import the spec: a loop).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from healthforge.errors import HealthForgeError

if TYPE_CHECKING:
    from healthforge.pipeline.spec import RunSpec


def privacy_plan(spec: RunSpec) -> Any:
    """The privacy preset's generator, parameters and filter choice: the one place a
    preset is resolved (the CLI, scenarios and saved specs all come here)."""
    from healthforge.generators import describe, is_private, private_generator_names
    from healthforge.privacy.presets import resolve_preset

    chosen: str | None = spec.generator.name
    if spec.privacy == "strict" and spec.generator.default_choice:
        chosen = None  # the default generator is not a choice a strict preset must refuse
    plan = resolve_preset(spec.privacy, chosen, dict(spec.generator.params))
    if plan.needs_schema and spec.data.schema is None:
        raise HealthForgeError(
            f"privacy '{spec.privacy}' needs public bounds for its DP generator: a schema "
            "with categories and numeric minimum/maximum known without the data",
            "write one with `healthforge profile DATA --schema-out schema.yaml`, set the bounds "
            "from domain knowledge, and pass it with --schema (a scenario: 'schema: FILE')",
        )
    dp_keys = {"epsilon", "delta"} & set(spec.generator.params)
    if dp_keys and not describe(plan.generator).differential_privacy:
        raise HealthForgeError(
            f"epsilon/delta apply to DP generators; '{plan.generator}' is not one",
            f"use one of: {' | '.join(private_generator_names())}",
        )
    if spec.generator.fair is not None and is_private(plan.generator, plan.params):
        # one DP model per group would need a per-group budget this wrapper does not account
        raise HealthForgeError(
            f"fair_by does not wrap the differentially private generator '{plan.generator}'",
            "drop fair_by, or use a non-DP generator such as cart or bayesian_network",
        )
    return plan
