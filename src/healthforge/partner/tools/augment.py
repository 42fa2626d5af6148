"""augment: add synthetic rows for the small groups of a column and measure, on repeated
real holdouts, whether downstream models get better - ``healthforge augment``'s library
call (:func:`healthforge.augment.augment_experiment`, which runs its fits through the
pipeline as branches of one spec).
"""

from __future__ import annotations

from typing import Any, Literal

import pydantic

from healthforge.partner.tools.data import check_modelled, dropped, profiled
from healthforge.partner.tools.generation import describe_or_refuse

# duplicates: every tool module imports the same registry pieces
from healthforge.partner.tools.registry import (
    Params,
    Tool,
    ToolContext,
    ToolError,
    ToolResult,
    register,
)
from healthforge.partner.tools.runs import TABLE_SUFFIXES, output_file, rel


class AugmentArgs(Params):
    balance: str = pydantic.Field(description="the column whose small groups get rows")
    generator: str = pydantic.Field("cart", description="generator of the added rows")
    strategy: Literal["equal", "proportional", "to-size"] = pydantic.Field(
        "equal", description="equal: top every group up to the largest; to-size: to size"
    )
    size: int | None = pydantic.Field(None, description="rows per group for to-size")
    repeats: int = pydantic.Field(3, description="seeded train/holdout splits, 2 to 10")
    output: str = pydantic.Field("augmented.csv", description="real plus added rows")
    report: str = pydantic.Field("augment_report.html", description="the experiment's page")
    overwrite: bool = False


def _check(ctx: ToolContext, args: AugmentArgs) -> None:
    check_modelled(ctx, args.balance)
    schema = profiled(ctx)
    if not schema[args.balance].is_discrete:
        raise ToolError(
            f"'{args.balance}' has no groups (it is {schema[args.balance].kind})",
            "balance a categorical column such as sex or race",
        )
    if ctx.target is None:
        raise ToolError(
            "augmentation is measured on an outcome and none is named",
            "load the table again with its target (load_data with target)",
        )
    if args.balance == ctx.target:
        raise ToolError("the balance column and the outcome must differ", "balance a group")
    describe_or_refuse(args.generator)
    if not 2 <= args.repeats <= 10:
        raise ToolError(f"repeats must be between 2 and 10, not {args.repeats}", "e.g. 3")
    if args.strategy == "to-size" and (args.size is None or args.size < 1):
        raise ToolError("strategy to-size needs a positive size", "e.g. size: 200")
    output_file(ctx, args.output, args.overwrite, TABLE_SUFFIXES)
    output_file(ctx, args.report, args.overwrite, (".html", ".htm"))


def _read(ctx: ToolContext) -> tuple[Any, str, list[str], list[str]]:
    """The rows, target and drops as ``healthforge augment`` reads them."""
    from healthforge.augment import read_source

    if ctx.source is not None:
        return read_source(ctx.source, ctx.target, dropped(ctx))
    assert ctx.frame is not None and ctx.target is not None
    return ctx.frame, ctx.target, dropped(ctx), []


def _augment(ctx: ToolContext, args: AugmentArgs) -> ToolResult:
    from healthforge.augment import augment_experiment, write_augment_report
    from healthforge.data import write_table
    from healthforge.errors import HealthForgeError

    out = output_file(ctx, args.output, args.overwrite, TABLE_SUFFIXES)
    report = output_file(ctx, args.report, args.overwrite, (".html", ".htm"))
    real, target, drop, leaky = _read(ctx)
    options = {
        "generator": args.generator,
        "strategy": args.strategy,
        "size": args.size,
        "repeats": args.repeats,
        "seed": ctx.seed,
        "drop": drop,
    }
    try:
        result = augment_experiment(real, args.balance, target, progress=ctx.progress, **options)
    except HealthForgeError as exc:
        raise ToolError(exc.message, exc.hint) from None
    write_table(result.augmented, out)
    write_augment_report(result, report)
    added = ", ".join(f"{args.balance}={g}: +{k:,}" for g, k in result.added.items() if k)
    summary = (
        f"Added synthetic rows ({added or 'none needed'}) and wrote {len(result.augmented):,} "
        f"rows to {rel(ctx, out)}; the experiment's page is {rel(ctx, report)}. "
        f"{result.conclusion}"
    )
    if leaky:
        summary += f" Left out {', '.join(leaky)}: they reveal {target}."
    code = (
        "from healthforge.augment import augment_experiment, read_source, "
        "write_augment_report\n"
        "from healthforge.data import write_table\n\n"
        f"real, target, drop, _ = read_source({ctx.source!r}, {ctx.target!r}, "
        f"{dropped(ctx)!r})\n"
        f"result = augment_experiment(real, {args.balance!r}, target, "
        f"generator={args.generator!r}, strategy={args.strategy!r}, size={args.size!r}, "
        f"repeats={args.repeats!r}, seed={ctx.seed!r}, drop=drop)\n"
        f"write_table(result.augmented, {str(out)!r})\n"
        f"write_augment_report(result, {str(report)!r})"
    )
    ctx.results.setdefault("steps_code", []).append(code)
    data = result.summary()
    data["rows_written"] = len(result.augmented)
    return ToolResult(
        summary=summary, data=data, files=[rel(ctx, out), rel(ctx, report)], code=code
    )


def _approval(ctx: ToolContext, args: AugmentArgs) -> str | None:
    return (
        f"fits {args.generator} {args.repeats + 1} times on your real data (one per repeated "
        f"split, and one on all rows), and writes {args.output} (your real rows plus the "
        f"added synthetic rows) and {args.report} into the session folder"
    )


augment = register(
    Tool(
        name="augment",
        description="Add synthetic rows for the under-represented groups of a column and "
        "measure whether models of the outcome improve for them.",
        params=AugmentArgs,
        run=_augment,
        approval=_approval,
        check=_check,
    )
)
