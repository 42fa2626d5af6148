"""``healthforge benchmark``: our generators and peers on bundled datasets, measured alike."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import typer
from rich.table import Table

from healthforge.cli.common import app, console, handle_errors, progress_bar
from healthforge.errors import HealthForgeError

DEFAULT_DATASETS = "nhefs,pima,icu,tissue_gene_expression"
CACHE_NAME = ".benchmark-cache"  # finished runs, reused by --resume


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
    out: Path = typer.Option(
        Path("benchmarks/results"), "--out", "-o", help="Folder for benchmark.md/.json/.html."
    ),
    force: bool = typer.Option(False, "--force", help="Replace existing benchmark files."),
    note: str | None = typer.Option(
        None, "--note", help="A paragraph for the results file (e.g. how runs were scheduled)."
    ),
    cached_only: bool = typer.Option(
        False, "--cached-only", help="With --resume: build the files from cached runs only."
    ),
    resume: bool = typer.Option(
        False, "--resume", help=f"Reuse finished runs kept in OUT/{CACHE_NAME}."
    ),
) -> None:
    """Benchmark generators (and peers) on fixed splits; write a table, JSON and a plot."""
    from healthforge.benchmark import run_benchmark
    from healthforge.generators import generator_names

    target = out / "benchmark.md"
    if target.exists() and not (force or resume):
        raise HealthForgeError(f"'{target}' already exists", "pass --force to replace it")
    names = _names(generators) or generator_names()
    data_names = _names(datasets)
    if not data_names:
        raise HealthForgeError("no datasets given", f"for example: --datasets {DEFAULT_DATASETS}")
    command = "healthforge " + shlex.join(sys.argv[1:])
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
            cache_dir=out / CACHE_NAME if resume else None,
            cached_only=cached_only and resume,
        )
    paths = result.write(out, command, note)
    _print_summary(result)
    for kind, path in paths.items():
        console.print(f"{kind}: {path}")


def _print_summary(result: object) -> None:
    from healthforge.benchmark.output import COLUMNS, fmt_stat

    summaries = getattr(result, "summaries", [])
    table = Table(title="Benchmark (mean ± sd over repeats)")
    for header in ("dataset", "method", "runs", "fit s", "detect AUC", "TSTR/TRTR", "DCR"):
        table.add_column(header)
    decimals = {name: d for _, name, d in COLUMNS}
    for s in summaries:
        if s.ok == 0:
            table.add_row(s.dataset, s.method, f"0/{s.runs}", s.status, "", "", "")
            continue
        cells = [
            fmt_stat(s.stats[n], decimals[n])
            for n in ("fit_seconds", "detection_auc", "utility_ratio", "dcr_ratio")
        ]
        table.add_row(s.dataset, s.method, f"{s.ok}/{s.runs}", *cells)
    console.print(table)
