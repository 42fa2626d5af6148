"""``healthforge evaluate`` and ``healthforge compare``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from healthforge.cli import backend_options as bk
from healthforge.cli.common import (
    app,
    console,
    err_console,
    handle_errors,
    load_schema,
    progress_bar,
)
from healthforge.data.bundled import default_target
from healthforge.data.io import check_new_file, load_table
from healthforge.errors import HealthForgeError

TASKS = ("classification", "regression", "survival")
DATA_HELP = "A CSV/TSV/Parquet/Excel file, or bundled:NAME."
HOLDOUT_HELP = (
    "Real rows the generator never saw (a test split). Needed for utility and privacy: "
    "they are measured against people the generator did not learn from."
)
NO_HOLDOUT_NOTICE = (
    "[yellow]notice:[/] no --holdout given. Utility (train on synthetic, test on real) and "
    "privacy (distance to closest record, membership inference) need real rows the generator "
    "never saw, so they are skipped. Pass the rows you held out before fitting as --holdout."
)
STATUS_STYLE = {"pass": "bold green", "warn": "bold yellow", "fail": "bold red"}
# the options evaluate and compare share, declared once
TARGET_OPTION = typer.Option(None, "--target", help="Outcome column for utility.")
TASK_OPTION = typer.Option(
    None, "--task", help="classification, regression or survival (default: inferred)."
)
TIME_COLUMN_OPTION = typer.Option(
    None, "--time-column", help="Survival: the time column (the target is the event)."
)
FAIRNESS_BY_OPTION = typer.Option(
    None, "--fairness-by", help="Column whose subgroups are compared (e.g. sex)."
)
SCHEMA_OPTION = typer.Option(None, "--schema", help="Schema file (YAML or JSON).")
SEED_OPTION = typer.Option(0, "--seed", help="Random seed for models and sampling.")
FORCE_OPTION = typer.Option(False, "--force", help="Overwrite existing report/JSON files.")


def check_report_outputs(report: Path | None, json_out: Path | None, force: bool) -> None:
    """Validate output paths before any data is read or any metric computed."""
    if report is not None and report.suffix.lower() not in {".html", ".htm"}:
        raise HealthForgeError(
            f"report '{report}' should end in .html", "e.g. --report evaluation.html"
        )
    if json_out is not None and json_out.suffix.lower() != ".json":
        raise HealthForgeError(f"'{json_out}' should end in .json", "e.g. --json evaluation.json")
    if report is not None and json_out is not None and report.resolve() == json_out.resolve():
        raise HealthForgeError("--report and --json name the same file")
    for path in (report, json_out):
        if path is not None:
            check_new_file(path, force)


def _check_task(task: str | None) -> None:
    if task is not None and task not in TASKS:
        raise HealthForgeError(f"unknown task '{task}'", f"use one of: {', '.join(TASKS)}")


def _check_columns(df: Any, names: Mapping[str, str | None]) -> None:
    """Fail early, in the user's words, when a named column is not in the real data."""
    for option, name in names.items():
        if name is not None and name not in df.columns:
            shown = ", ".join(map(str, list(df.columns)[:15]))
            raise HealthForgeError(
                f"{option} column '{name}' is not in the real data", f"columns are: {shown}"
            )


def _target(real: str, real_df: Any, target: str | None, schema: Any) -> str | None:
    """``--target``, else a bundled dataset's outcome (as generate/profile use it).

    A user's schema naming a target wins, as does data without the outcome column.
    """
    if target is not None:
        return target
    found = default_target(real, schema.target if schema is not None else None)
    if found is None or found not in real_df.columns:
        return None
    err_console.print(
        f"target: '{found}', the outcome of {real} (pass --target to choose another)",
        highlight=False,
    )
    return found


