"""Short-lived signed links to one file of one job, for what cannot send a header.

A browser's ``<a download>`` and an ``<iframe>`` cannot add ``Authorization``; the page
asks for a ticket (authenticated) and uses it in the URL. A ticket names its user, job,
file and expiry and is signed with the server's key (HMAC-SHA256), so it opens that one
file of that one job for a minute and nothing else.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

TICKET_SECONDS = 60


def make_ticket(
    secret: bytes, user: str, job: str, name: str, seconds: int = TICKET_SECONDS
) -> str:
    """``USER.EXPIRES.SIGNATURE``: opens file ``name`` of ``job`` for ``user`` until then."""
    expires = int(time.time()) + seconds
    return f"{user}.{expires}.{_sign(secret, user, job, name, expires)}"


def ticket_user(secret: bytes, ticket: str, job: str, name: str) -> str | None:
    """The user a valid, unexpired ticket for ``job``/``name`` was made for, else None."""
    parts = ticket.split(".")
    if len(parts) != 3 or not parts[1].isdigit():
        return None
    user, expires, signature = parts[0], int(parts[1]), parts[2]
    if expires < time.time():
        return None
    expected = _sign(secret, user, job, name, expires)
    return user if hmac.compare_digest(expected, signature) else None


def _sign(secret: bytes, user: str, job: str, name: str, expires: int) -> str:
    payload = f"{user}\n{job}\n{name}\n{expires}".encode()
    digest = hmac.new(secret, payload, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")
