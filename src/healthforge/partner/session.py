"""The session: what the partner knows so far, and its append-only JSON-lines log.

:class:`SessionState` is what the engine, the router and :func:`build_context`
(``partner/context.py``) read: the stage of the workflow, the conversation, the tool
context (the user's table lives there and never leaves this process). :class:`SessionLog`
appends one JSON object per line to ``SESSION_DIR/session.jsonl`` - the time, every
message, every proposed / approved / rejected action with its validated arguments, every
result (summary, files with their sha256, the run specification executed), and at the
start the seeds and package versions; the data fingerprint once the table is loaded.
The log is the record a data steward signs off and what ``export`` / ``replay`` read.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from healthforge.errors import HealthForgeError

LOG_NAME = "session.jsonl"
LOG_VERSION = 1


def sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def relative_to(path: str | Path, root: Path) -> str:
    """``path`` relative to ``root`` when inside it (the log stays valid if the session
    folder moves), else absolute."""
    resolved = Path(path).resolve()
    try:
        return resolved.relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(resolved)


@dataclass
class SessionState:
    """What the partner knows; the tool context holds the data and earlier results."""

    session_dir: Path
    seed: int = 0
    stage: str = "start"
    source: str | None = None
    turns: list[dict[str, str]] = field(default_factory=list)  # {"role", "text"}
    ctx: Any = None  # partner.tools.registry.ToolContext
    done: list[str] = field(default_factory=list)  # tools run successfully, in order
    failed: list[str] = field(default_factory=list)  # tools that failed when run
    last_privacy_failures: list[dict[str, Any]] = field(default_factory=list)
    backtracks: int = 0
    generations: list[dict[str, Any]] = field(default_factory=list)  # generate args, in order
    offered: list[Any] = field(
        default_factory=list
    )  # workflow.Option s the user may pick by number
    told_no_model: bool = False
    allow_rows_to_model: bool = False

    # read-only views the router and the model context use
    @property
    def frame(self) -> Any:
        return None if self.ctx is None else self.ctx.frame

    @property
    def schema(self) -> Any:
        return None if self.ctx is None else self.ctx.schema

    @property
    def target(self) -> str | None:
        return None if self.ctx is None else self.ctx.target

    @property
    def results(self) -> dict[str, Any]:
        return {} if self.ctx is None else self.ctx.results

    @property
    def columns(self) -> list[str]:
        frame = self.frame
        return [] if frame is None else [str(c) for c in frame.columns]

    def say(self, role: str, text: str) -> None:
        self.turns.append({"role": role, "text": text})


class SessionLog:
    """Append-only JSON lines; every write is flushed and synced before returning."""

    def __init__(self, session_dir: str | Path) -> None:
        self.dir = Path(session_dir)
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise HealthForgeError(
                f"cannot create the session folder '{self.dir}': {exc.strerror}",
                "choose a folder you can write to with --session-dir",
            ) from None
        self.path = self.dir / LOG_NAME

    def append(self, record_type: str, **fields: Any) -> dict[str, Any]:
        record = {"time": _now(), "type": record_type, **fields}
        line = json.dumps(record, sort_keys=True, default=str, allow_nan=False)
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        return record

    def start(self, source: str | None, seed: int, backend: str, uses_model: bool) -> None:
        from healthforge.pipeline.run import package_versions

        self.append(
            "start",
            log_version=LOG_VERSION,
            source=source,
            seed=seed,
            backend=backend,
            uses_language_model=uses_model,
            packages=package_versions(),
            python=platform.python_version(),
        )

    def files(self, paths: list[str]) -> list[dict[str, str]]:
        """``[{path, sha256}]`` of written files (paths relative to the session folder)."""
        out = []
        for path in paths:
            full = Path(path) if Path(path).is_absolute() else self.dir / path
            if full.is_file():
                out.append({"path": relative_to(full, self.dir), "sha256": sha256_file(full)})
        return out


def read_log(session_dir: str | Path) -> list[dict[str, Any]]:
    """Every record of a session's log, in order."""
    path = Path(session_dir) / LOG_NAME
    if not path.is_file():
        raise HealthForgeError(
            f"'{session_dir}' holds no partner session (no {LOG_NAME})",
            "pass the --session-dir of a partner session",
        )
    records = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                raise HealthForgeError(
                    f"{path} line {number} is not valid JSON", "the log may have been edited"
                ) from None
    return records


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
