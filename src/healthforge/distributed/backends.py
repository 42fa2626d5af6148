"""Choosing a backend by name: ``local`` (the default) or ``ray``."""

from __future__ import annotations

from healthforge.distributed.executor import Executor, LocalExecutor
from healthforge.errors import HealthForgeError

BACKENDS = ("local", "ray")


def get_executor(
    backend: str = "local",
    address: str | None = None,
    workers: int | None = None,
    retries: int = 2,
) -> Executor:
    """The executor of ``backend``: ``local``, or ``ray`` (embedded on this machine without
    ``address``, else joining the cluster at ``address``)."""
    if backend not in BACKENDS:
        raise HealthForgeError(f"unknown backend '{backend}'", f"use one of: {', '.join(BACKENDS)}")
    if backend == "local":
        if address is not None:
            raise HealthForgeError("--ray-address needs --backend ray")
        return LocalExecutor()
    from healthforge.distributed.ray_backend import RayExecutor

    return RayExecutor(address=address, workers=workers, retries=retries)
