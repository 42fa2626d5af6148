"""What the partner says and proposes: :class:`Event` and :class:`Action`.

Every front end (terminal, scripted CLI, web service, tests) reads the same events; an
event is JSON-able through :meth:`Event.to_dict`, so the service can stream it and the
session log can store it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

EventKind = Literal["message", "proposal", "progress", "result", "error", "notice"]
ActionStatus = Literal["proposed", "approved", "rejected", "done", "failed"]


@dataclass
class Action:
    """One tool call the partner proposes (and, once approved, runs)."""

    id: str  # "a1", "a2", ... unique in the session
    tool: str  # a registered tool name
    args: dict[str, Any]  # validated arguments (JSON-able)
    summary: str  # plain-language plan: what, expected time, files written
    needs_approval: bool
    status: ActionStatus = "proposed"
    reason: str = ""  # why approval is asked for (long fit, privacy choice, writes a file)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Event:
    """One thing to show: a message, a proposal awaiting a decision, progress, a result."""

    kind: EventKind
    text: str = ""  # what a person reads
    action: Action | None = None  # for "proposal" / "result"
    data: dict[str, Any] = field(default_factory=dict)  # JSON-able aggregates only
    files: list[str] = field(default_factory=list)  # paths inside the session dir

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "text": self.text,
            "action": None if self.action is None else self.action.to_dict(),
            "data": self.data,
            "files": list(self.files),
        }
