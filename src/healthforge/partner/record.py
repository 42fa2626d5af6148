"""What a step leaves behind: its record in the session log and the guard that nothing
in the session folder was overwritten without consent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from healthforge.partner.events import Action
from healthforge.partner.session import SessionLog, relative_to, sha256_file

# tools that write files without a run specification, re-run by replay and the exported
# script from their logged (validated) arguments
TOOL_STEPS = ("augment",)


def result_record(action: Action, result: Any, ctx: Any, log: SessionLog) -> dict[str, Any]:
    """The log record of a finished step: arguments, summary, figures, files with their
    sha256, the run specification (outputs relative to the session folder), and the table
    it ran on (source and fingerprint) when a re-run needs it."""
    record: dict[str, Any] = {
        "action": action.id,
        "tool": action.tool,
        "args": action.args,
        "summary": result.summary,
        "data": result.data,
        "files": log.files(result.files),
        "code": result.code,
        "spec": None if result.spec is None else spec_record(result.spec, log.dir),
    }
    replayable = result.spec is not None or action.tool in TOOL_STEPS
    if ctx.frame is not None and (action.tool == "load_data" or replayable):
        from healthforge.pipeline import fingerprint

        # the table this step ran on: the exported script checks it is the same
        record["table_fingerprint"] = fingerprint(ctx.frame)
        record["table_source"] = ctx.source or "memory"
        if result.spec is not None:
            record["seeds"] = {"run": result.spec.seed}
    if action.tool in TOOL_STEPS:
        # what replay needs to run the tool again: its context, not only its arguments
        record["context"] = {
            "target": ctx.target,
            "drop": list(ctx.results.get("drop", [])),
            "seed": ctx.seed,
        }
    return record


def spec_record(spec: Any, root: Path) -> dict[str, Any]:
    """The spec as a dict, its output paths relative to the session folder."""
    data = spec.to_dict()
    outputs = data.get("outputs") or {}
    for key in ("synthetic", "report", "json", "train", "holdout"):
        if outputs.get(key):
            outputs[key] = relative_to(outputs[key], root)
    return data


_HASHES: dict[tuple[str, int, int], str] = {}


def snapshot(root: Path) -> dict[str, str]:
    """sha256 of every file in the session folder (each version hashed once)."""
    found = {}
    for path in root.rglob("*"):
        if path.is_file() and path.name != "session.jsonl":
            stat = path.stat()
            key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
            if key not in _HASHES:
                _HASHES[key] = sha256_file(path)
            found[relative_to(path, root)] = _HASHES[key]
    return found


def overwritten(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """Files whose content changed (rewriting the same bytes changes nothing)."""
    return sorted(k for k, v in before.items() if k in after and after[k] != v)
