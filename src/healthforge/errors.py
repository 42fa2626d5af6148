"""One exception type for problems the user can fix.

Library code raises :class:`HealthForgeError` with a one-line message and a hint
saying what to do next; the CLI prints both and exits non-zero, never a traceback.
"""

from __future__ import annotations


class HealthForgeError(Exception):
    """A user-facing error: ``message`` says what is wrong, ``hint`` what to do."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message} ({self.hint})"
