"""Mutations of the partner tools' guarantees (issue #22): no row in what a tool returns,
nothing written outside the session folder, no approval-needing tool run over MCP
without --yes."""

from __future__ import annotations

from typing import Any

import pytest

from tests.mutations.catalogue import mutation

NO_ROWS = "tests/partner/tools/test_no_rows.py"


@mutation(
    "partner-aggregates-unrounded",
    "the tools' figures (ranges, quartiles) reported exactly instead of rounded outward",
    tests=[NO_ROWS],
)
def _(patch: pytest.MonkeyPatch) -> None:
    from healthforge.partner.tools import aggregates

    patch.setattr(
        aggregates, "sig", lambda value, digits=3: None if value is None else float(value)
    )
    patch.setattr(aggregates, "outward", lambda low, high: (low, high))


@mutation(
    "partner-rare-levels-listed",
    "a category's levels seen in fewer than 5 rows listed by name instead of as 'other'",
    tests=[NO_ROWS],
)
def _(patch: pytest.MonkeyPatch) -> None:
    from healthforge.partner.tools import aggregates

    patch.setattr(aggregates, "MIN_CELL", 1)


@mutation(
    "partner-row-in-data",
    "describe_column's data carries one example row of its column",
    tests=[NO_ROWS],
)
def _(patch: pytest.MonkeyPatch) -> None:
    from healthforge.partner.tools import data

    real = data.column_summary

    def leaky(series: Any, column: Any) -> dict[str, Any]:
        return {**real(series, column), "example": series.dropna().iloc[-1]}

    patch.setattr(data, "column_summary", leaky)


@mutation(
    "partner-session-escape",
    "a tool may write to a path outside the session folder",
    tests=[
        "tests/partner/tools/test_registry.py::test_session_path_refuses_escape_and_overwrite",
        "tests/partner/tools/test_generation.py::test_generate_refuses_with_one_line_and_a_fix",
    ],
)
def _(patch: pytest.MonkeyPatch) -> None:
    from pathlib import Path

    from healthforge.partner.tools import registry

    def anywhere(ctx: Any, name: str, overwrite: bool = False) -> Path:
        path = (ctx.session_dir / name).resolve()
        if path.exists() and not overwrite:
            raise registry.ToolError(f"'{path.name}' already exists", "overwrite: true")
        return path

    from healthforge.partner.tools import plots, runs

    for module in (registry, runs, plots):  # each looks the name up in its own globals
        patch.setattr(module, "session_path", anywhere)


@mutation(
    "partner-mcp-no-approval",
    "the MCP server runs tools that need approval without --yes",
    tests=["tests/partner/test_mcp.py::test_session_validates_and_refuses_without_approval"],
)
def _(patch: pytest.MonkeyPatch) -> None:
    from healthforge.partner.mcp import McpSession

    real = McpSession.__init__

    def always(self: Any, *args: Any, **kwargs: Any) -> None:
        real(self, *args, **kwargs)
        self.auto_approve = True

    patch.setattr(McpSession, "__init__", always)


@mutation(
    "partner-plot-without-asking",
    "plot_column writes its file without asking first",
    tests=[f"{NO_ROWS}::test_only_profiling_runs_without_asking"],
)
def _(patch: pytest.MonkeyPatch) -> None:
    import dataclasses

    from healthforge.partner.tools import registry

    tool = registry.TOOLS["plot_column"]
    patch.setitem(
        registry.TOOLS, "plot_column", dataclasses.replace(tool, approval=lambda c, a: None)
    )
