"""Progress reporting for long work, without printing from library code.

Every long-running library function takes ``progress: ProgressCallback | None``.
It is called as ``progress(stage, done, total)``; ``total`` is ``None`` when unknown.
The CLI turns these calls into rich progress bars.
"""

from __future__ import annotations

from collections.abc import Callable

ProgressCallback = Callable[[str, int, int | None], None]


def report(progress: ProgressCallback | None, stage: str, done: int, total: int | None) -> None:
    """Call ``progress`` if one was given."""
    if progress is not None:
        progress(stage, done, total)
