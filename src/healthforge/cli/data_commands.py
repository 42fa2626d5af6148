"""``healthforge datasets`` and ``healthforge profile``."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from healthforge.cli.common import (
    app,
    console,
    handle_errors,
    load_schema,
    parse_drop,
    print_listing,
)
from healthforge.data import DATASETS, get_dataset, load_table, prepare, write_table
from healthforge.data.bundled import default_target
from healthforge.data.io import check_new_file, check_output_path

datasets_app = typer.Typer(help="Bundled real health datasets (offline).", no_args_is_help=True)
app.add_typer(datasets_app, name="datasets")

DATA_HELP = "A CSV/TSV/Parquet/Excel file, or bundled:NAME (see `healthforge datasets list`)."


@datasets_app.command("list")
@handle_errors
def datasets_list() -> None:
    """List the bundled datasets."""
    rows = []
    for name, dataset in DATASETS.items():
        df = dataset.load()
        rows.append((name, f"{len(df):,}", str(df.shape[1]), dataset.target or "", dataset.title))
    columns = ("name", "rows", "columns", "target", "what it is")
    print_listing("Bundled datasets (use as bundled:NAME)", columns, rows)


@datasets_app.command("show")
@handle_errors
def datasets_show(name: str = typer.Argument(..., help="Dataset name.")) -> None:
    """Describe one bundled dataset: source, citation and columns."""
    dataset = get_dataset(name)
    df = dataset.load()
    console.print(f"[bold]{dataset.title}[/] (bundled:{name})")
    console.print(dataset.description)
    console.print(f"[bold]source:[/] {dataset.source}")
    console.print(f"[bold]cite:[/] {dataset.citation}")
    console.print(
        f"[bold]size:[/] {len(df):,} rows x {df.shape[1]} columns; target: {dataset.target}"
    )
    if dataset.leaky_for_target:
        console.print(
            f"[bold]note:[/] {', '.join(dataset.leaky_for_target)} reveal {dataset.target}; "
            "drop them when measuring utility"
        )
    _print_schema(prepare(df, target=dataset.target, source=f"bundled:{name}").schema)


@datasets_app.command("export")
@handle_errors
def datasets_export(
    name: str = typer.Argument(..., help="Dataset name."),
    out: Path = typer.Argument(..., help="Output file (.csv, .tsv or .parquet)."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing file."),
) -> None:
    """Write a bundled dataset to a file."""
    check_output_path(out, force)
    df = get_dataset(name).load()
    write_table(df, out)
    console.print(f"wrote {len(df):,} rows to {out}")


STREAM_SAMPLE_ROWS = 200_000  # rows a streamed profile infers kinds and roles from


@app.command("profile")
@handle_errors
def profile(
    # duplicates: typer option declarations, alike in shape across commands
    data: str = typer.Argument(..., help=DATA_HELP),
    target: str | None = typer.Option(None, "--target", help="Outcome column."),
    schema: Path | None = typer.Option(None, "--schema", help="Schema file to check against."),
    drop: list[str] | None = typer.Option(None, "--drop", help="Columns to leave out."),
    as_json: bool = typer.Option(False, "--json", help="Print the schema as JSON."),
    schema_out: Path | None = typer.Option(
        None, "--schema-out", help="Write the schema (YAML or .json) to edit and reuse."
    ),
    force: bool = typer.Option(False, "--force", help="Overwrite --schema-out."),
    sample_rows: int | None = typer.Option(
        None,
        "--sample-rows",
        help="Parquet larger than memory: infer kinds from a seeded sample of N rows, and "
        "missing rates, bounds and categories from every row, streamed (default for a folder).",
    ),
) -> None:
    """Infer and show the schema: kinds, domains, missing rates, roles, identifiers."""
    if schema_out is not None:
        check_new_file(schema_out, force)
    user_schema = load_schema(schema)
    if target is None:  # a bundled dataset's outcome is known; a user's schema wins
        target = default_target(data, user_schema.target if user_schema else None)
    if sample_rows is None and Path(data).is_dir():
        sample_rows = STREAM_SAMPLE_ROWS
    if sample_rows is not None:
        from healthforge.data.streaming import streamed_profile

        prepared, stats = streamed_profile(
            data, sample_rows, target=target, drop=parse_drop(drop), schema=user_schema
        )
        rows = max((s.rows for s in stats.values()), default=0)
        df = prepared.frame
        console.print(
            f"streamed {rows:,} rows; kinds inferred from a seeded sample of {len(df):,}",
            highlight=False,
        )
    else:
        df = load_table(data)
        prepared = prepare(df, user_schema, target, parse_drop(drop), source=data)
        rows = len(df)
    if schema_out is not None:
        prepared.schema.save(schema_out)
    if as_json:
        typer.echo(json.dumps({**prepared.schema.to_dict(), "rows": rows}, indent=2))
        return
    console.print(f"[bold]{data}[/]: {rows:,} rows x {df.shape[1]} columns")
    _print_schema(prepared.schema)
    for line in prepared.notices():
        console.print(f"[yellow]{line}[/]")
    if schema_out is not None:
        console.print(f"schema written to {schema_out} (edit it and pass --schema)")


def _print_schema(schema: object) -> None:
    from healthforge.data.schema import Schema

    assert isinstance(schema, Schema)
    table = Table()
    for column in ("column", "kind", "role", "missing", "domain"):
        table.add_column(column)
    for column in schema.columns:
        if column.categories is not None:
            shown = ", ".join(map(str, column.categories[:6]))
            more = len(column.categories) - 6
            domain = shown + (f", ... (+{more})" if more > 0 else "")
        elif column.minimum is not None:
            domain = f"{column.minimum:g} .. {column.maximum:g}"
            if column.decimals is not None:
                domain += f" ({column.decimals} dp)"
        else:
            domain = ""
        role = (
            column.role if column.role != "identifier" else f"[red]identifier[/]: {column.reason}"
        )
        table.add_row(column.name, column.kind, role, f"{column.missing_rate:.1%}", domain)
    console.print(table)
