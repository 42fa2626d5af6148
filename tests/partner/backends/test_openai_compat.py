"""The OpenAI-compatible backend against a fake server on loopback: tool calls parsed, JSON
fallback when tools are refused, malformed replies and timeouts refused in one line."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from healthforge.errors import HealthForgeError
from healthforge.partner.backends.openai_compat import OpenAICompatBackend, load_settings
from healthforge.partner.context import ModelContext, build_context
from tests.partner.backends.fake_server import FakeLLM, content, tool_call

TOOLS: list[dict[str, Any]] = [
    {
        "type": "function",
        "function": {
            "name": name,
            "description": f"the {name} tool",
            "parameters": {"type": "object", "properties": {"column": {"type": "string"}}},
        },
    }
    for name in ("profile_data", "describe_column", "generate")
]
CTX = build_context({"stage": "profiled"})


def _backend(fake: FakeLLM, **kw: Any) -> OpenAICompatBackend:
    return OpenAICompatBackend(base_url=fake.base_url, timeout=kw.pop("timeout", 5), **kw)


def test_tool_call_is_parsed_into_a_proposal() -> None:
    with FakeLLM(lambda body: tool_call("describe_column", {"column": "age"})) as fake:
        backend = _backend(fake)
        proposal = backend.propose("tell me about age", CTX, TOOLS)
        body = fake.chat_bodies()[-1]
    assert (proposal.tool, proposal.args, proposal.source) == (
        "describe_column",
        {"column": "age"},
        "fake-model",
    )
    assert body["tools"] == TOOLS and body["model"] == "fake-model"  # listed by /v1/models
    assert body["messages"][-1] == {"role": "user", "content": "tell me about age"}
    assert backend.local and backend.uses_language_model


def test_a_plain_answer_and_json_in_the_content_are_read() -> None:
    replies = iter(
        [
            content("Synthetic data imitates your table."),
            content('{"tool": "generate", "args": {}, "text": "ok"}'),
        ]
    )
    with FakeLLM(lambda body: next(replies)) as fake:
        backend = _backend(fake, model="m")
        answer = backend.propose("what is synthetic data?", CTX, TOOLS)
        call = backend.propose("make some", CTX, TOOLS)
    assert answer.tool is None and answer.text == "Synthetic data imitates your table."
    assert call.tool == "generate"


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (tool_call("describe_column", "{column: age"), "arguments that are not JSON"),
        (tool_call("describe_column", "[1, 2]"), "not a JSON object"),
        (tool_call("rm_rf", {}), "a tool that does not exist"),
        (b"<html>proxy error</html>", "failed"),
        ((500, {"error": {"message": "model crashed"}}), "answered HTTP 500"),
        ({"id": "x", "object": "chat.completion", "choices": []}, "without a message"),
    ],
)
def test_malformed_replies_are_refused_in_one_line(reply: Any, message: str) -> None:
    with FakeLLM(lambda body: reply) as fake:
        backend = _backend(fake, model="m")
        with pytest.raises(HealthForgeError, match=message) as info:
            backend.propose("describe age", CTX, TOOLS)
    assert "\n" not in str(info.value)


def test_json_schema_output_when_the_server_refuses_tools() -> None:
    def answer(body: dict[str, Any]) -> Any:
        if "tools" in body:
            return 400, {"error": {"message": "tools are not supported"}}
        assert body["response_format"]["type"] in {"json_schema", "json_object"}
        return content(json.dumps({"tool": "profile_data", "args": {}, "text": "profiling"}))

    with FakeLLM(answer) as fake:
        backend = _backend(fake, model="m")
        first = backend.propose("profile it", CTX, TOOLS)
        second = backend.propose("profile it again", CTX, TOOLS)
        bodies = fake.chat_bodies()
    assert first.tool == second.tool == "profile_data"
    assert backend.mode == "json"
    assert ["tools" in b for b in bodies] == [True, False, False]  # asked once, remembered
    system = bodies[-1]["messages"][0]["content"]
    assert "describe_column(column)" in system and "JSON only" in system


def test_timeout_is_a_clear_error_not_a_hang() -> None:
    with FakeLLM(lambda body: 3.0) as fake:
        backend = _backend(fake, model="m", timeout=0.5)
        start = time.perf_counter()
        with pytest.raises(HealthForgeError, match=r"did not answer within 0.5 s"):
            backend.propose("profile", CTX, TOOLS)
    assert time.perf_counter() - start < 2.5


def test_unreachable_server() -> None:
    with FakeLLM(lambda body: content("")) as fake:
        url = fake.base_url
    with pytest.raises(HealthForgeError, match="cannot reach the language model"):
        OpenAICompatBackend(base_url=url, model="m", timeout=2).propose("hi", CTX, TOOLS)


def test_rows_are_never_sent_to_a_remote_endpoint() -> None:
    backend = OpenAICompatBackend(base_url="https://llm.example.org/v1", model="m", timeout=1)
    assert not backend.local
    with_rows = ModelContext(stage="profiled", rows=[{"age": 41}])
    with pytest.raises(HealthForgeError, match="refusing to send data rows"):
        backend.propose("hi", with_rows, TOOLS)
    with pytest.raises(HealthForgeError, match="refusing to send data rows"):
        backend.explain("done", with_rows)


def test_explain_returns_the_models_text() -> None:
    with FakeLLM(lambda body: content("  The synthetic data keep the age pattern.  ")) as fake:
        text = _backend(fake, model="m").explain("detection 0.52", CTX)
        body = fake.chat_bodies()[-1]
    assert text == "The synthetic data keep the age pattern."
    assert "tools" not in body and body["messages"][-1]["content"] == "detection 0.52"


def test_settings_from_arguments_environment_and_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("BASE_URL", "MODEL", "API_KEY", "TIMEOUT", "CONFIG"):
        monkeypatch.delenv(f"HEALTHFORGE_LLM_{name}", raising=False)
    with pytest.raises(HealthForgeError, match="no language-model endpoint is configured"):
        load_settings()
    config = tmp_path / "llm.toml"
    config.write_text('[llm]\nbase_url = "http://127.0.0.1:1/v1"\nmodel = "file-model"\n')
    assert load_settings(config=config)["model"] == "file-model"
    monkeypatch.setenv("HEALTHFORGE_LLM_CONFIG", str(config))
    monkeypatch.setenv("HEALTHFORGE_LLM_MODEL", "env-model")
    monkeypatch.setenv("HEALTHFORGE_LLM_TIMEOUT", "7")
    settings = load_settings()
    assert (settings["base_url"], settings["model"], settings["timeout"]) == (
        "http://127.0.0.1:1/v1",
        "env-model",
        7.0,
    )
    assert load_settings(model="arg-model")["model"] == "arg-model"
    with pytest.raises(HealthForgeError, match="does not exist"):
        load_settings(config=tmp_path / "missing.toml")


def test_engine_uses_the_router_when_the_model_reply_is_malformed(tmp_path: Path) -> None:
    """The whole path: a malformed reply -> one-line notice -> the router's choice runs."""
    import pandas as pd

    from healthforge.partner.engine import Partner

    frame = pd.DataFrame({"age": [30, 41, 52, 63, 74, 35], "sex": ["F", "M"] * 3})
    with FakeLLM(lambda body: tool_call("profile_data", "{not json")) as fake:
        backend = OpenAICompatBackend(base_url=fake.base_url, model="m", timeout=5)
        partner = Partner(frame, tmp_path / "s", backend=backend, auto_approve=True)
        events = partner.send("give me an overview of the table")
        asked = len(fake.chat_bodies())
    notices = [e.text for e in events if e.kind == "notice"]
    assert asked >= 1
    assert any("not JSON" in t and "rule-based choice" in t for t in notices), notices
    ran = [e.action.tool for e in events if e.kind == "result" and e.action is not None]
    assert ran == ["profile_data"]  # the router's reading of the request
