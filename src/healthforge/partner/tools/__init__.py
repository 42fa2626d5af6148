"""The partner's tools: one typed registry (:mod:`.registry`) and the tools, one module
per group. Importing this package registers every tool in :data:`TOOLS`."""

# each module registers its tools in TOOLS when imported
from healthforge.partner.tools import (  # noqa: F401
    augment,
    compare,
    data,
    evaluation,
    export,
    generation,
    plots,
    privacy,
    scenarios,
)
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
