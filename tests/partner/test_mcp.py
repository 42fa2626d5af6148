"""``healthforge mcp``: the tool registry over the Model Context Protocol, with the
partner's validation and approval rules.

The core (:class:`McpSession`) is tested directly; the server is tested as a client
uses it: a subprocess spoken to in JSON-RPC 2.0 over stdin/stdout (needs the ``mcp``
extra)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from healthforge.partner.mcp import McpSession
from healthforge.partner.tools import TOOLS

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _selection_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEALTHFORGE_SELECTION_DIR", str(tmp_path / "selection"))


def test_session_lists_every_tool_with_its_schema(tmp_path: Path) -> None:
    tools = McpSession(tmp_path).list_tools()
    assert {t["name"] for t in tools} == set(TOOLS)
    generate = next(t for t in tools if t["name"] == "generate")
    assert generate["inputSchema"]["type"] == "object"
    assert "conditions" in generate["inputSchema"]["properties"]


def test_session_validates_and_refuses_without_approval(tmp_path: Path) -> None:
    session = McpSession(tmp_path / "s", data="bundled:icu")
    described = session.call("describe_column", {"column": "age"})
    assert not described.is_error and "age" in described.text
    wrong = session.call("describe_column", {"column": "agee"})
    assert wrong.is_error and "did you mean 'age'?" in wrong.text
    refused = session.call("generate", {"rows": 20})
    assert refused.is_error and "approval" in refused.text and "--yes" in refused.text
    assert not (tmp_path / "s" / "synthetic.csv").exists()
    allowed = McpSession(tmp_path / "y", data="bundled:icu", auto_approve=True)
    made = allowed.call("generate", {"rows": 20})
    assert not made.is_error and (tmp_path / "y" / "synthetic.csv").exists()


class Client:
    """A minimal MCP client: JSON-RPC 2.0 lines over a subprocess's stdin/stdout."""

    def __init__(self, *args: str, cwd: Path) -> None:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
        env["HEALTHFORGE_SELECTION_DIR"] = str(cwd / "selection")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "healthforge.cli.app", "mcp", *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=cwd,
            env=env,
        )
        self.next_id = 0

    def send(self, message: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps({"jsonrpc": "2.0", **message}) + "\n")
        self.process.stdin.flush()

    def request(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        self.next_id += 1
        self.send({"id": self.next_id, "method": method, "params": params or {}})
        assert self.process.stdout is not None
        while True:
            line = self.process.stdout.readline()
            assert line, "the server closed stdout: " + self.stderr()
            reply = json.loads(line)  # every line on stdout must be JSON-RPC
            if reply.get("id") == self.next_id:
                return reply

    def initialize(self) -> dict[str, Any]:
        reply = self.request(
            "initialize",
            {
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "test", "version": "0"},
            },
        )
        self.send({"method": "notifications/initialized"})
        return reply

    def call(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        return self.request("tools/call", {"name": name, "arguments": arguments})["result"]

    def stderr(self) -> str:
        self.process.kill()
        return self.process.communicate(timeout=10)[1][-2000:]

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=30)


def _text(result: dict[str, Any]) -> str:
    return "".join(block.get("text", "") for block in result["content"])


def test_stdio_server_speaks_json_rpc(tmp_path: Path) -> None:
    pytest.importorskip("mcp", reason="the MCP server needs the 'mcp' extra")
    client = Client("bundled:icu", "--session-dir", "session", cwd=tmp_path)
    try:
        init = client.initialize()["result"]
        assert init["serverInfo"]["name"] == "healthforge" and "tools" in init["capabilities"]
        listed = client.request("tools/list")["result"]["tools"]
        assert {t["name"] for t in listed} == set(TOOLS)
        assert all(t["inputSchema"]["type"] == "object" for t in listed)
        profile = client.call("profile_data", {})
        assert not profile.get("isError") and "200 rows" in _text(profile)
        assert profile["structuredContent"]["data"]["rows"] == 200
        typo = client.call("generate", {"conditions": ["agee>=60"]})
        assert typo["isError"] and "did you mean 'age'?" in _text(typo)
        gated = client.call("generate", {"rows": 20})
        assert gated["isError"] and "--yes" in _text(gated)
        assert not (tmp_path / "session" / "synthetic.csv").exists()
        unknown = client.call("profile_dat", {})
        assert unknown["isError"] and "profile_data" in _text(unknown)
    finally:
        client.close()


def test_cli_passes_yes_to_the_session(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``healthforge mcp --yes`` is what lets approval-needing tools run (the wire is
    tested above; here only which session the command serves)."""
    from typer.testing import CliRunner

    from healthforge.cli.app import app
    from healthforge.partner import mcp

    served: list[McpSession] = []
    monkeypatch.setattr(mcp, "serve_stdio", served.append)
    for flags, approve in (([], False), (["--yes"], True)):
        folder = tmp_path / f"s{len(served)}"
        args = ["mcp", "bundled:icu", "--session-dir", str(folder), *flags]
        outcome = CliRunner().invoke(app, args)
        assert outcome.exit_code == 0, outcome.output
        assert served[-1].auto_approve is approve
        assert served[-1].ctx.source == "bundled:icu"
