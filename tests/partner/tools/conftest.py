"""A session context on the bundled ICU table (200 rows: fast fits)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from healthforge.partner.tools import ToolContext, ToolResult, get_tool


def call(ctx: ToolContext, name: str, args: dict[str, Any] | None = None) -> ToolResult:
    """Validate then execute, as the engine does."""
    tool = get_tool(name)
    return tool.execute(ctx, tool.validate(ctx, args or {}))


@pytest.fixture(autouse=True)
def _selection_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What the recommender learns goes to a temporary store, not the user's."""
    monkeypatch.setenv("HEALTHFORGE_SELECTION_DIR", str(tmp_path / "selection"))


@pytest.fixture
def icu(tmp_path: Path) -> ToolContext:
    ctx = ToolContext(session_dir=tmp_path)
    call(ctx, "load_data", {"source": "bundled:icu"})
    return ctx
