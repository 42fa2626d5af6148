"""The ``--backend local|ray`` options shared by the commands that can scale out."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from healthforge.errors import HealthForgeError

BACKEND_HELP = (
    "Where the work runs: local (this process, the default) or ray (an embedded Ray "
    "runtime, or the cluster at --ray-address; needs the ray extra)."
)
ADDRESS_HELP = "Ray cluster to join (ray://HEAD:10001 or auto); default: start one here."
WORKERS_HELP = "With --backend ray: tasks at a time (default: the cluster's CPUs)."
MEMORY_HELP = "With --backend ray: GiB of memory each task asks the scheduler for."
SHARD_HELP = "Rows per shard of a partitioned output (a multiple of 50,000)."


BACKEND = typer.Option("local", "--backend", help=BACKEND_HELP)
RAY_ADDRESS = typer.Option(None, "--ray-address", help=ADDRESS_HELP)
WORKERS = typer.Option(None, "--workers", help=WORKERS_HELP)
RETRIES = typer.Option(
    2, "--retries", min=0, help="With --backend ray: reruns of a shard whose worker died."
)
CELL_MEMORY = typer.Option(None, "--cell-memory", help=MEMORY_HELP)
FIT_ROWS = typer.Option(
    None,
    "--fit-rows",
    help="Fit on a seeded uniform sample of N rows streamed from a Parquet file or folder "
    "larger than memory.",
)
SHARD_ROWS = typer.Option(1_000_000, "--shard-rows", help=SHARD_HELP)


def gib_to_bytes(gib: float | None) -> int | None:
    if gib is None:
        return None
    if gib <= 0:
        raise HealthForgeError(f"--cell-memory must be positive, not {gib}")
    return int(gib * 1024**3)


def make_executor(backend: str, address: str | None, workers: int | None, retries: int = 2) -> Any:
    """The executor the options name (starting or joining Ray for ``ray``)."""
    from healthforge.distributed import get_executor

    if workers is not None and workers < 1:
        raise HealthForgeError(f"--workers must be at least 1, not {workers}")
    if backend == "local" and workers is not None:
        raise HealthForgeError("--workers needs --backend ray (local runs one task at a time)")
    return get_executor(backend, address=address, workers=workers, retries=retries)


def check_sample_output(out: Path, force: bool, backend: str) -> bool:
    """Validate ``--out``; True when it names a partitioned folder (no file extension).

    The Ray backend writes only folders: many workers cannot write one file."""
    from healthforge.data.io import check_output_path
    from healthforge.data.partitioned import is_partitioned

    if not is_partitioned(out):
        if backend != "local":
            raise HealthForgeError(
                f"--backend {backend} writes a partitioned folder, not the file '{out}'",
                "give --out a folder name without an extension, e.g. --out synthetic/",
            )
        check_output_path(out, force)
        return False
    if out.exists() and any(out.iterdir()) and not force:
        raise HealthForgeError(
            f"folder '{out}' already exists and is not empty",
            "choose another name or pass --force to replace its shards",
        )
    if not out.parent.exists():
        raise HealthForgeError(f"folder '{out.parent}' does not exist", "create it first")
    return True
