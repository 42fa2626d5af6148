"""Shared fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fixtures_data import make_messy


@pytest.fixture
def messy_csv(tmp_path: Path) -> Path:
    path = tmp_path / "messy.csv"
    make_messy().to_csv(path, index=False)
    return path
