"""``healthforge benchmark``: our generators and peers on bundled datasets, measured alike."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import typer
from rich.table import Table

from healthforge.cli import backend_options as bk
from healthforge.cli.common import app, console, handle_errors, progress_bar
from healthforge.errors import HealthForgeError

DEFAULT_DATASETS = "nhefs,pima,icu,tissue_gene_expression"


def _names(text: str | None) -> list[str]:
    return [n.strip() for n in (text or "").split(",") if n.strip()]


@app.command("benchmark")
@handle_errors
def benchmark(
    datasets: str = typer.Option(
        DEFAULT_DATASETS, "--datasets", help="Comma-separated bundled datasets."
    ),
    generators: str | None = typer.Option(
        None, "--generators", help="Comma-separated generators (default: all registered)."
    ),
    peers: str | None = typer.Option(
        None, "--peers", help="Peers to compare with: sdv, synthcity, or one method (sdv:ctgan)."
    ),
    install_peers: bool = typer.Option(
        False, "--install-peers", help="Create the peers' virtual environments under .peers/."
    ),
    repeats: int = typer.Option(3, "--repeats", min=1, help="Seeded 80/20 splits per dataset."),
    peer_repeats: int | None = typer.Option(
        None, "--peer-repeats", min=1, help="Splits for peers (default: --repeats)."
    ),
    peer_datasets: str | None = typer.Option(
        None, "--peer-datasets", help="Datasets peers run on (default: all)."
    ),
    peer_epochs: int = typer.Option(300, "--peer-epochs", min=1, help="Epochs for deep peers."),
    seed: int = typer.Option(0, "--seed", help="Seed of the first split."),
    rows: int | None = typer.Option(
        None, "--rows", min=10, help="Use at most this many real rows per dataset."
    ),
    timeout: float = typer.Option(
        3600.0, "--timeout", min=1.0, help="Seconds one fit+sample may take."
    ),
    epsilons: str | None = typer.Option(
        None,
        "--epsilons",
        help="Privacy budgets, e.g. 0.5,1,3,10: each DP generator (and DP peer) runs at each.",
    ),
    out: Path = typer.Option(
        Path("benchmarks/results"), "--out", "-o", help="Folder for the result files."
    ),
    # duplicates: typer option declarations, alike in shape across commands
    name: str = typer.Option(
        "benchmark", "--name", help="File stem: NAME.md, NAME.json (every run), NAME.html."
    ),
    force: bool = typer.Option(
        False, "--force", help="Measure every run again instead of reusing those in NAME.json."
    ),
    note: str | None = typer.Option(
        None, "--note", help="A paragraph for the results file (e.g. how runs were scheduled)."
    ),
    cached_only: bool = typer.Option(
        False, "--cached-only", help="Build the files from the runs already in NAME.json."
    ),
    threads: int | None = typer.Option(
        None,
        "--threads",
        min=1,
        help="Compute threads for every fit, ours and peers alike (default: the libraries').",
    ),
    eval_draws: int = typer.Option(
        1,
        "--eval-draws",
        min=1,
        help="Evaluate up to K disjoint blocks of len(train) sampled rows per run and "
        "average them (one block's detection and TSTR move with the sampling draw).",
    ),
    backend: str = bk.BACKEND,
    ray_address: str | None = bk.RAY_ADDRESS,
    workers: int | None = bk.WORKERS,
    cell_memory: float | None = bk.CELL_MEMORY,
) -> None:
    """Benchmark generators (and peers) on fixed splits; write a table, JSON and a plot.

    Every finished run is written to OUT/NAME.json at once; running the same command
    again reuses the runs found there (same settings and code) and measures the rest,
    so a long benchmark can be resumed, extended and merged. --force measures all again.
    """
    from healthforge.benchmark import run_benchmark
    from healthforge.generators import generator_names

    stem = name.strip()
    if not stem or "/" in stem or stem.startswith("."):
        raise HealthForgeError(f"--name must be a plain file stem, not {name!r}")
    results = out / f"{stem}.json"
    if (out / f"{stem}.md").exists() and not results.exists() and not force:
        raise HealthForgeError(
            f"'{out / f'{stem}.md'}' exists without its {stem}.json",
            "pass --force to replace it, or choose another --out or --name",
        )
    budgets = _budgets(epsilons)
    names = _names(generators) or generator_names(installed_only=True)
    data_names = _names(datasets)
    if not data_names:
        raise HealthForgeError("no datasets given", f"for example: --datasets {DEFAULT_DATASETS}")
    command = "healthforge " + shlex.join(sys.argv[1:])
    executor = bk.make_executor(backend, ray_address, workers)
    with progress_bar() as progress:
        result = run_benchmark(
            data_names,
            names,
            peers=_names(peers),
            repeats=repeats,
            seed=seed,
            rows=rows,
            progress=progress,
            peer_repeats=peer_repeats,
            peer_datasets=_names(peer_datasets) or None,
            install_peers=install_peers,
            peer_epochs=peer_epochs,
            job_timeout=timeout,
            epsilons=budgets,
            results_json=results,
            force=force,
            cached_only=cached_only,
            threads=threads,
            eval_draws=eval_draws,
            executor=executor,
            cell_memory=bk.gib_to_bytes(cell_memory),
        )
    paths = result.write(out, command, note, stem)
    _print_summary(result)
    for kind, path in paths.items():
        console.print(f"{kind}: {path}")


def _budgets(text: str | None) -> list[float] | None:
    if text is None:
        return None
    values = []
    for item in _names(text):
        try:
            values.append(float(item))
        except ValueError:
            raise HealthForgeError(
                f"--epsilons takes numbers, not {item!r}", "for example --epsilons 0.5,1,3,10"
            ) from None
    if not values:
        raise HealthForgeError("--epsilons is empty", "for example --epsilons 0.5,1,3,10")
    return values


def _print_summary(result: object) -> None:
    from healthforge.benchmark.output import COLUMNS, fmt_stat

    summaries = getattr(result, "summaries", [])
    table = Table(title="Benchmark (mean ± sd over repeats)")
    for header in ("dataset", "method", "runs", "fit s", "detect AUC", "TSTR/TRTR", "DCR"):
        table.add_column(header)
    decimals = {name: d for _, name, d in COLUMNS}
    for s in summaries:
        if s.ok == 0:
            table.add_row(s.dataset, s.label, f"0/{s.runs}", s.status, "", "", "")
            continue
        cells = [
            fmt_stat(s.stats[n], decimals[n])
            for n in ("fit_seconds", "detection_auc", "utility_ratio", "dcr_ratio")
        ]
        table.add_row(s.dataset, s.label, f"{s.ok}/{s.runs}", *cells)
    console.print(table)
