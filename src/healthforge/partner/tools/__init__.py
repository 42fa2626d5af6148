"""The partner's tools: one typed registry (:mod:`.registry`) and the tools, one module
per group. Importing this package registers every tool in :data:`TOOLS`."""

from healthforge.partner.tools import data, evaluation, generation  # noqa: F401  (register)
from healthforge.partner.tools.registry import (
    TOOLS,
    Tool,
    ToolContext,
    ToolError,
    ToolResult,
    get_tool,
    tool_schemas,
)

__all__ = ["TOOLS", "Tool", "ToolContext", "ToolError", "ToolResult", "get_tool", "tool_schemas"]
