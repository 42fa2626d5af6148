"""The service's tests need its extra (``pip install -e '.[service]'``); without it they
are not collected, and the header of the run says so."""

from __future__ import annotations

import importlib


def _missing(*modules: str) -> list[str]:
    found = []
    for module in modules:
        try:
            importlib.import_module(module)
        except ImportError:
            found.append(module)
    return found


MISSING = _missing("fastapi", "httpx", "python_multipart", "uvicorn")

if MISSING:
    collect_ignore_glob = ["test_*.py"]
else:
    from tests.service.helpers import api  # noqa: F401  (the fixture)


def pytest_report_header() -> str | None:
    if MISSING:
        return "tests/service skipped: the service extra is missing (pip install -e '.[service]')"
    return None
