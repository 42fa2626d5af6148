"""plot_column: a column's distribution (optionally by group) as an offline HTML plot
saved in the session folder, drawn with plotly as the evaluation report is.

The plot is a local file for the user; ``data`` carries only its name and the counts of
what it shows, never the plotted values.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pydantic

from healthforge.partner.tools.aggregates import MIN_CELL
from healthforge.partner.tools.data import profiled

# duplicates: every tool module imports the same registry pieces
from healthforge.partner.tools.registry import (
    Params,
    Tool,
    ToolContext,
    ToolError,
    ToolResult,
    check_columns,
    register,
    session_path,
)


class PlotArgs(Params):
    column: str = pydantic.Field(description="the column to plot")
    by: str | None = pydantic.Field(None, description="colour by the groups of this column")
    output: str | None = pydantic.Field(None, description="HTML file (default plot_COLUMN.html)")
    overwrite: bool = False


def _file(args: PlotArgs) -> str:
    name = args.output or f"plot_{args.column}" + (f"_by_{args.by}" if args.by else "") + ".html"
    if not name.lower().endswith((".html", ".htm")):
        raise ToolError(f"'{name}' should end in .html", f"e.g. 'plot_{args.column}.html'")
    return name


def _check(ctx: ToolContext, args: PlotArgs) -> None:
    check_columns(ctx, [args.column] + ([args.by] if args.by else []))
    schema = profiled(ctx)
    for name in [args.column] + ([args.by] if args.by else []):
        if name in schema and schema[name].role == "identifier":
            raise ToolError(
                f"'{name}' is a direct identifier: it is never plotted",
                "plot a modelled column instead",
            )
    if args.by is not None and args.by in schema and not schema[args.by].is_discrete:
        raise ToolError(
            f"'{args.by}' is not a grouping column (it has no categories)",
            "colour by a categorical column such as sex or race",
        )
    session_path(ctx, _file(args), args.overwrite)


def _figure(frame: pd.DataFrame, column: str, by: str | None, discrete: bool) -> Any:
    import plotly.graph_objects as go

    figure = go.Figure()
    groups = [(None, frame)] if by is None else list(frame.groupby(by, dropna=True))
    for group, rows in groups:
        label = "all rows" if group is None else f"{by}={group}"
        values = rows[column].dropna()
        if discrete:
            counts = values.astype(str).value_counts()
            rare = counts[counts < MIN_CELL]
            counts = counts[counts >= MIN_CELL]
            if len(rare):  # a level so rare it could single a person out
                counts["other (rare)"] = int(rare.sum())
            figure.add_bar(x=list(counts.index), y=list(counts.values), name=label)
        else:
            figure.add_histogram(x=values, name=label, opacity=0.7, nbinsx=30)
    figure.update_layout(
        title=f"{column}" + (f" by {by}" if by else ""),
        template="plotly_white",
        barmode="overlay" if not discrete else "group",
        xaxis_title=column,
        yaxis_title="rows",
    )
    return figure


def _plot(ctx: ToolContext, args: PlotArgs) -> ToolResult:
    assert ctx.frame is not None
    schema = profiled(ctx)
    name = _file(args)
    path = session_path(ctx, name, args.overwrite)
    column = next((c for c in schema.columns if c.name == args.column), None)
    # a dropped column is no longer in the schema: text is drawn as bars
    discrete = column.is_discrete if column is not None else ctx.frame[args.column].dtype == object
    figure = _figure(ctx.frame, args.column, args.by, discrete)
    # plotly.min.js once beside the plots: offline, and not 3.5 MB per plot
    figure.write_html(str(path), include_plotlyjs="directory", full_html=True)
    files = [name]
    if (Path(path).parent / "plotly.min.js").exists():
        files.append("plotly.min.js")
    kind = "bar chart" if discrete else "histogram"
    summary = f"Saved a {kind} of '{args.column}'" + (f" by {args.by}" if args.by else "")
    summary += f" to {name} (open it in a browser; it works offline)."
    code = (
        "import plotly.express as px\n"
        "from healthforge.data import load_table\n\n"
        f"table = load_table({ctx.source!r})\n"
        f"px.{'histogram'}(table, x={args.column!r}"
        + (f", color={args.by!r}" if args.by else "")
        + f").write_html({name!r}, include_plotlyjs='directory')"
    )
    data = {"column": args.column, "by": args.by, "kind": kind, "file": name}
    return ToolResult(summary=summary, data=data, files=files, code=code)


def _approval(ctx: ToolContext, args: PlotArgs) -> str | None:
    return f"writes {_file(args)} (a plot of your real data) into the session folder"


# duplicates: a tool's declaration, field by field; alike in shape to every other tool's
plot_column = register(
    Tool(
        name="plot_column",
        description="Plot a column's distribution (optionally by group) as an HTML file in "
        "the session folder.",
        params=PlotArgs,
        run=_plot,
        approval=_approval,
        check=_check,
    )
)
