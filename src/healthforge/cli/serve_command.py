"""``healthforge serve``: the REST API and the web page, over the same library."""

from __future__ import annotations

from pathlib import Path

import typer

from healthforge.cli import backend_options as bk
from healthforge.cli.common import app, console, handle_errors

DEFAULT_DATA = Path.home() / ".healthforge" / "service"


@app.command("serve")
@handle_errors
def serve(
    # duplicates: typer option declarations, alike in shape across commands
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind (loopback by default)."),
    port: int = typer.Option(8000, "--port", help="Port to listen on."),
    data_dir: Path = typer.Option(
        DEFAULT_DATA, "--data-dir", help="Where the database, uploads and outputs live."
    ),
    create_user: str | None = typer.Option(
        None, "--create-user", help="Add a user, print their token once, and exit."
    ),
    no_auth: bool = typer.Option(
        False, "--no-auth", help="Single-user mode without tokens (loopback only)."
    ),
    max_upload_mb: int = typer.Option(100, "--max-upload-mb", help="Largest upload (MB)."),
    max_rows: int = typer.Option(1_000_000, "--max-rows", help="Most rows in an upload."),
    max_columns: int = typer.Option(1_000, "--max-columns", help="Most columns in an upload."),
    workers: int = typer.Option(2, "--workers", help="Jobs running at once, all users."),
    workers_per_user: int = typer.Option(1, "--workers-per-user", help="Jobs at once per user."),
    spare_worker: bool = typer.Option(
        True, "--spare-worker/--no-spare-worker", help="Keep one worker started ahead."
    ),
    llm_url: str | None = typer.Option(
        None,
        "--llm-url",
        help="The partner's OpenAI-compatible endpoint (llama.cpp server, Ollama, vLLM, a "
        "hosted API); default: HEALTHFORGE_LLM_BASE_URL, else no language model. Data rows "
        "never reach it.",
    ),
    llm_model: str | None = typer.Option(
        None,
        "--llm-model",
        help="The endpoint's model (default: HEALTHFORGE_LLM_MODEL or its first).",
    ),
    backend: str = typer.Option(
        "local",
        "--backend",
        help="The jobs' executor: local (each job in its worker process) or ray (sampling "
        "shards, benchmark cells, compare evaluations and augment repeats as Ray tasks; "
        "needs the ray extra).",
    ),
    ray_address: str | None = bk.RAY_ADDRESS,
    ray_workers: int | None = typer.Option(
        None, "--ray-workers", help="With --backend ray: tasks at a time per job."
    ),
) -> None:
    """Start the HealthForge service: the API (OpenAPI at /api/openapi.json) and the web page."""
    from healthforge.service.config import MB, ServiceConfig

    # duplicates: keyword arguments passed through, alike in shape to other commands'
    config = ServiceConfig(
        data_dir=data_dir,
        host=host,
        port=port,
        auth=not no_auth,
        max_upload_bytes=max_upload_mb * MB,
        max_rows=max_rows,
        max_columns=max_columns,
        max_jobs=workers,
        max_jobs_per_user=workers_per_user,
        spare_workers=spare_worker,
        llm_url=llm_url,
        llm_model=llm_model,
        backend=backend,
        ray_address=ray_address,
        ray_workers=ray_workers,
    )
    if create_user is not None:
        from healthforge.service.auth import create_user as add_user
        from healthforge.service.db import Database

        config.data_dir.mkdir(parents=True, exist_ok=True)
        token = add_user(Database(config.db_path), create_user)
        console.print(f"user '{create_user}' created; their token (shown once, keep it secret):")
        print(token)
        return
    from healthforge.service.server import serve as run_server

    run_server(config)
