"""Tools that choose and run a generator: recommend_generators, set_privacy, generate.

``generate`` is ``healthforge generate``: one validated RunSpec (fit, sample with the
conditions, the privacy filter of the preset, write) run by the pipeline on the table.
"""

from __future__ import annotations

import importlib.util
from typing import Any, Literal

import pydantic

from healthforge.generators import describe, generator_names
from healthforge.partner.tools.data import check_modelled, profiled
from healthforge.partner.tools.privacy import DEFAULT_GENERATOR, Preset
from healthforge.partner.tools.recommend import recommend

# duplicates: every tool module imports the same registry pieces
from healthforge.partner.tools.registry import (
    Params,
    Tool,
    ToolContext,
    ToolError,
    ToolResult,
    check_known,
    did_you_mean,
    register,
)
from healthforge.partner.tools.runs import (
    TABLE_SUFFIXES,
    build_spec,
    check_epsilon,
    data_section,
    execute,
    output_file,
    privacy_settings,
    rel,
    session_table,
    spec_code,
)

MAX_ROWS = 1_000_000
Priority = Literal["balanced", "fidelity", "utility", "privacy", "speed"]


# -- recommend_generators -----------------------------------------------------------------


class RecommendArgs(Params):
    priority: Priority = pydantic.Field("balanced", description="what matters most")
    top: int = pydantic.Field(3, ge=1, le=10, description="how many to suggest")


def selection_store(ctx: ToolContext) -> Any:
    """The user's selection store (``ctx.results['selection_store']``: another file)."""
    if importlib.util.find_spec("healthforge.selection") is None:
        return None
    from healthforge.selection import SelectionStore

    return SelectionStore.open(ctx.results.get("selection_store"))


def _recommend(ctx: ToolContext, args: RecommendArgs) -> ToolResult:
    schema = profiled(ctx)
    assert ctx.frame is not None
    preset = privacy_settings(ctx).get("preset", "none")
    ranked, method = recommend(
        ctx.frame,
        schema,
        preset,
        args.priority,
        args.top,
        data=data_section(ctx),
        table=session_table(ctx),
        store=selection_store(ctx),
        seed=ctx.seed,
    )
    ctx.results["recommended"] = [r["generator"] for r in ranked]
    ctx.results["recommended_params"] = {r["generator"]: r.get("params") or {} for r in ranked}
    ctx.results["expected_seconds"] = {
        r["generator"]: r["expected_fit_seconds"]
        for r in ranked
        if r.get("expected_fit_seconds") is not None
    }
    lines = [f"{i + 1}. {r['generator']}: {r['why']}" for i, r in enumerate(ranked)]
    summary = f"Suggested generators ({method['name']}):\n" + "\n".join(lines)
    if method.get("note"):
        summary += f"\n{method['note']}"
    priority = "None" if args.priority == "balanced" else repr([args.priority])
    code = (
        "from healthforge.selection import Priorities, SelectionStore\n"
        "from healthforge.selection.runs import choose\n\n"
        f"rec, meta = choose({data_section(ctx)!r}, {preset!r}, "
        f"Priorities.from_names({priority}), SelectionStore.open(), {ctx.seed})\n"
        "print(rec.explanation)"
    )
    return ToolResult(
        summary=summary,
        data={"recommendations": ranked, "method": method, "privacy": preset},
        code=code,
    )


recommend_generators = register(
    Tool(
        name="recommend_generators",
        description="Suggest generators for this table, privacy preset and priority, with "
        "the evidence for each.",
        params=RecommendArgs,
        run=_recommend,
    )
)


# -- generate -------------------------------------------------------------------------------


class GenerateArgs(Params):
    generator: str | None = pydantic.Field(
        None, description="generator name (default: the first recommended, else bayesian_network)"
    )
    params: dict[str, Any] = pydantic.Field(
        default_factory=dict, description="generator parameters NAME: VALUE"
    )
    rows: int | None = pydantic.Field(
        None, description=f"rows to generate, 1 to {MAX_ROWS:,} (default: as many as real)"
    )
    conditions: list[str] = pydantic.Field(
        default_factory=list,
        description="conditions every row satisfies, e.g. 'sex=female', 'age>=65'",
    )
    privacy: Preset | None = pydantic.Field(None, description="preset (default: the session's)")
    epsilon: float | None = pydantic.Field(None, description="DP budget for a DP generator")
    fair_by: str | None = pydantic.Field(None, description="fit one model per group of this column")
    seed: int | None = pydantic.Field(None, description="random seed (default: the session's)")
    output: str = pydantic.Field("synthetic.csv", description="file in the session folder")
    overwrite: bool = pydantic.Field(False, description="replace an existing output file")


