"""An error a service user can fix, with the HTTP status it is answered with."""

from __future__ import annotations

from healthforge.errors import HealthForgeError


class ServiceError(HealthForgeError):
    """``HealthForgeError`` plus an HTTP status (400 unless said otherwise)."""

    def __init__(self, message: str, hint: str | None = None, status: int = 400) -> None:
        super().__init__(message, hint)
        self.status = status


def not_found(what: str) -> ServiceError:
    """The answer for a missing item and for another user's item alike (never 403)."""
    return ServiceError(f"{what} not found", "check the id; it may have been deleted", 404)
