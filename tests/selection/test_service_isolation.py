"""In the web service each user has their own selection record: what one user's evaluated
runs taught the recommender never steers, or shows in, another user's recommendations."""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")

from tests.service.helpers import api  # noqa: F401  (the fixture)
from tests.service.test_partner import opened, talk


def _approve_next(client: Any, base: str, text: str, who: str) -> list[dict[str, Any]]:
    events = talk(client, base + "/messages", {"text": text}, who)
    proposal = next(e for e in events if e.get("kind") == "proposal")
    return talk(client, f"{base}/actions/{proposal['action']['id']}/approve", {}, who)


def _recommendation(client: Any, base: str, who: str) -> dict[str, Any]:
    events = talk(client, base + "/messages", {"text": "which generator do you recommend"}, who)
    result = next(e for e in events if e.get("kind") == "result")
    assert result["action"]["tool"] == "recommend_generators"
    return result["data"]["method"]


def test_one_users_evaluations_never_reach_another_users_recommendation(
    api: Any,  # noqa: F811  (the fixture imported above)
) -> None:
    _, alice_cid = opened(api, "alice")
    alice = f"/api/conversations/{alice_cid}"
    _approve_next(api, alice, "generate 200 rows", "alice")
    events = _approve_next(api, alice, "evaluate", "alice")
    assert any(e.get("kind") == "result" for e in events)
    assert _recommendation(api, alice, "alice")["uses_private_data"] is True
    _, bob_cid = opened(api, "bob")
    bob = _recommendation(api, f"/api/conversations/{bob_cid}", "bob")
    assert bob["uses_private_data"] is False
    assert "evaluations of earlier runs" not in bob["note"]
