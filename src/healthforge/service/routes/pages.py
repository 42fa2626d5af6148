"""The web page and its vendored assets (served from the package; no network)."""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter
from fastapi.responses import Response

from healthforge.service.errors import ServiceError

router = APIRouter(include_in_schema=False)
ASSETS = {
    "app.js": "text/javascript; charset=utf-8",
    "app.css": "text/css; charset=utf-8",
    "logo.svg": "image/svg+xml",
}


def _read(name: str) -> bytes:
    return resources.files("healthforge.service").joinpath("static", name).read_bytes()


@router.get("/")
def index() -> Response:
    return Response(_read("index.html"), media_type="text/html; charset=utf-8")


@router.get("/static/{name}")
def asset(name: str) -> Response:
    if name not in ASSETS:  # a fixed list: no path from the request reaches the disk
        raise ServiceError("not found", None, 404)
    return Response(_read(name), media_type=ASSETS[name])
