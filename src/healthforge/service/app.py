"""The FastAPI application: routes, limits, error answers, and the scheduler's lifetime."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.util import find_spec

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from healthforge import __version__
from healthforge.errors import HealthForgeError
from healthforge.service.config import ServiceConfig
from healthforge.service.core import Service
from healthforge.service.limits import LimitsMiddleware, TooLarge
from healthforge.service.routes import catalog, datasets, jobs, pages, partner

DESCRIPTION = (
    "Upload a health table, profile it, run the synthetic-data workflow as jobs and "
    "download the results. Every dataset, job and conversation belongs to one user: "
    "another user's id answers 404. Sign in with `Authorization: Bearer TOKEN`."
)


def create_app(config: ServiceConfig, start_workers: bool = True) -> FastAPI:
    """The app for ``config``; ``start_workers=False`` leaves queued jobs waiting (tests)."""
    service = Service(config)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if start_workers:
            service.start()
        try:
            yield
        finally:
            service.stop()

    app = FastAPI(
        title="HealthForge",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # the interactive docs load assets from a CDN: off, offline service
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.service = service
    if find_spec("healthforge.partner") is not None:
        from healthforge.service.conversations import Conversations

        service.conversations = Conversations(config, service.db)
    for module in (catalog, datasets, jobs, partner, pages):
        app.include_router(module.router)

    @app.exception_handler(HealthForgeError)
    async def user_error(request: Request, exc: HealthForgeError) -> JSONResponse:
        status = getattr(exc, "status", 400)
        return JSONResponse({"detail": exc.message, "hint": exc.hint}, status_code=status)

    @app.exception_handler(TooLarge)
    async def too_large(request: Request, exc: TooLarge) -> JSONResponse:
        return JSONResponse({"detail": "the request is too large"}, status_code=413)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        headers = {k: v for k, v in (exc.headers or {}).items() if k.lower() != "allow"}
        if exc.status_code == 405:  # every method of the path, not only one route's
            headers["allow"] = ", ".join(allowed_methods(app, request.url.path))
        return JSONResponse({"detail": exc.detail}, exc.status_code, headers=headers)

    app.add_middleware(LimitsMiddleware, config=config)
    return app


def allowed_methods(app: FastAPI, path: str) -> list[str]:
    """The methods the routes of ``path`` answer (FastAPI makes one route per method)."""
    methods: set[str] = set()
    for route in app.router.routes:
        regex = getattr(route, "path_regex", None)
        if regex is not None and regex.match(path):
            methods |= set(getattr(route, "methods", None) or ())
    return sorted(methods)
