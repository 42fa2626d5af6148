"""The service's settings: where it keeps its files, what it accepts, how much it runs."""

from __future__ import annotations

import importlib.util
import ipaddress
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from healthforge.errors import HealthForgeError

MB = 1024 * 1024
LOOPBACK_NAMES = ("localhost",)
BACKEND_ENV = "HEALTHFORGE_SERVICE_BACKEND"  # how the scheduler hands the backend to workers


@dataclass
class ServiceConfig:
    """Limits and folders of one service.

    ``data_dir`` holds the database and every stored file (uploads under generated
    names, job outputs); nothing in it is served as a folder. ``auth=False`` is the
    single-user laptop mode and is refused unless the service binds to loopback.
    """

    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 8000
    auth: bool = True
    max_upload_bytes: int = 100 * MB
    max_rows: int = 1_000_000
    max_columns: int = 1_000
    max_jobs: int = 2  # worker processes at once, all users together
    max_jobs_per_user: int = 1  # worker processes at once for one user
    max_queued_per_user: int = 50  # jobs waiting or running for one user
    spare_workers: bool = True  # keep one worker started ahead (imports done) for the next job
    max_json_bytes: int = 1 * MB  # any request that is not an upload
    scheduler_interval: float = 0.2  # seconds between scheduler passes
    llm_url: str | None = None  # the partner's OpenAI-compatible endpoint (else the router)
    llm_model: str | None = None  # its model (default: the first it lists)
    backend: str = "local"  # the jobs' executor: local, or ray (healthforge.distributed)
    ray_address: str | None = None  # with ray: the cluster to join (default: embedded)
    ray_workers: int | None = None  # with ray: tasks at a time (default: the cluster's CPUs)

    def __post_init__(self) -> None:
        self.data_dir = Path(self.data_dir).expanduser().resolve()
        if not self.auth and not is_loopback(self.host):
            raise HealthForgeError(
                f"--no-auth would let anyone who reaches {self.host} use the service",
                "bind to 127.0.0.1 (the default) or keep authentication on",
            )
        for name in ("max_upload_bytes", "max_rows", "max_columns", "max_jobs"):
            if getattr(self, name) < 1:
                raise HealthForgeError(f"{name} must be at least 1")
        if self.max_jobs_per_user < 1:
            raise HealthForgeError("max_jobs_per_user must be at least 1")
        self._check_backend()

    def _check_backend(self) -> None:
        from healthforge.distributed.backends import BACKENDS

        if self.backend not in BACKENDS:
            raise HealthForgeError(
                f"unknown backend '{self.backend}'", f"use one of: {', '.join(BACKENDS)}"
            )
        if self.backend == "local" and (self.ray_address or self.ray_workers is not None):
            raise HealthForgeError("--ray-address and --ray-workers need --backend ray")
        if self.ray_workers is not None and self.ray_workers < 1:
            raise HealthForgeError(f"--ray-workers must be at least 1, not {self.ray_workers}")
        if self.backend == "ray" and importlib.util.find_spec("ray") is None:
            raise HealthForgeError(
                "--backend ray needs the ray extra, which is not installed",
                "install healthforge's ray extra (docs/scaling.md), or use --backend local",
            )

    def backend_json(self) -> str:
        """The executor settings, as the scheduler passes them to a worker (:data:`BACKEND_ENV`)."""
        return json.dumps(
            {
                "backend": self.backend,
                "ray_address": self.ray_address,
                "ray_workers": self.ray_workers,
            }
        )

    def executor(self) -> Any:
        """The jobs' executor, built as the CLI's ``--backend`` builds it
        (:func:`healthforge.distributed.get_executor`; ``ray`` starts or joins Ray)."""
        from healthforge.distributed import get_executor

        return get_executor(self.backend, address=self.ray_address, workers=self.ray_workers)

    @property
    def db_path(self) -> Path:
        return self.data_dir / "healthforge.db"

    def folder(self, kind: str, item_id: str) -> Path:
        """The folder of one stored item (``datasets``, ``jobs``, ``conversations``);
        ``item_id`` is always one the service generated."""
        if not item_id.isalnum():  # generated ids are hex; never a path from a request
            raise HealthForgeError(f"'{item_id}' is not an id this service made")
        return self.data_dir / kind / item_id


def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback address (127.0.0.0/8, ::1) or ``localhost``."""
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
