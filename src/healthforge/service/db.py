"""The service's embedded database (SQLite): users, datasets, jobs and conversations.

Every query of a user's resource names its owner (``WHERE id = ? AND owner = ?``), so
another user's id reads as missing. Connections are short-lived (one per operation) in
WAL mode, so the server's threads and the worker processes share the file safely; a
commit is on disk before the call returns, so a ``kill -9`` loses no finished result.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

TABLES = """
CREATE TABLE IF NOT EXISTS users (
    id TEXT PRIMARY KEY, name TEXT UNIQUE NOT NULL, token_hash TEXT UNIQUE NOT NULL,
    created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS datasets (
    id TEXT PRIMARY KEY, owner TEXT NOT NULL REFERENCES users(id), name TEXT NOT NULL,
    format TEXT NOT NULL, stored TEXT NOT NULL, bytes INTEGER NOT NULL,
    rows INTEGER NOT NULL, columns INTEGER NOT NULL, created REAL NOT NULL,
    profile TEXT NOT NULL, schema_saved INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS datasets_owner ON datasets(owner);
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY, owner TEXT NOT NULL REFERENCES users(id),
    dataset_id TEXT NOT NULL, kind TEXT NOT NULL, spec TEXT NOT NULL, state TEXT NOT NULL,
    stage TEXT NOT NULL DEFAULT '', done INTEGER NOT NULL DEFAULT 0, total INTEGER,
    fraction REAL NOT NULL DEFAULT 0, messages TEXT NOT NULL DEFAULT '[]', result TEXT,
    error TEXT, created REAL NOT NULL, started REAL, finished REAL, pid INTEGER,
    run_token TEXT);
CREATE INDEX IF NOT EXISTS jobs_owner ON jobs(owner);
CREATE INDEX IF NOT EXISTS jobs_state ON jobs(state);
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY, owner TEXT NOT NULL REFERENCES users(id),
    dataset_id TEXT NOT NULL, created REAL NOT NULL, UNIQUE (owner, dataset_id));
CREATE TABLE IF NOT EXISTS conversation_events (
    conversation_id TEXT NOT NULL, seq INTEGER NOT NULL, event TEXT NOT NULL,
    created REAL NOT NULL, PRIMARY KEY (conversation_id, seq));
"""
JSON_FIELDS = ("profile", "spec", "messages", "result", "event")
FINAL_STATES = ("done", "failed", "cancelled")


def new_id() -> str:
    """A random id (128 bits, hex): unguessable, and safe as a folder name."""
    return secrets.token_hex(16)


class Database:
    """One SQLite file; each method opens, uses and closes its own connection."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.connect() as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(TABLES)

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA busy_timeout=30000")
        try:
            yield conn
        finally:
            conn.close()

    # -- generic helpers ----------------------------------------------------------------
    def insert(self, table: str, row: dict[str, Any]) -> None:
        values = {k: _dump(k, v) for k, v in row.items()}
        names = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        with self.connect() as conn:
            conn.execute(f"INSERT INTO {table} ({names}) VALUES ({marks})", list(values.values()))

    def one(self, sql: str, *args: Any) -> dict[str, Any] | None:
        with self.connect() as conn:
            row = conn.execute(sql, args).fetchone()
        return None if row is None else _load(row)

    def all(self, sql: str, *args: Any) -> list[dict[str, Any]]:
        with self.connect() as conn:
            rows = conn.execute(sql, args).fetchall()
        return [_load(r) for r in rows]

    def execute(self, sql: str, *args: Any) -> int:
        """Run one statement; returns the number of rows it changed."""
        with self.connect() as conn:
            return conn.execute(sql, args).rowcount

    def update(self, table: str, where: dict[str, Any], **values: Any) -> int:
        """``UPDATE table SET values WHERE where`` (all equalities); rows changed."""
        sets = ", ".join(f"{k} = ?" for k in values)
        conds = " AND ".join(f"{k} = ?" for k in where)
        args = [_dump(k, v) for k, v in values.items()] + list(where.values())
        return self.execute(f"UPDATE {table} SET {sets} WHERE {conds}", *args)

    # -- ownership ----------------------------------------------------------------------
    def owned(self, table: str, item_id: str, owner: str) -> dict[str, Any] | None:
        """The row ``item_id`` of ``table`` if ``owner`` owns it, else None."""
        return self.one(f"SELECT * FROM {table} WHERE id = ? AND owner = ?", item_id, owner)

    def owned_list(self, table: str, owner: str, **where: Any) -> list[dict[str, Any]]:
        conds = "".join(f" AND {k} = ?" for k in where)
        return self.all(
            f"SELECT * FROM {table} WHERE owner = ?{conds} ORDER BY created DESC",
            owner,
            *where.values(),
        )


def _dump(key: str, value: Any) -> Any:
    return json.dumps(value) if key in JSON_FIELDS and value is not None else value


def _load(row: sqlite3.Row) -> dict[str, Any]:
    out = dict(row)
    for key in JSON_FIELDS:
        if out.get(key) is not None:
            out[key] = json.loads(out[key])
    return out


def now() -> float:
    return time.time()
