"""Shared pieces of the CLI: the Typer app, error handling, progress bars, loading."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from healthforge.errors import HealthForgeError
from healthforge.progress import ProgressCallback

app = typer.Typer(
    name="healthforge",
    help="Synthetic health records that are useful, private and fair - and measured.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)
STATE: dict[str, bool] = {"debug": False}

F = TypeVar("F", bound=Callable[..., Any])


def handle_errors(func: F) -> F:
    """Turn any exception into one line on stderr and exit code 1 (2 for bad input)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except typer.Exit:
            raise
        except HealthForgeError as exc:
            if STATE["debug"]:
                raise
            err_console.print(f"[bold red]error:[/] {escape(exc.message)}", highlight=False)
            if exc.hint:
                # escaped: a hint such as pip install 'healthforge[ray]' must keep its brackets
                err_console.print(f"  [cyan]hint:[/] {escape(exc.hint)}", highlight=False)
            raise typer.Exit(2) from None
        except KeyboardInterrupt:
            err_console.print("[bold red]interrupted[/]: no output was written")
            raise typer.Exit(130) from None
        except Exception as exc:
            if STATE["debug"]:
                raise
            first = str(exc).splitlines()[0] if str(exc) else ""
            err_console.print(
                f"[bold red]internal error:[/] {type(exc).__name__}: {escape(first)}",
                highlight=False,
            )
            err_console.print(
                "  [cyan]hint:[/] rerun with --debug for the traceback and report it",
                highlight=False,
            )
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


@contextmanager
def progress_bar(enabled: bool = True) -> Iterator[ProgressCallback]:
    """A rich progress display fed by library progress callbacks."""
    if not enabled or not sys.stderr.isatty():
        yield lambda stage, done, total: None
        return
    tasks: dict[str, Any] = {}
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    ) as bar:

        def callback(stage: str, done: int, total: int | None) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        yield callback


def parse_drop(drop: list[str] | None) -> list[str]:
    """``--drop a --drop b,c`` as a flat list."""
    return [name.strip() for item in drop or [] for name in item.split(",") if name.strip()]


def load_schema(path: Path | None) -> Any:
    if path is None:
        return None
    from healthforge.data.schema import Schema

    return Schema.load(path)


def print_listing(title: str, columns: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    """Print a listing (generators, scenarios, datasets) as a table, one row per item."""
    table = Table(title=title)
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*row)
    console.print(table)
