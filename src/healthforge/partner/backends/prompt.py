"""What the language-model backends say to a model, and how they read its answer.

Both model backends (an OpenAI-compatible endpoint, llama-cpp-python in-process) build the
same messages from a :class:`ModelContext` and parse the same answers, so one prompt is
measured by ``benchmarks/partner_requests.py`` whichever way the model is reached.
"""

from __future__ import annotations

import json
from typing import Any

from healthforge.errors import HealthForgeError
from healthforge.partner.backends.base import Proposal
from healthforge.partner.context import ModelContext

SYSTEM = (
    "You are HealthForge's partner. You help a clinician turn a sensitive health table into "
    "a synthetic dataset and evaluate it. You never see the data, only the description "
    "below. You can act only by calling one of the listed tools; you never write code. "
    "Pick the one tool that does what the user asked, with arguments that use the exact "
    "column names below, or answer in one or two sentences when no tool fits."
)
EXPLAIN = (
    "You are HealthForge's partner. Explain the result below to a clinician who does not "
    "program, in two or three plain sentences. Use only the numbers given; invent nothing."
)


def tool_names(tools: list[dict[str, Any]]) -> list[str]:
    return [str(t.get("function", t).get("name")) for t in tools]


def tool_digest(tools: list[dict[str, Any]]) -> str:
    """One line per tool: name, description and argument names (for JSON-only mode)."""
    lines = []
    for tool in tools:
        fn = tool.get("function", tool)
        props = (fn.get("parameters") or {}).get("properties") or {}
        args = ", ".join(props)
        lines.append(f"- {fn.get('name')}({args}): {fn.get('description', '')}")
    return "\n".join(lines)


def messages(
    text: str, context: ModelContext, tools: list[dict[str, Any]], with_digest: bool
) -> list[dict[str, str]]:
    """System prompt (data description), the last turns, then the user's message.

    Every piece of text comes from ``context`` or goes through ``context.scrub``.
    """
    system = SYSTEM
    if with_digest:
        system += (
            "\n\nTools:\n" + tool_digest(tools) + '\n\nAnswer with JSON only: {"tool": NAME or '
            'null, "args": {...}}.'
        )
    # the stage comes last in the description: requests at other stages share the prefix
    system += "\n\n" + context.to_prompt()
    out = [{"role": "system", "content": system}]
    said = context.scrub(text)
    turns = list(context.turns)
    if turns and turns[-1].get("role") == "user" and turns[-1].get("text") == said:
        turns = turns[:-1]  # the engine already recorded this message
    for turn in turns:
        role = "assistant" if turn.get("role") in {"assistant", "partner"} else "user"
        out.append({"role": role, "content": turn.get("text", "")})
    out.append({"role": "user", "content": said})
    return out


def explain_messages(summary: str, context: ModelContext) -> list[dict[str, str]]:
    system = EXPLAIN + "\n\n" + context.to_prompt()
    return [
        {"role": "system", "content": system},
        {"role": "user", "content": context.scrub(summary)},
    ]


def proposal_schema(tools: list[dict[str, Any]], with_text: bool = True) -> dict[str, Any]:
    """JSON schema of an answer in JSON-only mode: a tool name (or null), args, text."""
    properties: dict[str, Any] = {
        "tool": {"anyOf": [{"type": "string", "enum": tool_names(tools)}, {"type": "null"}]},
        "args": {"type": "object"},
    }
    if with_text:
        properties["text"] = {"type": "string"}
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


def fold_system(msgs: list[dict[str, str]]) -> list[dict[str, str]]:
    """The system message put at the head of the first user message (for chat templates
    without a system role, such as Gemma's)."""
    if not msgs or msgs[0]["role"] != "system":
        return msgs
    system, rest = msgs[0]["content"], list(msgs[1:])
    for i, message in enumerate(rest):
        if message["role"] == "user":
            rest[i] = {"role": "user", "content": f"{system}\n\n{message['content']}"}
            return rest
    return [{"role": "user", "content": system}, *rest]


def parse_arguments(raw: Any, tool: str, who: str) -> dict[str, Any]:
    """A tool call's arguments (a JSON string or object) as a dict, or a clear refusal."""
    if raw is None or raw == "":
        return {}
    if isinstance(raw, dict):
        return raw
    try:
        args = json.loads(raw)
    except (TypeError, ValueError):
        raise HealthForgeError(
            f"{who} called {tool} with arguments that are not JSON",
            "the rule-based choice is used instead",
        ) from None
    if not isinstance(args, dict):
        raise HealthForgeError(
            f"{who} called {tool} with arguments that are not a JSON object",
            "the rule-based choice is used instead",
        )
    return args


def check_tool(tool: str, tools: list[dict[str, Any]], who: str) -> str:
    if tool not in tool_names(tools):
        raise HealthForgeError(
            f"{who} proposed a tool that does not exist: {tool[:40]!r}",
            "the rule-based choice is used instead",
        )
    return tool


def parse_json_answer(content: str, tools: list[dict[str, Any]], who: str) -> Proposal:
    """A JSON-mode answer (``{"tool", "args", "text"}``) as a :class:`Proposal`."""
    try:
        data = json.loads(_strip_fences(content))
    except (TypeError, ValueError):
        raise HealthForgeError(
            f"{who} answered with malformed JSON", "the rule-based choice is used instead"
        ) from None
    if not isinstance(data, dict):
        raise HealthForgeError(
            f"{who} answered with JSON that is not an object",
            "the rule-based choice is used instead",
        )
    tool = data.get("tool") or data.get("name")
    text = str(data.get("text") or "")
    if tool in (None, "", "null", "none"):
        return Proposal(tool=None, args={}, text=text, source=who)
    tool = check_tool(str(tool), tools, who)
    args = parse_arguments(data.get("args", data.get("arguments")), tool, who)
    return Proposal(tool=tool, args=args, text=text, source=who)


def looks_like_json(content: str) -> bool:
    return _strip_fences(content).startswith("{")


def _strip_fences(content: str) -> str:
    text = (content or "").strip()
    if text.startswith("```"):
        text = text.strip("`")
        text = text[text.find("{") :] if "{" in text else text
    return text.strip()
