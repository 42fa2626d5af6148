"""The partner runs in a process of its own: a crash in a step fails that step, not the
server or anyone else's conversation; a language model from ``serve --llm-url`` proposes
steps and never sees a data row."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from healthforge.service.app import create_app
from healthforge.service.auth import create_user
from tests.fixtures_data import make_messy
from tests.partner.backends.fake_server import FakeLLM, tool_call
from tests.service.helpers import Api, make_config
from tests.service.test_partner import opened, talk


def test_a_crashed_partner_step_fails_that_step_only(api: Api) -> None:
    manager = api.client.app.state.service.conversations
    _, cid = opened(api)
    base = f"/api/conversations/{cid}"
    events = talk(api, base + "/messages", {"text": "generate 300 rows"})
    action = next(e for e in events if e.get("kind") == "proposal")["action"]
    slow = {"changes": {"generator": "ctgan", "params": {"epochs": 100000}}}  # minutes
    answer: list[list[dict[str, Any]]] = []
    approving = threading.Thread(
        target=lambda: answer.append(talk(api, f"{base}/actions/{action['id']}/approve", slow))
    )
    approving.start()
    deadline = time.monotonic() + 30
    while cid not in manager.busy or cid not in manager.partners:
        assert time.monotonic() < deadline, "the approved step never started"
        time.sleep(0.05)
    time.sleep(1.0)
    os.kill(manager.partners[cid].proc.pid, signal.SIGKILL)  # as the out-of-memory killer would
    approving.join(timeout=60)
    assert not approving.is_alive(), "the step's stream never ended"
    errors = [e["text"] for e in answer[0] if e.get("kind") == "error"]
    assert any("stopped unexpectedly" in text for text in errors), answer[0]
    assert cid not in manager.busy and cid not in manager.partners  # the step is over
    # another user's conversation, and the API, carry on
    _, other = opened(api, who="bob")
    bob = talk(api, f"/api/conversations/{other}/messages", {"text": "profile"}, who="bob")
    assert any(e.get("kind") == "result" for e in bob)
    assert api.client.get("/api/me", headers=api.alice).status_code == 200
    # and alice's conversation starts afresh from her dataset
    again = talk(api, base + "/messages", {"text": "profile"})
    assert any("start this conversation again" in e.get("text", "") for e in again)
    assert any(e.get("kind") == "result" for e in again)


def test_the_language_model_named_at_serve_sees_no_rows(tmp_path: Path) -> None:
    frame = make_messy(120)
    with FakeLLM(lambda body: tool_call("profile_data", {})) as fake:
        config = make_config(tmp_path, llm_url=fake.base_url)
        app = create_app(config)
        alice = {"Authorization": f"Bearer {create_user(app.state.service.db, 'alice')}"}
        with TestClient(app) as client:
            api = Api(client, config, alice, alice)
            me = client.get("/api/me", headers=alice).json()
            assert me["language_model"] == f"fake-model at {fake.base_url.split('/')[2]}"
            dataset = api.upload(frame)
            r = client.post("/api/conversations", headers=alice, json={"dataset_id": dataset["id"]})
            events = talk(api, f"/api/conversations/{r.json()['id']}/messages", {"text": "hi"})
            sent = "\n".join(fake.requests)
    result = next(e for e in events if e.get("kind") == "result")
    assert result["action"]["tool"] == "profile_data"  # the model's proposal ran
    assert fake.chat_bodies(), "the language model was never asked"
    for column in ("email", "ssn", "name", "phone", "address"):
        leaked = [v for v in frame[column].astype(str) if v in sent]
        assert not leaked, f"{column} values reached the language model: {leaked[:3]}"
    # nor any row: a row's values appear together (e.g. 'age': 61, 'sex': 'F', ...)
    for row in (
        frame.drop(columns=["email", "ssn", "name", "phone", "address"]).head(20).itertuples()
    ):
        pairs = [f"'age': {row.age}", f"'sbp': {row.sbp}", f"'region': '{row.region}'"]
        assert not all(pair in sent for pair in pairs), f"a row reached the model: {pairs}"
