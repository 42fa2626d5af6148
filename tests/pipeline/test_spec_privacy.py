"""A run specification cannot make an inferred domain public (issue #20's rule, kept by #21)."""

from __future__ import annotations

import pytest

from healthforge.errors import HealthForgeError
from healthforge.pipeline import RunSpec


def _spec(source: str) -> dict:
    return {"data": {"source": source, "schema_from_data": True}, "generator": {"name": "mst"}}


def test_schema_from_data_is_refused_for_a_users_table() -> None:
    with pytest.raises(HealthForgeError, match="treat the domain inferred from your rows"):
        RunSpec.from_dict(_spec("my_extract.csv"))


def test_schema_from_data_is_allowed_for_a_bundled_codebook() -> None:
    assert RunSpec.from_dict(_spec("bundled:nhefs")).data.schema_from_data is True