def chosen_generator(ctx: ToolContext, args: GenerateArgs) -> tuple[str, bool]:
    """The generator to use and whether it is the default (a strict preset may swap it)."""
    if args.generator is not None:
        return args.generator, False
    recommended = ctx.results.get("recommended") or []
    if recommended:
        return recommended[0], False
    return DEFAULT_GENERATOR, True


def generate_spec(ctx: ToolContext, args: GenerateArgs, check_file: bool = True) -> Any:
    """The validated RunSpec of a generate call (the output file not yet written)."""
    name, default = chosen_generator(ctx, args)
    settings = privacy_settings(ctx)
    preset = args.privacy or settings.get("preset", "none")
    params = dict(args.params)
    if args.generator is None:  # the recommended generator, with what it was ranked with
        recommended = (ctx.results.get("recommended_params") or {}).get(name) or {}
        params = {**recommended, **params}
    private = describe_or_refuse(name).differential_privacy
    if args.epsilon is not None and not private:
        raise ToolError(
            f"epsilon applies to differentially private generators; '{name}' is not one",
            "leave epsilon out, or choose aim, mst or dp_copula",
        )
    epsilon = args.epsilon if args.epsilon is not None else settings.get("epsilon")
    if epsilon is not None and private:  # the session's budget applies to DP generators
        params.setdefault("epsilon", epsilon)
    out = output_file(ctx, args.output, args.overwrite or not check_file, TABLE_SUFFIXES)
    raw = {
        "data": data_section(ctx),
        "generator": {
            "name": name,
            "params": params,
            "default_choice": default,
            "fair": None if args.fair_by is None else {"by": args.fair_by},
        },
        "privacy": preset,
        "conditions": list(args.conditions),
        "rows": args.rows,
        "seed": ctx.seed if args.seed is None else args.seed,
        # the holdout is made now, so 'evaluate' can judge these very rows later
        "split": {"always": True},
        "outputs": {"synthetic": str(out)},
    }
    if preset == "strict" and "schema" not in raw["data"]:
        raise ToolError(
            "strict privacy needs its public schema, which set_privacy provides",
            "choose it first with set_privacy (preset strict), then generate",
        )
    return build_spec(raw)


def describe_or_refuse(name: str) -> Any:
    names = generator_names()
    check_known(
        name, names, f"there is no generator '{name}'", f"choose one of: {', '.join(names)}"
    )
    try:
        return describe(name)
    except ImportError as exc:
        raise ToolError(
            f"generator '{name}' cannot be used here: {exc.name or exc} is not installed",
            "choose another generator (recommend_generators lists what fits)",
        ) from None


def check_generate(ctx: ToolContext, args: GenerateArgs) -> None:
    name, _ = chosen_generator(ctx, args)
    info = describe_or_refuse(name)
    check_epsilon(args.epsilon)
    if args.rows is not None and not 1 <= args.rows <= MAX_ROWS:
        raise ToolError(
            f"rows must be between 1 and {MAX_ROWS:,}, not {args.rows:,}",
            "ask for fewer rows (or leave rows out for as many as the real table)",
        )
    if args.fair_by is not None:
        check_modelled(ctx, args.fair_by)
    check_conditions(ctx, args.conditions)
    schema = profiled(ctx)
    assert ctx.frame is not None
    if not info.high_dimensional and len(schema.modelled_names) > len(ctx.frame):
        raise ToolError(
            f"generator '{name}' cannot model more columns ({len(schema.modelled_names)}) "
            f"than rows ({len(ctx.frame)})",
            "choose a generator for wide tables (recommend_generators lists them)",
        )
    generate_spec(ctx, args)


