"""Running the service: ``healthforge serve`` (uvicorn on one port, loopback by default)."""

from __future__ import annotations

from healthforge.errors import HealthForgeError
from healthforge.service.config import ServiceConfig, is_loopback


def check_installed() -> None:
    from importlib.util import find_spec

    missing = [m for m in ("fastapi", "uvicorn", "python_multipart") if find_spec(m) is None]
    if missing:
        raise HealthForgeError(
            f"the service needs {', '.join(missing)}, which are not installed",
            "install the service extra: pip install 'healthforge[service]'",
        )


def serve(config: ServiceConfig, log_level: str = "info") -> None:
    """Start the API and the web page; returns when the server is stopped (Ctrl-C)."""
    check_installed()
    import uvicorn

    from healthforge.service.app import create_app

    app = create_app(config)
    where = f"http://{config.host}:{config.port}/"
    if not is_loopback(config.host):
        print(f"warning: serving on {config.host}: put TLS (a reverse proxy) in front of it")
    print(f"HealthForge service on {where} (data in {config.data_dir}); Ctrl-C stops it")
    uvicorn.run(
        app,
        host=config.host,
        port=config.port,
        log_level=log_level,
        access_log=False,  # request lines carry ids, not data, but stay quiet by default
        timeout_graceful_shutdown=5,
    )
