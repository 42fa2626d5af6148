"""The typed tool registry: every action the partner (or an MCP client) may take.

A :class:`Tool` has a name, a one-line description, a pydantic model of its arguments
(the JSON schema for language models, the service and MCP comes from it), a ``run``
function and an ``approval`` rule. :meth:`Tool.validate` checks raw arguments first
against the schema and then against the actual data (column names, values, kinds);
a refusal is a :class:`ToolError` whose message says why and whose hint says what to do.

Tools register themselves with :func:`register` when their module is imported; the
package ``healthforge.partner.tools`` imports every tool module, so :data:`TOOLS` is
complete as soon as anything from this package is imported.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import pydantic

from healthforge.errors import HealthForgeError

if TYPE_CHECKING:
    from healthforge.pipeline import RunSpec


class ToolError(HealthForgeError):
    """A tool call refused by validation: ``message`` says why, ``hint`` what to do."""


@dataclass
class ToolContext:
    """What a tool may read and write. ``frame`` never goes to a language model."""

    session_dir: Path
    frame: pd.DataFrame | None = None
    source: str | None = None  # path or "bundled:NAME" the frame was read from
    schema: Any | None = None  # healthforge Schema once profiled
    target: str | None = None
    seed: int = 0
    progress: Callable[[str, int, int], None] | None = None
    results: dict[str, Any] = field(default_factory=dict)  # outputs of earlier tools
    specs: list[Any] = field(default_factory=list)  # RunSpecs executed so far, in order


@dataclass
class ToolResult:
    summary: str  # plain language, for the user
    data: dict[str, Any]  # aggregates/figures only (JSON-able), may go to a model
    files: list[str] = field(default_factory=list)
    spec: RunSpec | None = None  # the validated run specification it executed, if any
    code: str = ""  # public-API Python lines that reproduce this step
    # every spec it executed, in order, when more than one (compare); ``spec`` is the last
    specs: list[Any] = field(default_factory=list)


class Params(pydantic.BaseModel):
    """Base of every tool's arguments: unknown argument names are refused."""

    model_config = pydantic.ConfigDict(extra="forbid")


def _no_check(ctx: ToolContext, args: Any) -> None:
    return None


def _never(ctx: ToolContext, args: Any) -> str | None:
    return None


@dataclass(frozen=True)
class Tool:
    name: str
    description: str  # one or two lines, for a model and for the user
    params: type[pydantic.BaseModel]
    run: Callable[[ToolContext, Any], ToolResult]
    # the reason to ask first (long fit, real data beyond profiling, a privacy choice,
    # writing a file), or None when it may run at once
    approval: Callable[[ToolContext, Any], str | None] = _never
    # checks against the actual data, after the schema; raises ToolError
    check: Callable[[ToolContext, Any], None] = _no_check
    needs_data: bool = True  # refused before a table is loaded

    def json_schema(self) -> dict[str, Any]:
        """The OpenAI "function" tool schema."""
        parameters = self.params.model_json_schema()
        parameters.pop("title", None)
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": parameters,
            },
        }

    def validate(self, ctx: ToolContext, raw: dict[str, Any] | None) -> pydantic.BaseModel:
        """Arguments checked against the schema, then against the data in ``ctx``."""
        try:
            args = self.params.model_validate(raw or {})
        except pydantic.ValidationError as exc:
            raise _schema_error(self, exc) from None
        if self.needs_data and ctx.frame is None:
            raise ToolError(
                f"{self.name} needs a table and none is loaded",
                "load one first, e.g. load_data with source 'bundled:icu' or a CSV path",
            )
        try:
            self.check(ctx, args)
        except ToolError:
            raise
        except HealthForgeError as exc:  # e.g. profiling found a column entirely missing
            raise ToolError(exc.message, exc.hint) from None
        return args

    def execute(self, ctx: ToolContext, args: pydantic.BaseModel) -> ToolResult:
        """Run validated ``args``; the specs it ran are appended to ``ctx.specs`` (call
        this rather than ``run`` so that the session's record is complete)."""
        result = self.run(ctx, args)
        if result.specs:
            ctx.specs.extend(result.specs)
        elif result.spec is not None:
            ctx.specs.append(result.spec)
        return result


def _schema_error(tool: Tool, exc: pydantic.ValidationError) -> ToolError:
    errors = exc.errors()
    # an argument spelt wrong is the cause of the 'missing' one it should have been
    first = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    where = ".".join(str(p) for p in first["loc"]) or "arguments"
    fields = ", ".join(tool.params.model_fields)
    if first["type"] == "extra_forbidden":
        close = difflib.get_close_matches(str(first["loc"][-1]), list(tool.params.model_fields))
        hint = f"did you mean '{close[0]}'?" if close else f"{tool.name} takes: {fields}"
        return ToolError(f"{tool.name} has no argument '{where}'", hint)
    if first["type"] == "missing":
        return ToolError(f"{tool.name} needs the argument '{where}'", f"it takes: {fields}")
    return ToolError(f"{tool.name}: argument '{where}': {first['msg']}", f"it takes: {fields}")


TOOLS: dict[str, Tool] = {}


def register(tool: Tool) -> Tool:
    if tool.name in TOOLS:
        raise ValueError(f"tool '{tool.name}' is registered twice")
    TOOLS[tool.name] = tool
    return tool


def get_tool(name: str) -> Tool:
    """The tool called ``name``; a ToolError listing close names otherwise."""
    tool = TOOLS.get(name)
    if tool is None:
        close = difflib.get_close_matches(str(name), list(TOOLS), n=3)
        hint = f"did you mean {' or '.join(repr(c) for c in close)}?" if close else None
        raise ToolError(
            f"there is no tool '{name}'", hint or f"the tools are: {', '.join(sorted(TOOLS))}"
        )
    return tool


def tool_schemas() -> list[dict[str, Any]]:
    """Every tool's schema, for LLM backends, the service and MCP."""
    return [tool.json_schema() for tool in TOOLS.values()]


# -- validation helpers shared by the tool modules -------------------------------------


def did_you_mean(name: str, choices: list[str]) -> str | None:
    close = difflib.get_close_matches(name, choices, n=1, cutoff=0.5)
    return f"did you mean '{close[0]}'?" if close else None


def check_known(name: str, known: list[str], problem: str, listing: str) -> None:
    """Refuse ``name`` unless it is one of ``known``: ``problem`` as the message, the
    closest known name as the hint, else ``listing`` (what there is to choose from)."""
    if name not in known:
        raise ToolError(problem, did_you_mean(name, known) or listing)


def check_columns(ctx: ToolContext, names: list[str]) -> None:
    """Refuse a column the loaded table does not have, suggesting the closest."""
    assert ctx.frame is not None
    columns = [str(c) for c in ctx.frame.columns]
    listing = f"the columns are: {', '.join(columns[:20])}"
    for name in names:
        check_known(name, columns, f"column '{name}' is not in the table", listing)


def session_path(ctx: ToolContext, name: str, overwrite: bool = False) -> Path:
    """``name`` resolved inside the session directory; refuses escaping it and, without
    ``overwrite``, an existing file."""
    root = ctx.session_dir.resolve()
    path = (root / name).resolve()
    if path != root and root not in path.parents:
        raise ToolError(
            f"'{name}' is outside the session directory",
            f"give a file name inside {root}, e.g. '{Path(name).name}'",
        )
    if path.exists() and not overwrite:
        raise ToolError(
            f"'{path.name}' already exists in the session directory",
            "choose another file name, or pass overwrite: true to replace it",
        )
    return path
