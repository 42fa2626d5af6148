"""``healthforge mcp``: the partner's tools as a Model Context Protocol server (stdio)."""

from __future__ import annotations

import time
from pathlib import Path

import typer

from healthforge.cli.common import app, err_console, handle_errors


@app.command("mcp")
@handle_errors
def mcp(
    data: str | None = typer.Argument(
        None, help="A table to load first (a file or bundled:NAME); or call load_data."
    ),
    target: str | None = typer.Option(None, "--target", help="Outcome column of DATA."),
    yes: bool = typer.Option(
        False,
        "--yes",
        help="Run tools that need approval (fits, uses of the real data beyond profiling, "
        "privacy choices, written files); without it they are refused, saying why.",
    ),
    session_dir: Path | None = typer.Option(
        None, "--session-dir", help="Folder for the files the tools write."
    ),
    seed: int = typer.Option(0, "--seed", help="Random seed of every run."),
) -> None:
    """Serve HealthForge's tools to an MCP client (e.g. an assistant) over stdin/stdout,
    with the partner's validation and approval rules."""
    from healthforge.partner.mcp import McpSession, serve_stdio

    folder = session_dir or Path(f"healthforge-mcp-{time.strftime('%Y%m%d-%H%M%S')}")
    session = McpSession(folder, data=data, target=target, auto_approve=yes, seed=seed)
    approval = "runs every tool (--yes)" if yes else "refuses tools that need approval"
    # stderr: stdout carries the protocol
    err_console.print(
        f"healthforge mcp: serving {len(session.list_tools())} tools on stdio; {approval}; "
        f"files in {folder}",
        highlight=False,
    )
    serve_stdio(session)
