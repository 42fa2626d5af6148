"""``/api/conversations``: the partner per user and dataset - streamed events, approval,
rejection with alternatives, files, the service's guard on paths, and isolation."""

from __future__ import annotations

import json
from typing import Any

import pytest

from healthforge.partner.tools import ToolError
from healthforge.service.conversations import guard
from tests.service.helpers import Api


def talk(api: Api, url: str, body: dict, who: str = "alice") -> list[dict[str, Any]]:
    """POST and read the server-sent events: the partner's events, then the end."""
    events, kind = [], None
    with api.client.stream("POST", url, headers=api.headers(who), json=body) as r:
        assert r.status_code == 200, r.read()
        assert r.headers["content-type"].startswith("text/event-stream")
        for line in r.iter_lines():
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: "):
                events.append({"stream": kind, **json.loads(line[6:])})
    assert events[-1]["stream"] == "end"
    return events


def opened(api: Api, who: str = "alice") -> tuple[str, str]:
    dataset = api.upload(who=who)
    r = api.client.post(
        "/api/conversations", headers=api.headers(who), json={"dataset_id": dataset["id"]}
    )
    assert r.status_code == 200, r.text
    return dataset["id"], r.json()["id"]


def test_partner_workflow_with_approval(api: Api) -> None:
    dataset_id, cid = opened(api)
    base = f"/api/conversations/{cid}"
    events = talk(api, base + "/messages", {"text": "profile"})
    assert any(e.get("kind") == "result" and e["action"]["tool"] == "profile_data" for e in events)
    events = talk(api, base + "/messages", {"text": "generate 300 rows"})
    proposal = next(e for e in events if e.get("kind") == "proposal")
    assert proposal["action"]["tool"] == "generate" and proposal["action"]["needs_approval"]
    assert events[-1]["pending"][0]["id"] == proposal["action"]["id"]
    # nothing is written before the approval
    assert api.client.get(base + "/files/synthetic.csv", headers=api.alice).status_code == 404
    events = talk(api, f"{base}/actions/{proposal['action']['id']}/approve", {})
    result = next(e for e in events if e.get("kind") == "result")
    assert result["action"]["status"] == "done" and "synthetic.csv" in result["files"]
    assert any(e.get("kind") == "progress" for e in events)  # streamed while it worked
    download = api.client.get(base + "/files/synthetic.csv", headers=api.alice)
    assert download.status_code == 200 and len(download.text.splitlines()) == 301
    # a ticket opens that one file without the token, and no other
    ticket = api.client.post(base + "/tickets/synthetic.csv", headers=api.alice)
    url = ticket.json()["url"]
    assert api.client.get(url).text == download.text
    assert api.client.get(url.replace("synthetic.csv?", "evaluation.json?")).status_code == 401
    # the conversation is kept: the same one comes back for the same dataset
    again = api.client.post(
        "/api/conversations", headers=api.alice, json={"dataset_id": dataset_id}
    )
    kinds = [e.get("kind") for e in again.json()["events"]]
    assert again.json()["id"] == cid and kinds.count("user") == 3 and "result" in kinds


def test_rejecting_offers_alternatives(api: Api) -> None:
    _, cid = opened(api)
    base = f"/api/conversations/{cid}"
    events = talk(api, base + "/messages", {"text": "generate 200 rows"})
    action = next(e for e in events if e.get("kind") == "proposal")["action"]
    events = talk(api, f"{base}/actions/{action['id']}/reject", {"reason": "not this one"})
    offered = [e for e in events if e.get("kind") == "message" and e["data"].get("alternatives")]
    assert offered and offered[0]["data"]["alternatives"][0]["tool"]
    assert events[-1]["pending"] == []
    r = api.client.post(f"{base}/actions/{action['id']}/approve", headers=api.alice, json={})
    assert r.status_code == 200  # streamed: the refusal is an event
    events = talk(api, f"{base}/actions/{action['id']}/approve", {})
    assert any(e.get("kind") == "error" and "not awaiting" in e["text"] for e in events)


def test_a_conversation_cannot_load_another_file(api: Api) -> None:
    _, cid = opened(api)
    events = talk(api, f"/api/conversations/{cid}/messages", {"text": "load bundled:icu"})
    errors = [e for e in events if e.get("kind") == "error"]
    assert errors and "its dataset only" in errors[0]["text"]
    assert not any(e.get("kind") == "result" for e in events)
    with pytest.raises(ToolError):
        guard("load_data", {"source": "/etc/passwd"}, None)
    with pytest.raises(ToolError):
        guard("set_privacy", {"preset": "strict", "schema_file": "/etc/hosts"}, None)
    with pytest.raises(ToolError):
        guard("export_code", {}, None)  # not on the service's list
    assert guard("generate", {"rows": 5}, None) == {"rows": 5}


def test_another_user_cannot_see_a_conversation(api: Api) -> None:
    dataset_id, cid = opened(api)
    talk(api, f"/api/conversations/{cid}/messages", {"text": "profile"})
    base = f"/api/conversations/{cid}"
    assert api.client.get("/api/conversations", headers=api.bob).json() == []
    r = api.client.post("/api/conversations", headers=api.bob, json={"dataset_id": dataset_id})
    assert r.status_code == 404
    for method, url, body in (
        ("GET", base, None),
        ("POST", base + "/messages", {"text": "profile"}),
        ("POST", base + "/actions/a1/approve", {}),
        ("POST", base + "/actions/a1/reject", {}),
        ("GET", base + "/files/synthetic.csv", None),
        ("POST", base + "/tickets/synthetic.csv", None),
        ("DELETE", base, None),
    ):
        r = api.client.request(method, url, headers=api.bob, json=body)
        assert r.status_code == 404, (method, url, r.status_code)
    assert api.client.get(base, headers=api.alice).status_code == 200


def test_deleting_the_dataset_deletes_its_conversation(api: Api) -> None:
    dataset_id, cid = opened(api)
    talk(api, f"/api/conversations/{cid}/messages", {"text": "generate 100 rows"})
    assert api.config.folder("conversations", cid).exists()
    assert api.client.delete(f"/api/datasets/{dataset_id}", headers=api.alice).status_code == 204
    assert api.client.get(f"/api/conversations/{cid}", headers=api.alice).status_code == 404
    assert not api.config.folder("conversations", cid).exists()


def test_idle_partners_leave_memory_and_come_back(api: Api, monkeypatch: Any) -> None:
    from healthforge.service import conversations

    monkeypatch.setattr(conversations, "MAX_LIVE", 1)
    _, first = opened(api)
    _, second = opened(api)
    talk(api, f"/api/conversations/{first}/messages", {"text": "profile"})
    talk(api, f"/api/conversations/{second}/messages", {"text": "profile"})
    manager = api.client.app.state.service.conversations
    assert list(manager.partners) == [second]
    events = talk(api, f"/api/conversations/{first}/messages", {"text": "profile"})
    notices = [e["text"] for e in events if e.get("kind") == "notice"]
    assert any("start this conversation again" in text for text in notices)
    assert any(e.get("kind") == "result" for e in events)
