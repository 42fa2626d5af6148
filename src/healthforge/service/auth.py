"""Users and their tokens: a token is shown once, only its sha256 is stored.

A token is 32 random bytes (URL-safe text, prefixed ``hf_``); the database keeps its
sha256, so a copy of the database does not let anyone sign in. Requests carry it as
``Authorization: Bearer TOKEN``. In the single-user laptop mode (``--no-auth``, loopback
only) every request is the local user.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from typing import Any

from healthforge.errors import HealthForgeError
from healthforge.service.db import Database, new_id, now

TOKEN_PREFIX = "hf_"
LOCAL_USER = "local"
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_user(db: Database, name: str) -> str:
    """Add user ``name``; returns their token (the only time it is known)."""
    if not NAME_PATTERN.match(name):
        raise HealthForgeError(
            f"'{name}' is not a valid user name",
            "use 1-64 letters, digits, '.', '_', '-' or '@', starting with a letter or digit",
        )
    if db.one("SELECT id FROM users WHERE name = ?", name) is not None:
        raise HealthForgeError(
            f"user '{name}' already exists", "choose another name, or use their existing token"
        )
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    db.insert(
        "users", {"id": new_id(), "name": name, "token_hash": hash_token(token), "created": now()}
    )
    return token


def user_for_token(db: Database, token: str | None) -> dict[str, Any] | None:
    """The user a token belongs to, or None."""
    if not token or not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    return db.one("SELECT id, name FROM users WHERE token_hash = ?", hash_token(token))


def local_user(db: Database) -> dict[str, Any]:
    """The single user of ``--no-auth`` mode (made on first use; its token is never shown)."""
    user = db.one("SELECT id, name FROM users WHERE name = ?", LOCAL_USER)
    if user is None:
        create_user(db, LOCAL_USER)
        user = db.one("SELECT id, name FROM users WHERE name = ?", LOCAL_USER)
    assert user is not None
    return user


def bearer_token(header: str | None) -> str | None:
    """The token of an ``Authorization: Bearer TOKEN`` header."""
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None
