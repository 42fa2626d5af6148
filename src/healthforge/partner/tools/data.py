"""Tools that read and describe the table: load, profile, PHI screening, columns, plots.

They call the library code behind ``healthforge profile`` and ``healthforge datasets``
(:func:`healthforge.data.load_table`, :func:`healthforge.data.prepare`); what they return
in ``data`` are aggregates from :mod:`.aggregates`, never a row.
"""

from __future__ import annotations

from typing import Any

import pydantic

from healthforge.data import load_table, prepare
from healthforge.data.bundled import default_target
from healthforge.partner.tools.aggregates import column_summary

# duplicates: every tool module imports the same registry pieces
from healthforge.partner.tools.registry import (
    Params,
    Tool,
    ToolContext,
    ToolError,
    ToolResult,
    check_columns,
    register,
)


def dropped(ctx: ToolContext) -> list[str]:
    """Columns the user chose to leave out (drop_columns), in order."""
    return list(ctx.results.get("drop", []))


def profiled(ctx: ToolContext) -> Any:
    """The schema of the loaded table (profiling it now if no tool has yet)."""
    if ctx.schema is None:
        assert ctx.frame is not None
        prepared = prepare(ctx.frame, target=ctx.target, drop=dropped(ctx), source=ctx.source)
        ctx.schema = prepared.schema
    return ctx.schema


def check_modelled(ctx: ToolContext, column: str) -> None:
    """``column`` exists and is modelled (not an identifier, free text or dropped)."""
    check_columns(ctx, [column])
    schema = profiled(ctx)
    if column not in schema.modelled_names:
        groups = [c.name for c in schema.modelled if c.is_discrete][:6]
        raise ToolError(
            f"'{column}' is not modelled (an identifier, free text or dropped)",
            f"choose a modelled column such as {', '.join(groups)}",
        )


def _source_code(ctx: ToolContext) -> str:
    return f"table = load_table({ctx.source!r})"


# -- load_data ----------------------------------------------------------------------------


class LoadArgs(Params):
    source: str = pydantic.Field(
        description="a CSV/TSV/Parquet/Excel path, or bundled:NAME (e.g. bundled:icu)"
    )
    target: str | None = pydantic.Field(None, description="the outcome column, if any")


def _load(ctx: ToolContext, args: LoadArgs) -> ToolResult:
    frame = load_table(args.source)
    target = args.target or default_target(args.source)
    if target is not None and target not in frame.columns:
        from healthforge.partner.tools.registry import did_you_mean

        raise ToolError(
            f"target column '{target}' is not in the table",
            did_you_mean(target, [str(c) for c in frame.columns]) or "name an existing column",
        )
    ctx.frame, ctx.source, ctx.target, ctx.schema = frame, args.source, target, None
    ctx.results.pop("drop", None)
    summary = f"Loaded {args.source}: {len(frame):,} rows x {frame.shape[1]} columns"
    summary += f"; outcome column: {target}." if target else "; no outcome column named."
    data = {
        "rows": len(frame),
        "columns": [str(c) for c in frame.columns],
        "target": target,
    }
    code = f"from healthforge.data import load_table\n\ntable = load_table({args.source!r})"
    return ToolResult(summary=summary, data=data, code=code)


# duplicates: a tool's declaration, field by field; alike in shape to every other tool's
load_data = register(
    Tool(
        name="load_data",
        description="Load a table (a file path or bundled:NAME) and name its outcome column.",
        params=LoadArgs,
        run=_load,
        needs_data=False,
    )
)


# -- profile_data -------------------------------------------------------------------------


class NoArgs(Params):
    pass


def _profile(ctx: ToolContext, args: NoArgs) -> ToolResult:
    assert ctx.frame is not None
    prepared = prepare(ctx.frame, target=ctx.target, drop=dropped(ctx), source=ctx.source)
    ctx.schema = prepared.schema
    columns = {c.name: column_summary(ctx.frame[c.name], c) for c in prepared.schema.columns}
    kinds: dict[str, int] = {}
    for column in prepared.schema.columns:
        kinds[column.kind] = kinds.get(column.kind, 0) + 1
    notices = prepared.notices()
    summary = (
        f"{len(ctx.frame):,} rows x {ctx.frame.shape[1]} columns ("
        + ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
        + f"); outcome: {prepared.schema.target or 'none'}."
    )
    if notices:
        summary += " " + " ".join(n[0].upper() + n[1:] + "." for n in notices)
    data = {
        "rows": len(ctx.frame),
        "target": prepared.schema.target,
        "kinds": kinds,
        "columns": columns,
        "excluded": prepared.excluded,
        "dropped": dropped(ctx),
    }
    code = (
        "from healthforge.data import load_table, prepare\n\n"
        f"{_source_code(ctx)}\n"
        f"schema = prepare(table, target={ctx.target!r}, drop={dropped(ctx)!r}, "
        f"source={ctx.source!r}).schema"
    )
    return ToolResult(summary=summary, data=data, code=code)


profile_data = register(
    Tool(
        name="profile_data",
        description="Infer each column's kind, role and domain, with missing shares and "
        "aggregate figures.",
        params=NoArgs,
        run=_profile,
    )
)


# -- screen_phi ---------------------------------------------------------------------------