@app.command("evaluate")
@handle_errors
def evaluate_command(
    real: str = typer.Argument(
        ..., help="The real data the generator was trained on. " + DATA_HELP
    ),
    synthetic: str = typer.Argument(..., help="The synthetic data to evaluate."),
    holdout: str | None = typer.Option(None, "--holdout", help=HOLDOUT_HELP),
    # duplicates: typer reads each command's options from its own signature: the
    # shared ones (declared once above) are still listed in each
    target: str | None = TARGET_OPTION,
    task: str | None = TASK_OPTION,
    time_column: str | None = TIME_COLUMN_OPTION,
    fairness_by: str | None = FAIRNESS_BY_OPTION,
    schema: Path | None = SCHEMA_OPTION,
    report: Path | None = typer.Option(None, "--report", help="Write an HTML report here."),
    json_out: Path | None = typer.Option(None, "--json", help="Write the summary as JSON here."),
    seed: int = SEED_OPTION,
    force: bool = FORCE_OPTION,
    sample_rows: int | None = typer.Option(
        None,
        "--sample-rows",
        help="Parquet larger than memory: evaluate seeded uniform samples of N rows of each "
        "table, streamed (the metrics then describe the samples).",
    ),
) -> None:
    """Measure how faithful, useful, private and fair a synthetic dataset is."""
    _check_task(task)
    check_report_outputs(report, json_out, force)
    if sample_rows is not None:
        from healthforge.data.streaming import sample_rows as streamed

        def read(source: str) -> Any:
            return streamed(source, sample_rows, seed=seed)

        err_console.print(
            f"evaluating seeded samples of up to {sample_rows:,} rows of each table",
            highlight=False,
        )
    else:
        read = load_table
    real_df = read(real)
    synthetic_df = read(synthetic)
    holdout_df = read(holdout) if holdout is not None else None
    schema_obj = load_schema(schema)
    target = _target(real, real_df, target, schema_obj)
    _check_columns(
        real_df, {"--target": target, "--time-column": time_column, "--fairness-by": fairness_by}
    )
    if holdout_df is None:
        err_console.print(NO_HOLDOUT_NOTICE, highlight=False)

    from healthforge.evaluation import evaluate

    with progress_bar() as progress:
        # duplicates: keyword arguments passed through, alike in shape to other commands'
        result = evaluate(
            real_df,
            synthetic_df,
            holdout=holdout_df,
            schema=schema_obj,
            target=target,
            task=task,
            time_column=time_column,
            fairness_by=fairness_by,
            seed=seed,
            progress=progress,
        )
    if json_out is not None:
        result.to_json(json_out)
    if report is not None:
        from healthforge.evaluation.report import write_report

        write_report(result, report, real_df, synthetic_df, holdout_df)
    print_evaluation(result.summary, report, json_out)


def print_evaluation(
    summary: Mapping[str, Any], report: Path | None, json_out: Path | None
) -> None:
    from healthforge.evaluation.compare import HEADLINE_METRICS
    from healthforge.evaluation.report import metric_label, pretty_threshold

    scores = summary.get("scores") or []
    # Headline metrics always; any other metric only when it needs attention.
    shown = [s for s in scores if s.get("metric") in HEADLINE_METRICS or s.get("status") == "fail"]
    table = Table(title="Evaluation", title_justify="left")
    for column, justify in (("metric", "left"), ("value", "right"), ("status", "left")):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    table.add_column("threshold", style="dim")
    for score in shown:
        status = str(score.get("status") or "n/a")
        value = score.get("value")
        ci = score.get("interval")  # a 95% interval, for a metric judged on it
        table.add_row(
            f"{metric_label(str(score.get('metric')))} [dim]({score.get('metric')})[/]",
            ("-" if value is None else f"{float(value):.3f}")
            + (f" [dim]({ci[0]:.2f}-{ci[1]:.2f})[/]" if ci else ""),
            f"[{STATUS_STYLE.get(status, 'dim')}]{status}[/]",
            pretty_threshold(score.get("threshold")),
        )
    console.print(table)
    for score in shown:
        if score.get("verdict"):
            console.print(f"  [dim]{score.get('metric')}:[/] {score['verdict']}", highlight=False)
    counts = {s: sum(1 for r in scores if r.get("status") == s) for s in STATUS_STYLE}
    skipped = summary.get("skipped") or []
    console.print(
        "  ".join(f"[{STATUS_STYLE[s]}]{counts[s]} {s}[/]" for s in STATUS_STYLE)
        + f"  [dim]{len(skipped)} skipped[/]"
        + (f" (of {len(scores)} scored)" if len(shown) < len(scores) else ""),
        highlight=False,
    )
    no_holdout = not (summary.get("settings") or {}).get("holdout_given", True)
    for_holdout = [s for s in skipped if no_holdout and "holdout" in str(s.get("reason")).lower()]
    if for_holdout:
        names = ", ".join(str(s.get("metric")) for s in for_holdout)
        err_console.print(f"[yellow]skipped without a holdout:[/] {names}", highlight=False)
    for entry in skipped:
        if entry not in for_holdout:
            console.print(
                f"[dim]skipped {entry.get('metric')}: {entry.get('reason')}[/]", highlight=False
            )
    if report is not None:
        console.print(f"report: {report}", highlight=False)
    else:
        console.print("[dim]for plots and explanations, add --report evaluation.html[/]")
    if json_out is not None:
        console.print(f"summary: {json_out}", highlight=False)


def _names(paths: Sequence[str]) -> list[str]:
    """Short, unique names for synthetic inputs: the file stem, made unique when needed."""
    stems = []
    for text in paths:
        if text.startswith("bundled:"):
            stems.append(text.split(":", 1)[1])
            continue
        name = Path(text).name
        for suffix in (".gz", ".csv", ".tsv", ".tab", ".txt", ".parquet", ".pq", ".xlsx", ".xls"):
            name = name.removesuffix(suffix)
        stems.append(name)
    # "syn_ctgan", "syn_cart" -> "ctgan", "cart": the shared part says nothing.
    prefix = ""
    if len(stems) > 1:
        shortest = min(stems, key=len)
        end = next((i for i, ch in enumerate(shortest) if any(t[i] != ch for t in stems)), None)
        prefix = shortest if end is None else shortest[:end]
    prefix = prefix[: max(prefix.rfind("_"), prefix.rfind("-")) + 1]
    if prefix and all(len(s) > len(prefix) for s in stems):
        stems = [s[len(prefix) :] for s in stems]
    names: list[str] = []
    for i, stem in enumerate(stems):
        if stems.count(stem) > 1:
            parent = Path(paths[i]).parent.name
            stem = f"{parent}/{stem}" if parent else stem
        while stem in names:
            stem = f"{stem}#{i + 1}"
        names.append(stem)
    return names


