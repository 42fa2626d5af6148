"""The AI partner (issue #22): a conversation that takes a table to an evaluated
synthetic dataset, every step a registered tool running the library's pipeline.

``Partner`` (:mod:`.engine`) is the one API the terminal, the web service and the tests
share; it is imported lazily so that ``healthforge.partner.tools`` loads without it.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Action", "Event", "Partner"]


def __getattr__(name: str) -> Any:
    if name == "Partner":
        from healthforge.partner.engine import Partner

        return Partner
    if name in ("Action", "Event"):
        from healthforge.partner import events

        return getattr(events, name)
    raise AttributeError(f"module 'healthforge.partner' has no attribute {name!r}")
