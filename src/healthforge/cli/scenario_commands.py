"""``healthforge scenario list|show|run`` and ``healthforge augment``."""

from __future__ import annotations

import json
import time
from pathlib import Path

import typer

from healthforge.cli import backend_options as bk

# duplicates: the command modules import the same shared CLI pieces
from healthforge.cli.common import (
    app,
    console,
    err_console,
    handle_errors,
    parse_drop,
    print_listing,
    progress_bar,
)
from healthforge.data.io import atomic_write_text, check_new_file, check_output_path, write_table
from healthforge.errors import HealthForgeError

scenario_app = typer.Typer(
    help="Research presets: dataset, conditions, generator and privacy in one name.",
    no_args_is_help=True,
)
app.add_typer(scenario_app, name="scenario")

SCENARIO_HELP = "A scenario name (see `healthforge scenario list`) or your own scenario YAML."


@scenario_app.command("list")
@handle_errors
def scenario_list() -> None:
    """List the shipped scenarios."""
    from healthforge.scenarios import list_scenarios

    columns = ("name", "dataset", "conditions", "generator", "rows", "privacy", "what")
    rows = [
        (s.name, s.dataset, "; ".join(s.conditions), s.generator, str(s.rows), s.privacy, s.title)
        for s in list_scenarios()
    ]
    print_listing("Scenarios (run with `healthforge scenario run NAME`)", columns, rows)


@scenario_app.command("show")
@handle_errors
def scenario_show(name: str = typer.Argument(..., help=SCENARIO_HELP)) -> None:
    """Print a scenario as YAML (a starting point for your own)."""
    from dataclasses import asdict

    import yaml

    from healthforge.scenarios import load_scenario

    data = {k: v for k, v in asdict(load_scenario(name)).items() if k != "path"}
    console.print(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), highlight=False)


@scenario_app.command("run")
@handle_errors
def scenario_run(
    name: str = typer.Argument(..., help=SCENARIO_HELP),
    rows: int | None = typer.Option(None, "--rows", "-n", help="Rows (default: the scenario's)."),
    out: Path = typer.Option(..., "--out", "-o", help="Output file (.csv, .tsv, .parquet)."),
    report: Path | None = typer.Option(None, "--report", help="HTML evaluation report."),
    json_out: Path | None = typer.Option(None, "--json", help="JSON evaluation summary."),
    seed: int | None = typer.Option(None, "--seed", help="Random seed (default: the scenario's)."),
    generator: str | None = typer.Option(None, "--generator", "-g", help="Override generator."),
    force: bool = typer.Option(False, "--force", help="Overwrite existing outputs."),
) -> None:
    """Run a scenario: conditioned synthetic rows, evaluated against the real subset."""
    from healthforge.cli.evaluation_commands import check_report_outputs, print_evaluation
    from healthforge.scenarios import load_scenario, run_scenario

    if rows is not None and rows <= 0:
        raise HealthForgeError(f"--rows must be at least 1, not {rows}")
    check_output_path(out, force)
    check_report_outputs(report, json_out, force)
    spec = load_scenario(name)
    started = time.perf_counter()
    with progress_bar() as progress:
        # duplicates: keyword arguments passed through, alike in shape to other commands'
        result = run_scenario(
            spec,
            rows=rows,
            out=out,
            report_path=report,
            json_path=json_out,
            seed=seed,
            generator=generator,
            progress=progress,
        )
    console.print(
        f"scenario {spec.name}: wrote {len(result.synthetic):,} synthetic rows to {out} in "
        f"{time.perf_counter() - started:.1f}s; {result.rows_real:,} real rows "
        f"({result.share_real:.1%}) satisfy " + "; ".join(spec.conditions),
        highlight=False,
    )
    for note in result.notes:
        err_console.print(f"[yellow]note:[/] {note}", highlight=False)
    console.print(
        f"evaluated against the {len(result.real_subset):,} real training rows satisfying "
        "the same conditions:",
        highlight=False,
    )
    print_evaluation(result.evaluation.summary, report, json_out)


AUGMENT_FOLDER = "augment-output"