def _screen(ctx: ToolContext, args: NoArgs) -> ToolResult:
    schema = profiled(ctx)
    identifiers = {c.name: c.reason or "marked in the schema" for c in schema.identifiers}
    quasi = list(schema.quasi_identifiers())
    sensitive = [c.name for c in schema.columns if c.role == "sensitive"]
    if identifiers:
        summary = (
            f"{len(identifiers)} column(s) look like direct identifiers and will never be "
            f"modelled: {', '.join(identifiers)}. Dropping them is recommended."
        )
    else:
        summary = "No column looks like a direct identifier (name, ID, contact, birth date)."
    if quasi:
        summary += f" Quasi-identifiers (could re-identify in combination): {', '.join(quasi)}."
    data = {
        "identifiers": identifiers,
        "quasi_identifiers": quasi,
        "sensitive": sensitive,
        "suggest_drop": list(identifiers),
    }
    code = (
        "from healthforge.data import load_table, prepare\n\n"
        f"{_source_code(ctx)}\n"
        f"schema = prepare(table, target={ctx.target!r}, source={ctx.source!r}).schema\n"
        "print([(c.name, c.reason) for c in schema.identifiers], schema.quasi_identifiers)"
    )
    return ToolResult(summary=summary, data=data, code=code)


# duplicates: a tool's declaration, field by field; alike in shape to every other tool's
screen_phi = register(
    Tool(
        name="screen_phi",
        description="Screen for direct identifiers (PHI) and quasi-identifiers; say what to drop.",
        params=NoArgs,
        run=_screen,
    )
)


# -- describe_column ----------------------------------------------------------------------


class ColumnArgs(Params):
    column: str = pydantic.Field(description="a column of the table")


def _check_column(ctx: ToolContext, args: ColumnArgs) -> None:
    check_columns(ctx, [args.column])


def _describe(ctx: ToolContext, args: ColumnArgs) -> ToolResult:
    assert ctx.frame is not None
    schema = profiled(ctx)
    if args.column in schema:
        column = schema[args.column]
    else:  # dropped by the user: describe it from a profile of that column alone
        column = prepare(ctx.frame[[args.column]], source=ctx.source).schema[args.column]
    figures = column_summary(ctx.frame[args.column], column)
    summary = _describe_text(args.column, figures)
    data = {"column": args.column, **figures}
    code = (
        "from healthforge.data import load_table\n\n"
        f"{_source_code(ctx)}\n"
        f"print(table[{args.column!r}].describe())"
    )
    return ToolResult(summary=summary, data=data, code=code)


def _describe_text(name: str, f: dict[str, Any]) -> str:
    text = f"'{name}' is {f['kind']} ({f['role']}), {f['missing_share']:.0%} missing"
    if "not_shown" in f:
        return f"{text}; {f['not_shown']}."
    if "years" in f:
        return f"{text}; dates from {f['years'][0]} to {f['years'][1]}."
    if "mean" in f:
        q = f["quartiles"]
        return (
            f"{text}; mean {f['mean']:g}, median {q[1]:g} (middle half {q[0]:g} to {q[2]:g}), "
            f"roughly between {f['range_rounded'][0]:g} and {f['range_rounded'][1]:g}."
        )
    if "counts" in f:
        top = ", ".join(f"{k}: {v}" for k, v in list(f["counts"].items())[:8])
        rare = f.get("other")
        more = f"; {rare['levels']} rare levels ({rare['rows']} rows) not listed" if rare else ""
        return f"{text}; {f['levels']} levels ({top}){more}."
    return text + "."


describe_column = register(
    Tool(
        name="describe_column",
        description="Describe one column: kind, missing share, and its distribution "
        "(aggregates only).",
        params=ColumnArgs,
        run=_describe,
        check=_check_column,
    )
)


# -- drop_columns ---------------------------------------------------------------------------


class DropArgs(Params):
    columns: list[str] = pydantic.Field(min_length=1, description="columns to leave out")


def _check_drop(ctx: ToolContext, args: DropArgs) -> None:
    check_columns(ctx, args.columns)
    if ctx.target is not None and ctx.target in args.columns:
        raise ToolError(
            f"'{ctx.target}' is the outcome column and cannot be dropped",
            "load the table again naming another target (load_data with target)",
        )
    assert ctx.frame is not None
    left = [c for c in ctx.frame.columns if c not in {*dropped(ctx), *args.columns}]
    if not left:
        raise ToolError("that would drop every column", "keep at least one column")


def _drop(ctx: ToolContext, args: DropArgs) -> ToolResult:
    before = dropped(ctx)
    ctx.results["drop"] = before + [c for c in args.columns if c not in before]
    ctx.schema = None  # profiled again without them
    now = ctx.results["drop"]
    summary = (
        f"Left out {', '.join(args.columns)}: later runs will not model "
        f"{'it' if len(args.columns) == 1 else 'them'} (dropped so far: {', '.join(now)})."
    )
    code = f"# every later RunSpec has data.drop = {now!r}"
    return ToolResult(summary=summary, data={"dropped": now}, code=code)


# duplicates: a tool's declaration, field by field; alike in shape to every other tool's
drop_columns = register(
    Tool(
        name="drop_columns",
        description="Leave columns out of everything that follows (e.g. identifiers, or "
        "columns that reveal the outcome).",
        params=DropArgs,
        run=_drop,
        check=_check_drop,
    )
)
