"""compare: fit several generators on the same split and seed, evaluate each, and rank
them - ``healthforge compare`` (:func:`healthforge.evaluation.compare.compare`) over one
RunSpec per generator run by the pipeline."""

from __future__ import annotations

import dataclasses
from typing import Any

import pydantic

from healthforge.partner.tools.generation import (
    GenerateArgs,
    check_generate,
    describe_or_refuse,
    generate_spec,
)

# duplicates: every tool module imports the same registry pieces
from healthforge.partner.tools.registry import (
    Params,
    Tool,
    ToolContext,
    ToolError,
    ToolResult,
    register,
)
from healthforge.partner.tools.runs import execute, output_file, rel

# -- compare --------------------------------------------------------------------------------


class CompareArgs(Params):
    generators: list[str] = pydantic.Field(
        min_length=2, max_length=4, description="2 to 4 generator names to fit and rank"
    )
    rows: int | None = pydantic.Field(None, description="rows each (default: as many as real)")
    output: str = pydantic.Field("comparison.json", description="the leaderboard (JSON)")
    overwrite: bool = False


def _compare_specs(ctx: ToolContext, args: CompareArgs) -> list[Any]:
    from healthforge.pipeline import EvaluationSpec

    specs = []
    for name in args.generators:
        run_args = GenerateArgs(
            generator=name,
            rows=args.rows,
            output=f"compare_{name}.csv",
            overwrite=args.overwrite,
        )
        spec = generate_spec(ctx, run_args)
        json_out = output_file(ctx, f"compare_{name}.json", args.overwrite, (".json",))
        spec = dataclasses.replace(
            spec,
            evaluation=EvaluationSpec(from_file=True),
            outputs=dataclasses.replace(spec.outputs, json=str(json_out)),
        )
        specs.append(spec.validate())
    return specs


def _check_compare(ctx: ToolContext, args: CompareArgs) -> None:
    if len(set(args.generators)) != len(args.generators):
        raise ToolError("compare lists a generator twice", "name each generator once")
    for name in args.generators:
        describe_or_refuse(name)
    output_file(ctx, args.output, args.overwrite, (".json",))
    for name in args.generators:
        check_generate(ctx, GenerateArgs(generator=name, rows=args.rows, output="x.csv"))
    _compare_specs(ctx, args)


def _compare(ctx: ToolContext, args: CompareArgs) -> ToolResult:
    from healthforge.evaluation.compare import compare, comparison_to_dict, write_comparison_json

    out = output_file(ctx, args.output, args.overwrite, (".json",))
    specs = _compare_specs(ctx, args)
    results = {}
    for spec in specs:
        pipeline = execute(ctx, spec)
        results[spec.generator.name] = pipeline.result().evaluation
    board = compare(results)
    write_comparison_json(board, results, out)
    board_dict = comparison_to_dict(board, results)
    leaderboard = [
        {
            "generator": e["name"],
            "mean_rank": e["mean_rank"],
            "values": {
                k: None if v is None else round(float(v), 3) for k, v in e["values"].items()
            },
            "pass": e.get("pass"),
            "warn": e.get("warn"),
            "fail": e.get("fail"),
        }
        for e in board_dict["leaderboard"]
    ]
    ctx.results["comparison"] = leaderboard
    ctx.results["recommended"] = [e["generator"] for e in leaderboard]
    lines = [
        f"{i + 1}. {e['generator']} (mean rank {e['mean_rank']:.2f})"
        for i, e in enumerate(leaderboard)
    ]
    text = "Compared on the same split and seed:\n" + "\n".join(lines) + "\n" + board_dict["note"]
    files = [rel(ctx, out)] + [rel(ctx, s.outputs.synthetic) for s in specs]
    files += [rel(ctx, s.outputs.json) for s in specs]
    code = _compare_code(ctx, specs, out)
    return ToolResult(
        summary=text,
        data={"leaderboard": leaderboard, "note": board_dict["note"]},
        files=files,
        spec=specs[-1],
        specs=specs,
        code=code,
    )


def _compare_code(ctx: ToolContext, specs: list[Any], out: Any) -> str:
    lines = [
        "from healthforge.evaluation.compare import compare, write_comparison_json",
        "from healthforge.pipeline import RunSpec, run",
        "",
        "results = {}",
    ]
    table = ", table=table" if ctx.source is None else ""
    for spec in specs:
        text = spec.to_json().rstrip("\n")
        lines.append(
            f"results[{spec.generator.name!r}] = run(RunSpec.from_json('''{text}'''){table})"
            ".evaluation"
        )
    lines.append(f"write_comparison_json(compare(results), results, {str(out)!r})")
    return "\n".join(lines)


def _compare_approval(ctx: ToolContext, args: CompareArgs) -> str | None:
    return (
        f"fits {len(args.generators)} generators ({', '.join(args.generators)}) on your real "
        "data, evaluates each against the held-out rows and writes their files into the "
        "session folder"
    )


compare_generators = register(
    Tool(
        name="compare",
        description="Fit several generators on the same split and seed, evaluate each, and "
        "rank them on fidelity, utility and privacy.",
        params=CompareArgs,
        run=_compare,
        approval=_compare_approval,
        check=_check_compare,
    )
)
