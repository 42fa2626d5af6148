"""set_privacy: the privacy preset (none, standard, strict) and epsilon of the runs that
follow, checked as a draft RunSpec by the library's own preset resolution
(:func:`healthforge.pipeline.privacy.privacy_plan`), as ``--privacy``/``--epsilon`` are."""

from __future__ import annotations

from typing import Any, Literal

import pydantic

# duplicates: every tool module imports the same registry pieces
from healthforge.partner.tools.registry import (
    Params,
    Tool,
    ToolContext,
    ToolError,
    ToolResult,
    register,
)
from healthforge.partner.tools.runs import build_spec, check_epsilon, data_section

DEFAULT_GENERATOR = "bayesian_network"
Preset = Literal["none", "standard", "strict"]


# -- set_privacy ----------------------------------------------------------------------------


class PrivacyArgs(Params):
    preset: Preset = pydantic.Field(
        description="none; standard (privacy filter on the output); strict (differential "
        "privacy, epsilon <= 1, public bounds, and the filter)"
    )
    epsilon: float | None = pydantic.Field(
        None, description="DP budget (smaller is more private); strict allows up to 1"
    )
    schema_file: str | None = pydantic.Field(
        None,
        description="a schema with public bounds (needed by strict for your own table)",
    )


PUBLIC_SCHEMA = "public_schema.yaml"  # a bundled table's published domain, for strict


def _schema_for(ctx: ToolContext, args: PrivacyArgs) -> str | None:
    """The public schema file of this choice: the user's, or for strict on a bundled
    table its published codebook written into the session; None when none is needed."""
    if args.schema_file is not None:
        return args.schema_file
    if args.preset != "strict":
        return None
    if not (ctx.source or "").startswith("bundled:"):
        raise ToolError(
            "strict privacy needs public bounds for your table: a schema file",
            "write one with `healthforge profile DATA --schema-out schema.yaml`, set its "
            "bounds from public knowledge, then set_privacy with schema_file",
        )
    return str(ctx.session_dir.resolve() / PUBLIC_SCHEMA)


def _privacy_spec(ctx: ToolContext, args: PrivacyArgs) -> Any:
    """The draft spec of this choice, validated (refuses impossible combinations)."""
    params = {} if args.epsilon is None else {"epsilon": args.epsilon}
    data = data_section(ctx)
    data.pop("schema", None)
    schema = _schema_for(ctx, args)
    if schema is not None:
        data["schema"] = schema
    generator = {"name": DEFAULT_GENERATOR, "params": params, "default_choice": True}
    if args.epsilon is not None and args.preset != "strict":
        generator["name"] = "aim"
    return build_spec({"data": data, "generator": generator, "privacy": args.preset})


def _check_privacy(ctx: ToolContext, args: PrivacyArgs) -> None:
    check_epsilon(args.epsilon)
    if args.schema_file is not None:
        from pathlib import Path

        if not Path(args.schema_file).is_file():
            raise ToolError(
                f"schema file '{args.schema_file}' does not exist",
                "write one with `healthforge profile DATA --schema-out schema.yaml` and set "
                "its bounds from public knowledge",
            )
    _privacy_spec(ctx, args)


def _set_privacy(ctx: ToolContext, args: PrivacyArgs) -> ToolResult:
    spec = _privacy_spec(ctx, args)
    from healthforge.pipeline.privacy import privacy_plan

    plan = privacy_plan(spec)
    settings: dict[str, Any] = {"preset": args.preset}
    if args.epsilon is not None:
        settings["epsilon"] = args.epsilon
    files: list[str] = []
    code = ""
    if spec.data.schema is not None:
        settings["schema"] = spec.data.schema
        if args.schema_file is None:  # the bundled table's published codebook
            from healthforge.data import load_table, prepare

            source = str(ctx.source)
            prepare(load_table(source), source=source).schema.save(spec.data.schema)
            files.append(PUBLIC_SCHEMA)
            code = (
                "from healthforge.data import load_table, prepare\n\n"
                f"prepare(load_table({source!r}), source={source!r}).schema.save("
                f"{spec.data.schema!r})\n"
            )
    ctx.results["privacy"] = settings
    text = {
        "none": "No privacy protection beyond never modelling direct identifiers.",
        "standard": "Standard: synthetic rows that copy or sit too close to a real record, or "
        "carry a unique quasi-identifier combination, are removed before writing.",
        "strict": f"Strict: a differentially private generator ({plan.generator}, epsilon "
        f"{plan.params.get('epsilon', 1.0):g}) with bounds from the public schema, and the "
        "privacy filter.",
    }[args.preset]
    if args.epsilon is not None and args.preset != "strict":
        text += f" Epsilon {args.epsilon:g} applies to a differentially private generator."
    if files:
        text += f" The published domain of {ctx.source} is written to {PUBLIC_SCHEMA}."
    data = {
        "preset": args.preset,
        "epsilon": plan.params.get("epsilon"),
        "default_generator": plan.generator,
        "privacy_filter": plan.privacy_filter,
    }
    given = {} if args.epsilon is None else {"epsilon": args.epsilon}
    code += (
        "from healthforge.privacy.presets import resolve_preset\n\n"
        f"plan = resolve_preset({args.preset!r}, None, {given!r})"
    )
    return ToolResult(summary=text, data=data, files=files, code=code)


def _privacy_approval(ctx: ToolContext, args: PrivacyArgs) -> str | None:
    reason = f"a privacy choice: preset '{args.preset}'"
    if args.epsilon is not None:
        reason += f" with epsilon {args.epsilon:g}"
    if args.preset == "strict" and args.schema_file is None:
        reason += f"; writes {PUBLIC_SCHEMA} (the bundled table's published domain)"
    return reason


set_privacy = register(
    Tool(
        name="set_privacy",
        description="Choose the privacy preset (none, standard, strict) and epsilon for the "
        "runs that follow.",
        params=PrivacyArgs,
        run=_set_privacy,
        approval=_privacy_approval,
        check=_check_privacy,
    )
)