def augment_outputs(out: Path | None, report: Path | None) -> tuple[Path, Path, Path | None]:
    """Where ``augment`` writes: the given paths; a missing one next to the other; with
    neither, ``augment-output/`` in the working folder (returned third, to be created)."""
    if out is None and report is None:
        folder = Path(AUGMENT_FOLDER)
        return folder / "augmented.csv", folder / "report.html", folder
    if report is None:
        assert out is not None  # both None returned above
        return out, out.with_name(f"{out.stem}-report.html"), None
    return out or report.with_name(f"{report.stem}-augmented.csv"), report, None


@app.command("augment")
@handle_errors
def augment(
    data: str = typer.Argument(..., help="A CSV/TSV/Parquet/Excel file, or bundled:NAME."),
    balance: str = typer.Option(..., "--balance", help="Column whose small groups get rows."),
    target: str | None = typer.Option(
        None, "--target", help="Outcome for the downstream models (default: bundled target)."
    ),
    generator: str = typer.Option("cart", "--generator", "-g", help="Generator."),
    strategy: str = typer.Option(
        "equal", "--strategy", help="equal | proportional | to-size (with --size N)."
    ),
    size: int | None = typer.Option(None, "--size", help="Rows per group for to-size."),
    repeats: int = typer.Option(5, "--repeats", help="Seeded train/holdout splits (>= 2)."),
    holdout_fraction: float = typer.Option(0.3, "--holdout-fraction", help="Real holdout share."),
    drop: list[str] | None = typer.Option(None, "--drop", help="Columns to leave out."),
    fair_by: str | None = typer.Option(
        None, "--fair-by", help="Fit one generator per group of this column."
    ),
    out: Path | None = typer.Option(
        None, "--out", "-o", help=f"Augmented dataset (default: {AUGMENT_FOLDER}/augmented.csv)."
    ),
    report: Path | None = typer.Option(
        None, "--report", help=f"HTML experiment report (default: {AUGMENT_FOLDER}/report.html)."
    ),
    json_out: Path | None = typer.Option(None, "--json", help="JSON experiment summary."),
    seed: int = typer.Option(0, "--seed", help="Random seed of the first split."),
    force: bool = typer.Option(False, "--force", help="Overwrite existing outputs."),
    backend: str = bk.BACKEND,
    ray_address: str | None = bk.RAY_ADDRESS,
    workers: int | None = bk.WORKERS,
) -> None:
    """Add synthetic rows for small groups, and measure whether it helps downstream models.

    With --backend ray the repeats run as Ray tasks (the same scores)."""
    from healthforge.augment import augment_experiment, read_source, write_augment_report
    from healthforge.cli.evaluation_commands import check_report_outputs

    if strategy == "to-size" and size is None:
        raise HealthForgeError("--strategy to-size needs --size N")
    out, report, folder = augment_outputs(out, report)
    if folder is not None and folder.exists() and not folder.is_dir():
        raise HealthForgeError(f"'{folder}' exists and is not a folder", "pass --out and --report")
    if folder is None or folder.exists():
        check_output_path(out, force)
        check_report_outputs(report, json_out, force)
        if json_out is None:
            check_new_file(report, force)
    else:  # the default folder is created only once the experiment has run
        check_report_outputs(None, json_out, force)
    real, target, dropped, leaky = read_source(data, target, parse_drop(drop))
    if leaky:
        err_console.print(f"[yellow]dropping columns that reveal {target}: {', '.join(leaky)}[/]")
    executor = bk.make_executor(backend, ray_address, workers)
    started = time.perf_counter()
    with progress_bar() as progress:
        # duplicates: keyword arguments passed through, alike in shape to other commands'
        result = augment_experiment(
            real,
            balance,
            target,
            generator=generator,
            strategy=strategy,
            size=size,
            repeats=repeats,
            holdout_fraction=holdout_fraction,
            seed=seed,
            drop=dropped,
            fair_by=fair_by,
            progress=progress,
            executor=executor,
        )
    if folder is not None:
        folder.mkdir(exist_ok=True)
    write_table(result.augmented, out)
    write_augment_report(result, report)
    if json_out is not None:
        atomic_write_text(json_out, json.dumps(result.summary(), indent=2) + "\n")
    added = ", ".join(f"{balance}={g}: +{k:,}" for g, k in result.added.items())
    console.print(
        f"wrote {len(result.augmented):,} rows ({added}) to {out} in "
        f"{time.perf_counter() - started:.1f}s; report: {report}",
        highlight=False,
    )
    console.print(result.conclusion, highlight=False)
