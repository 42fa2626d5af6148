"""The arguments of a tool call, read from the user's words and the session's state.

Used by the rule-based router: rows, ε, generator, privacy preset and conditions for
``generate``; the group for ``augment``; columns; and a fresh output name for every tool
that writes a file, so nothing in the session folder is ever overwritten.
"""

from __future__ import annotations

import re
from typing import Any

from healthforge.partner import parsing, workflow
from healthforge.partner.session import SessionState

# tools that write one file: a fresh name each time, so nothing is ever overwritten
# duplicates: a table, one (stem, suffix) per tool; its rows look alike, no logic repeats
OUTPUTS = {
    "generate": ("synthetic", ".csv"),
    "evaluate": ("evaluation", ".json"),
    "fairness": ("fairness", ".json"),
    "write_report": ("report", ".html"),
    "compare": ("comparison", ".json"),
    "export_code": ("session", ".py"),
}


def tool_arguments(state: SessionState, tool: str, raw: str, low: str) -> dict[str, Any]:
    """The arguments of ``tool`` found in the user's words (raw and normalised), with the
    session's defaults: the recommended or last generator, fresh output names."""
    columns = state.columns
    values = parsing.category_values(state.frame, state.schema)
    args: dict[str, Any] = {}
    if tool == "load_data":
        match = re.search(r"(bundled:\w+|\S+\.(?:csv|tsv|parquet|xlsx?))", raw, re.IGNORECASE)
        if match:
            args["source"] = match.group(1)
    elif tool == "augment":
        generator = parsing.parse_generator(low, generator_names())
        if generator is not None and generator != "auto":
            args["generator"] = generator
        conditions = parsing.parse_conditions(low, columns, values) if low else []
        args.update(group(low, columns, values, conditions))
        args["output"] = fresh(state, "augmented", ".csv")
        args["report"] = fresh(state, "augment_report", ".html")
    elif tool == "generate":
        generator = parsing.parse_generator(low, generator_names())
        strict = (state.results.get("privacy") or {}).get("preset") == "strict"
        if generator is None and strict:
            generator = workflow.DP_FALLBACK  # fast on small tables
        if generator is None and state.generations:
            generator = state.generations[-1].get("generator")
        epsilon = parsing.parse_epsilon(low)
        if generator is None and epsilon is not None:
            generator = workflow.DP_FALLBACK  # a budget asks for a DP generator
        if generator is None:
            generator = recommended(state)
        if generator is not None:
            args["generator"] = generator
        rows = parsing.parse_rows(low)
        if rows is not None:
            args["rows"] = rows
        if epsilon is not None:
            args["epsilon"] = epsilon
        privacy = parsing.parse_privacy(low)
        if privacy is not None:
            args["privacy"] = privacy
        conditions = parsing.parse_conditions(low, columns, values) if low else []
        if conditions:
            args["conditions"] = conditions

    elif tool == "evaluate":
        last = state.generations[-1] if state.generations else {}
        if last.get("conditions"):
            args["against"] = "conditioned"  # judge rows against the real subgroup
    elif tool in ("describe_column", "plot_column"):
        found = parsing.find_columns(low, columns)
        if found:
            args["column"] = found[0]
    elif tool == "drop_columns":
        args["columns"] = parsing.find_columns(low, columns)
    elif tool == "fairness":
        by = by_column(low, columns)
        if by:
            args["by"] = by
    elif tool == "recommend_generators":
        priority = re.search(r"\b(privacy|private|utility|fidelity|speed|fast|quick)", low)
        if priority:
            word = priority.group(1)
            args["priority"] = {"private": "privacy", "fast": "speed", "quick": "speed"}.get(
                word, word
            )
    elif tool == "set_privacy":
        args["preset"] = parsing.parse_privacy(low) or "standard"
        epsilon = parsing.parse_epsilon(low)
        if epsilon is not None:
            args["epsilon"] = epsilon
    if tool in OUTPUTS:
        args["output"] = fresh(state, *OUTPUTS[tool])
    return args


def group(
    low: str, columns: list[str], values: dict[str, list[str]], conditions: list[str]
) -> dict[str, Any]:
    """The group to augment: a condition (``sex=Female``) or a column (``by race``)."""
    eq = [c for c in conditions if "=" in c and not any(o in c for o in "<>!")]
    if eq:
        return {"balance": eq[0].split("=", 1)[0]}
    by = by_column(low, columns)
    return {"balance": by} if by else {}


def by_column(low: str, columns: list[str]) -> str | None:
    match = re.search(r"\b(?:by|across|per|for each|between)\s+(?:the\s+)?([\w]+)", low)
    if match:
        found = parsing.find_columns(match.group(1), columns)
        if found:
            return found[0]
    found = parsing.find_columns(low, columns, fuzzy=False)
    return found[0] if found else None


def recommended(state: SessionState) -> str | None:
    """The first generator recommend_generators suggested, if it ran."""
    ranked = state.results.get("recommended")
    return str(ranked[0]) if isinstance(ranked, list) and ranked else None


def fresh(state: SessionState, stem: str, suffix: str) -> str:
    """A file name not yet used in the session folder (nothing is overwritten)."""
    name, n = f"{stem}{suffix}", 1
    while (state.session_dir / name).exists():
        n += 1
        name = f"{stem}_{n}{suffix}"
    return name


def conditions(state: SessionState, low: str) -> list[str]:
    values = parsing.category_values(state.frame, state.schema)
    return parsing.parse_conditions(low, state.columns, values)


def generator_names() -> list[str]:
    from healthforge.generators import generator_names

    return list(generator_names())
