"""Entry point of the ``healthforge`` command; commands live in one module per concern."""

from __future__ import annotations

import typer

from healthforge import __version__
from healthforge.cli import (  # noqa: F401  (importing registers the commands)
    benchmark_command,
    data_commands,
    demo_command,
    evaluation_commands,
    generator_commands,
    mcp_command,
    partner_command,
    scenario_commands,
    selection_command,
    serve_command,
)
from healthforge.cli.common import STATE, app


def _version(value: bool) -> None:
    if value:
        typer.echo(f"healthforge {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: bool = typer.Option(
        False, "--debug", help="Show tracebacks instead of one-line errors."
    ),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Synthetic health records that are useful, private and fair - and measured."""
    STATE["debug"] = debug


def main() -> None:
    app()


if __name__ == "__main__":
    main()