def check_conditions(ctx: ToolContext, conditions: list[str]) -> None:
    """Conditions checked against the table: the column, a category's levels, a numeric
    range (the library's own resolver says which value is impossible)."""
    if not conditions:
        return
    from healthforge.errors import HealthForgeError
    from healthforge.generators import conditions as cond

    schema = profiled(ctx)
    try:
        parsed = cond.parse_conditions(conditions)
    except HealthForgeError as exc:
        raise ToolError(exc.message, exc.hint) from None
    from healthforge.data.derived import find_derived

    for condition in parsed:
        if condition.column not in schema and find_derived(schema, condition.column) is None:
            names = schema.modelled_names
            raise ToolError(
                f"condition on column '{condition.column}', which is not in the table",
                did_you_mean(condition.column, names) or f"columns are: {', '.join(names[:20])}",
            )
    try:
        cond.resolve(parsed, schema)
    except HealthForgeError as exc:
        raise _without_cells(ctx, exc) from None


def _without_cells(ctx: ToolContext, exc: Any) -> ToolError:
    """The library's refusal of a condition, with the exact range (a minimum and a
    maximum are cells of two people) rounded outward and rare levels left unnamed: the
    message may reach a language model (MCP, the partner's context)."""
    import re

    from healthforge.partner.tools.aggregates import category_counts, outward

    message, hint = exc.message, exc.hint
    found = re.search(r"ranges from (\S+) to (\S+)", message)
    if found:
        low, high = outward(float(found[1]), float(found[2]))
        message = message.replace(found[0], f"lies roughly between {low:g} and {high:g}")
    column = re.search(r"never occurs in column '([^']+)'", message)
    if column and ctx.frame is not None and column[1] in ctx.frame.columns:
        counts = category_counts(ctx.frame[column[1]])
        hint = "its values are: " + ", ".join(counts["counts"])
        if counts.get("other"):
            hint += f" (and {counts['other']['levels']} rare ones)"
    return ToolError(message, hint)


def _generate(ctx: ToolContext, args: GenerateArgs) -> ToolResult:
    spec = generate_spec(ctx, args)
    pipeline = execute(ctx, spec)
    result = pipeline.result()
    ctx.results["pipeline"] = pipeline
    ctx.results["run"] = result
    ctx.results.pop("evaluation", None)
    path = rel(ctx, spec.outputs.synthetic)
    state = pipeline.state
    fit_s = result.timings.get("fit", 0.0)
    summary = (
        f"Fitted {result.generator} on {len(state.train):,} training rows "
        f"({len(state.holdout):,} held out for evaluation) in {fit_s:.1f}s and wrote "
        f"{result.rows:,} synthetic rows to {path}."
    )
    if spec.conditions:
        summary += f" Every row satisfies: {'; '.join(spec.conditions)}."
    filtered = result.filter_result
    if filtered is not None:
        summary += (
            f" The privacy filter removed {filtered.removed:,} of {filtered.rows_in:,} drawn "
            "rows that were too close to a real record."
        )
    data = {
        "generator": result.generator,
        "privacy": spec.privacy,
        "rows": result.rows,
        "train_rows": len(state.train),
        "holdout_rows": len(state.holdout),
        "conditions": list(spec.conditions),
        "seconds": {k: round(v, 2) for k, v in result.timings.items()},
        "filter_removed": None if filtered is None else filtered.removed,
        "output": path,
    }
    return ToolResult(
        summary=summary, data=data, files=[path], spec=spec, code=spec_code(ctx, spec)
    )


def _generate_approval(ctx: ToolContext, args: GenerateArgs) -> str | None:
    name, _ = chosen_generator(ctx, args)
    rows = len(ctx.frame) if ctx.frame is not None else 0
    preset = args.privacy or privacy_settings(ctx).get("preset", "none")
    seconds = (ctx.results.get("expected_seconds") or {}).get(name)
    expected = "" if seconds is None else f", about {max(seconds, 1):.0f} s from the benchmark"
    return (
        f"fits {name} on your real data ({rows:,} rows; privacy '{preset}'{expected}) and "
        f"writes {args.output} into the session folder"
    )


generate = register(
    Tool(
        name="generate",
        description="Fit a generator on the table and write synthetic rows (with conditions, "
        "privacy preset, epsilon) as one run specification.",
        params=GenerateArgs,
        run=_generate,
        approval=_generate_approval,
        check=check_generate,
    )
)
