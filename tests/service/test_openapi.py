"""Property-based tests of the API against its own OpenAPI document (schemathesis): every
operation, signed in, with generated requests - never a server error, and every answer
as the document says (status code, content type, body). Bounded: a few examples each."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis", reason="schemathesis is not installed")
from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis.specs.openapi.checks import positive_data_acceptance  # noqa: E402

from healthforge.service.app import create_app  # noqa: E402
from healthforge.service.auth import create_user  # noqa: E402
from tests.service.helpers import make_config  # noqa: E402

# built at import (schemathesis parametrizes from it); the folder goes when the module ends
FOLDER = Path(tempfile.mkdtemp(prefix="hf-openapi-"))
APP = create_app(make_config(FOLDER), start_workers=False)  # queued jobs never run here
SIGNED_IN = {"Authorization": f"Bearer {create_user(APP.state.service.db, 'fuzz')}"}
schema = schemathesis.openapi.from_asgi("/api/openapi.json", APP)


@pytest.fixture(scope="module", autouse=True)
def _remove_folder() -> Iterator[None]:
    yield
    shutil.rmtree(FOLDER, ignore_errors=True)


@schema.parametrize()
@settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_keeps_its_contract(case: Any) -> None:
    # a request can fit the document and still be refused for its content (bytes that
    # are no table, a spec naming no dataset of yours): that refusal must then be a
    # documented 4xx with the documented body, which the other checks verify
    case.call_and_validate(headers=SIGNED_IN, excluded_checks=[positive_data_acceptance])
