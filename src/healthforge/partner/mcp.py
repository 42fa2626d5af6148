"""``healthforge mcp``: the partner's tools for any MCP-capable assistant, over stdio.

A Model Context Protocol server (JSON-RPC 2.0: ``initialize``, ``tools/list``,
``tools/call``) built with the ``mcp`` package (MIT; the ``mcp`` extra). It exposes the
same typed registry as the partner (:mod:`healthforge.partner.tools`) with the same
rules: every call is validated against its schema and against the data, and a tool
whose ``approval`` gives a reason to ask first (a fit, any use of the real data beyond
profiling, a privacy choice, a written file) is refused unless the server was started
with ``--yes``, saying why. What goes back to the assistant is the tool's summary and
its aggregate ``data`` - never a row.

:class:`McpSession` is the protocol-free core (tested without the package);
:func:`serve_stdio` puts it on the wire.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from healthforge.errors import HealthForgeError
from healthforge.partner.tools import TOOLS, ToolContext, ToolError, get_tool

SERVER_NAME = "healthforge"
INSTRUCTIONS = (
    "HealthForge turns a sensitive health table into evaluated synthetic data. Call "
    "load_data first (a file path or bundled:NAME), then profile_data, screen_phi, "
    "recommend_generators, generate, evaluate, write_report. Results are aggregates only."
)


@dataclass
class CallOutcome:
    """What one tools/call answers: text for the assistant, the aggregate data, and
    whether it was refused or failed."""

    text: str
    data: dict[str, Any]
    is_error: bool


class McpSession:
    """One MCP connection's state: the tool context (session folder, table, results)
    and whether calls that need approval may run (``auto_approve``: ``--yes``)."""

    def __init__(
        self,
        session_dir: str | Path,
        data: str | None = None,
        target: str | None = None,
        auto_approve: bool = False,
        seed: int = 0,
    ) -> None:
        folder = Path(session_dir)
        folder.mkdir(parents=True, exist_ok=True)
        self.ctx = ToolContext(session_dir=folder, seed=seed)
        self.auto_approve = auto_approve
        if data is not None:  # loading is profiling, which needs no approval
            outcome = self.call("load_data", {"source": data, "target": target})
            if outcome.is_error:
                raise HealthForgeError(outcome.text)

    def list_tools(self) -> list[dict[str, Any]]:
        """Every tool as MCP lists it: name, description, JSON schema of its arguments."""
        tools = []
        for tool in TOOLS.values():
            function = tool.json_schema()["function"]
            tools.append(
                {
                    "name": function["name"],
                    "description": function["description"],
                    "inputSchema": function["parameters"],
                }
            )
        return tools

    def call(self, name: str, arguments: dict[str, Any] | None) -> CallOutcome:
        """Validate, check approval, run; refusals and errors come back as text."""
        try:
            tool = get_tool(name)
            args = tool.validate(self.ctx, dict(arguments or {}))
        except ToolError as exc:
            return CallOutcome(f"refused: {exc}", {}, True)
        reason = tool.approval(self.ctx, args)
        if reason is not None and not self.auto_approve:
            return CallOutcome(
                f"refused: {name} needs the user's approval first: it {reason}. Ask the "
                "user; the server runs such steps only when started with --yes "
                "(healthforge mcp --yes).",
                {"needs_approval": reason},
                True,
            )
        try:
            result = tool.execute(self.ctx, args)
        except HealthForgeError as exc:
            return CallOutcome(f"failed: {exc}", {}, True)
        text = result.summary
        if result.files:
            text += "\nfiles (in the session folder): " + ", ".join(result.files)
        data = {"data": result.data, "files": list(result.files)}
        return CallOutcome(text, data, False)


def serve_stdio(session: McpSession) -> None:
    """Serve ``session`` over stdin/stdout until the client closes the connection."""
    try:
        import anyio
        import mcp_types as types
        from mcp.server.lowlevel import Server
        from mcp.server.stdio import stdio_server
    except ImportError:
        raise HealthForgeError(
            "the MCP server needs the 'mcp' package",
            "install the extra: pip install 'healthforge[mcp]'",
        ) from None
    from importlib import metadata

    async def list_tools(ctx: Any, params: Any) -> Any:
        return types.ListToolsResult(
            tools=[
                types.Tool(
                    name=t["name"], description=t["description"], input_schema=t["inputSchema"]
                )
                for t in session.list_tools()
            ]
        )

    async def call_tool(ctx: Any, params: Any) -> Any:
        # the tools are blocking library code: run them off the event loop, one at a time
        outcome = await anyio.to_thread.run_sync(session.call, params.name, params.arguments)
        return types.CallToolResult(
            content=[types.TextContent(type="text", text=outcome.text)],
            structured_content=json.loads(json.dumps(outcome.data, default=str)),
            is_error=outcome.is_error,
        )

    server = Server(
        SERVER_NAME,
        version=metadata.version("healthforge"),
        instructions=INSTRUCTIONS,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
    )

    async def main() -> None:
        async with stdio_server() as (read_stream, write_stream):
            await server.run(read_stream, write_stream, server.create_initialization_options())

    anyio.run(main)
