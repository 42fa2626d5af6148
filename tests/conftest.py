"""Shared fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fixtures_data import make_messy


@pytest.fixture(autouse=True)
def _selection_store_in_tmp(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No test reads or writes the real per-user selection store (~/.healthforge/selection):
    a run that records its evaluation (generate --generator auto, the partner) writes here."""
    monkeypatch.setenv("HEALTHFORGE_SELECTION_DIR", str(tmp_path_factory.mktemp("selection")))


@pytest.fixture
def messy_csv(tmp_path: Path) -> Path:
    path = tmp_path / "messy.csv"
    make_messy().to_csv(path, index=False)
    return path
