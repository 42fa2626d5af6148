"""run_scenario: a shipped research preset (dataset, conditions, generator, privacy) as
``healthforge scenario run`` runs it - the scenario's RunSpec through the pipeline."""

from __future__ import annotations

from typing import Any

import pydantic

from healthforge.partner.tools.evaluation import scores
from healthforge.partner.tools.generation import MAX_ROWS, describe_or_refuse

# duplicates: every tool module imports the same registry pieces
from healthforge.partner.tools.registry import (
    Params,
    Tool,
    ToolContext,
    ToolError,
    ToolResult,
    check_known,
    register,
)
from healthforge.partner.tools.runs import (
    TABLE_SUFFIXES,
    build_spec,
    execute,
    output_file,
    rel,
    spec_code,
)


def _names() -> list[str]:
    from healthforge.scenarios import list_scenarios

    return [s.name for s in list_scenarios()]


class ScenarioArgs(Params):
    name: str = pydantic.Field(description="a shipped scenario, e.g. icu or geriatric")
    rows: int | None = pydantic.Field(None, description="rows (default: the scenario's)")
    generator: str | None = pydantic.Field(None, description="override the generator")
    seed: int | None = pydantic.Field(None, description="override the seed")
    overwrite: bool = False


def _scenario(name: str) -> Any:
    from healthforge.scenarios import load_scenario

    names = _names()
    check_known(
        name, names, f"there is no scenario '{name}'", f"the scenarios are: {', '.join(names)}"
    )
    return load_scenario(name)


def _spec(ctx: ToolContext, args: ScenarioArgs) -> Any:
    scenario = _scenario(args.name)
    if args.generator is not None:
        describe_or_refuse(args.generator)
    if args.rows is not None and not 1 <= args.rows <= MAX_ROWS:
        raise ToolError(f"rows must be between 1 and {MAX_ROWS:,}, not {args.rows:,}")
    stem = f"scenario_{args.name}"
    out = output_file(ctx, f"{stem}.csv", args.overwrite, TABLE_SUFFIXES)
    json_out = output_file(ctx, f"{stem}.json", args.overwrite, (".json",))
    report = output_file(ctx, f"{stem}.html", args.overwrite, (".html",))
    spec = scenario.to_spec(args.rows, args.seed, args.generator, 200, out, report, json_out)
    return build_spec(spec.to_dict())


def _check(ctx: ToolContext, args: ScenarioArgs) -> None:
    _spec(ctx, args)


def _run(ctx: ToolContext, args: ScenarioArgs) -> ToolResult:
    spec = _spec(ctx, args)
    same = spec.data.source == ctx.source
    pipeline = execute(ctx, spec, table=None)  # the scenario names its own data
    result = pipeline.result()
    if same:
        ctx.results["pipeline"], ctx.results["run"] = pipeline, result
        ctx.results["evaluation"] = result.evaluation.summary
    table = scores(result.evaluation.summary)
    failed = [r["metric"] for r in table if r["status"] == "fail"]
    summary = (
        f"Scenario {spec.name} ({spec.title or '; '.join(spec.conditions)}) on "
        f"{spec.data.source}: {result.rows:,} synthetic rows satisfying "
        f"{'; '.join(spec.conditions) or 'no conditions'}, evaluated against the "
        f"{result.rows_real:,} real rows ({(result.share_real or 0):.1%}) that do; "
        f"{len(failed)} metric(s) fail" + (f" ({', '.join(failed)})." if failed else ".")
    )
    files = [rel(ctx, p) for p in (spec.outputs.synthetic, spec.outputs.json, spec.outputs.report)]
    data = {
        "scenario": spec.name,
        "source": spec.data.source,
        "conditions": list(spec.conditions),
        "rows": result.rows,
        "rows_real": result.rows_real,
        "scores": table,
        "notes": list(result.notes),
    }
    return ToolResult(summary=summary, data=data, files=files, spec=spec, code=spec_code(ctx, spec))


def _approval(ctx: ToolContext, args: ScenarioArgs) -> str | None:
    return (
        f"fits the scenario '{args.name}' generator on its real data, evaluates it and writes "
        f"scenario_{args.name}.csv/.json/.html into the session folder"
    )


run_scenario = register(
    Tool(
        name="run_scenario",
        description="Run a shipped research scenario (conditions, generator and privacy in one "
        "name: " + ", ".join(_names()) + ") and evaluate it.",
        params=ScenarioArgs,
        run=_run,
        approval=_approval,
        check=_check,
        needs_data=False,
    )
)