@app.command("compare")
@handle_errors
def compare_command(
    real: str = typer.Argument(..., help="The real data the generators were trained on."),
    synthetic: list[str] = typer.Argument(..., help="Two or more synthetic data files."),
    holdout: str = typer.Option(..., "--holdout", help=HOLDOUT_HELP),
    # duplicates: typer reads each command's options from its own signature: the
    # shared ones (declared once above) are still listed in each
    target: str | None = TARGET_OPTION,
    task: str | None = TASK_OPTION,
    time_column: str | None = TIME_COLUMN_OPTION,
    fairness_by: str | None = FAIRNESS_BY_OPTION,
    schema: Path | None = SCHEMA_OPTION,
    report: Path | None = typer.Option(None, "--report", help="Write an HTML leaderboard here."),
    json_out: Path | None = typer.Option(None, "--json", help="Write the leaderboard as JSON."),
    seed: int = SEED_OPTION,
    force: bool = FORCE_OPTION,
    backend: str = bk.BACKEND,
    ray_address: str | None = bk.RAY_ADDRESS,
    workers: int | None = bk.WORKERS,
) -> None:
    """Rank several synthetic datasets evaluated against the same real data.

    With --backend ray each dataset is evaluated in its own Ray task (the same figures)."""
    if len(synthetic) < 2:
        raise HealthForgeError(
            "compare needs at least two synthetic files",
            "for one file use `healthforge evaluate REAL SYNTH --holdout TEST`",
        )
    _check_task(task)
    check_report_outputs(report, json_out, force)
    real_df = load_table(real)
    holdout_df = load_table(holdout)
    names = _names(synthetic)
    frames = {name: load_table(path) for name, path in zip(names, synthetic, strict=True)}
    schema_obj = load_schema(schema)
    target = _target(real, real_df, target, schema_obj)
    _check_columns(
        real_df, {"--target": target, "--time-column": time_column, "--fairness-by": fairness_by}
    )

    from healthforge.evaluation.batch import evaluate_many
    from healthforge.evaluation.compare import (
        compare,
        write_comparison_json,
        write_comparison_report,
    )

    executor = bk.make_executor(backend, ray_address, workers)
    options = {"holdout": holdout_df, "schema": schema_obj, "target": target, "task": task}
    options.update(time_column=time_column, fairness_by=fairness_by, seed=seed)
    with progress_bar() as progress:
        results = evaluate_many(real_df, frames, options, executor=executor, progress=progress)
    board = compare(results)
    if json_out is not None:
        write_comparison_json(board, results, json_out)
    if report is not None:
        write_comparison_report(board, results, report)
    _print_leaderboard(board, report, json_out)


def _print_leaderboard(board: Any, report: Path | None, json_out: Path | None) -> None:
    from healthforge.evaluation.compare import RANK_SUFFIX
    from healthforge.evaluation.report import metric_label

    metrics = [c[: -len(RANK_SUFFIX)] for c in board.columns if str(c).endswith(RANK_SUFFIX)]
    directions = board.attrs.get("higher_is_better") or {}
    table = Table(title="Leaderboard (rank in brackets, 1 = best)", title_justify="left")
    table.add_column("synthetic", no_wrap=True, min_width=max(len(str(n)) for n in board.index))
    table.add_column("mean rank", justify="right")
    for metric in metrics:
        arrow = "↑" if directions.get(metric, True) else "↓"
        table.add_column(f"{metric_label(metric)} {arrow}", justify="right")
    table.add_column("pass/warn/fail", justify="right", no_wrap=True)
    for name, row in board.iterrows():
        cells = [str(name), f"{row['mean_rank']:.2f}"]
        for metric in metrics:
            value, rank = row[metric], row[metric + RANK_SUFFIX]
            if value != value:  # NaN: not measured
                cells.append("-")
                continue
            text = f"{value:.3f} ({int(rank)})"
            cells.append(f"[bold green]{text}[/]" if rank == 1 else text)
        cells.append(
            f"[green]{int(row['pass'])}[/]/[yellow]{int(row['warn'])}[/]/[red]{int(row['fail'])}[/]"
        )
        table.add_row(*cells)
    console.print(table)
    if board.attrs.get("note"):
        console.print(board.attrs["note"], highlight=False)
    if report is not None:
        console.print(f"report: {report}", highlight=False)
    if json_out is not None:
        console.print(f"leaderboard: {json_out}", highlight=False)
