"""The protocol every backend implements, and the proposal it returns.

A backend reads the user's message and a :class:`ModelContext` (the only thing about the
data a model may see) and proposes one registered tool call, or a plain answer. The
engine validates every proposal with ``Tool.validate``; when a language model's proposal
is invalid or missing, the router's proposal is used and the user is told.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from healthforge.partner.context import ModelContext


@dataclass
class Proposal:
    """What a backend proposes: a tool call (``tool`` and ``args``) or a plain answer."""

    tool: str | None  # a tool to call, or None for a plain answer
    args: dict[str, Any] = field(default_factory=dict)
    text: str = ""  # explanation / answer for the user
    source: str = "router"  # "router" or the model's name


@runtime_checkable
class Backend(Protocol):
    """Anything that proposes the partner's next step.

    ``uses_language_model`` is False for the rule-based router. ``local`` (optional,
    default False when absent) says the model runs on this machine: only then may the
    engine build a context with rows, and only when the user allowed it.
    """

    name: str
    uses_language_model: bool

    def propose(
        self, text: str, context: ModelContext, tools: list[dict[str, Any]]
    ) -> Proposal: ...

    def explain(self, result_summary: str, context: ModelContext) -> str: ...


def is_local(backend: object) -> bool:
    """True when ``backend`` declares that its model runs in this process or on loopback."""
    return bool(getattr(backend, "local", False))
