"""``healthforge demo``: every generator on NHEFS, evaluated, with reports."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from healthforge.cli.common import app, console, handle_errors, progress_bar


def _fmt(value: object) -> str:
    return f"{value:.3f}" if isinstance(value, int | float) else "skipped"


@app.command("demo")
@handle_errors
def demo(
    out: Path = typer.Option(Path("demo-output"), "--out", "-o", help="Folder for the results."),
    generators: str | None = typer.Option(
        None,
        "--generators",
        help="Comma-separated generators, or 'all' (default: a fast set, one or more per family).",
    ),
    seed: int = typer.Option(0, "--seed", help="Random seed."),
    force: bool = typer.Option(False, "--force", help="Replace an existing output folder."),
) -> None:
    """Generate synthetic NHEFS with every generator and evaluate each on a holdout."""
    from healthforge.demo import run_demo

    names = [g.strip() for g in generators.split(",")] if generators else None
    with progress_bar() as progress:
        result = run_demo(out, names, seed=seed, force=force, progress=progress)
    console.print(
        f"NHEFS (bundled:nhefs): trained on {result.rows_train:,} rows, evaluated on "
        f"{result.rows_holdout:,} held-out rows; dropped {', '.join(result.dropped)} "
        "(they reveal the target, death)."
    )
    table = Table(title="Synthetic NHEFS: quality at a glance")
    headers = [
        ("generator", None),
        ("fit s", None),
        ("similarity", ("fidelity", "column_similarity")),
        ("detect AUC", ("fidelity", "detection_auc")),
        ("TSTR/TRTR", ("utility", "ratio")),
        ("DCR ratio", ("privacy", "dcr_ratio")),
        ("MIA AUC", ("privacy", "mia_auc")),
    ]
    for header, _ in headers:
        table.add_column(header)
    for run in result.runs:
        cells = [run.generator, f"{run.fit_seconds:.1f}"]
        for _, key in headers[2:]:
            assert key is not None
            cells.append(_fmt((run.summary.get(key[0]) or {}).get(key[1])))
        table.add_row(*cells)
    console.print(table)
    console.print(
        "similarity: 1 - KS/TV per column, 1 is best; detect AUC: a classifier telling real "
        "from synthetic, 0.5 is best; TSTR/TRTR: XGBoost AUROC for death trained on synthetic "
        "vs on real, 1 is best; DCR ratio: distance to the closest training row, synthetic vs "
        "held-out, ~1 means no copying; MIA AUC: membership attack, 0.5 means no leakage."
    )
    for run in result.runs:
        console.print(f"report for {run.generator}: {run.report_path}")
    console.print(f"[bold]leaderboard:[/] {result.leaderboard_path}")
    if result.not_run:
        from healthforge.generators import missing_extra

        extras = {n: missing_extra(n) for n in result.not_run}
        needs = [f"{n} needs pip install 'healthforge[{e}]'" for n, e in extras.items() if e]
        console.print(
            f"not in this demo: {', '.join(result.not_run)}; "
            "run them with --generators all or --generators NAME,..."
            + (f" ({'; '.join(needs)})" if needs else ""),
            highlight=False,
            markup=False,  # "healthforge[llm]" is an extra, not a rich style tag
        )
