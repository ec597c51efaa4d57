"""SQLite state shared by every emulated API.

One connection guarded by a lock: the emulators are CPU-light and an in-memory database answers in
microseconds, so serialising access keeps every request's read-modify-write atomic without any
per-table locking. ``--db PATH`` makes the same state survive a restart (WAL journal).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

ENGINE_DDL = """
CREATE TABLE IF NOT EXISTS sandbox_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tenants (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, seed INTEGER NOT NULL, created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS credentials (
    api TEXT NOT NULL, secret TEXT NOT NULL, tenant_id INTEGER NOT NULL, kind TEXT NOT NULL,
    expires_at REAL, revoked INTEGER NOT NULL DEFAULT 0, data TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (api, secret)
);
CREATE INDEX IF NOT EXISTS credentials_tenant ON credentials (tenant_id, api, kind);
CREATE TABLE IF NOT EXISTS webhook_deliveries (
    id INTEGER PRIMARY KEY, api TEXT NOT NULL, tenant_id INTEGER NOT NULL, event TEXT NOT NULL,
    url TEXT NOT NULL, body BLOB NOT NULL, headers TEXT NOT NULL, status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at REAL, created_at REAL NOT NULL,
    delivered_at REAL, last_error TEXT
);
CREATE INDEX IF NOT EXISTS webhook_due ON webhook_deliveries (status, next_attempt_at);
CREATE TABLE IF NOT EXISTS webhook_attempts (
    id INTEGER PRIMARY KEY, delivery_id INTEGER NOT NULL, attempt INTEGER NOT NULL, at REAL NOT NULL,
    status_code INTEGER, error TEXT, duration_ms REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS sandbox_sink (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL, at REAL NOT NULL, headers TEXT NOT NULL, body BLOB NOT NULL
);
"""


class Store:
    """A locked SQLite connection with small helpers; rows come back as ``sqlite3.Row``."""

    def __init__(self, path: str | None = None) -> None:
        self.path = path or ":memory:"
        self.conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self.conn.row_factory = sqlite3.Row
        self.lock = threading.RLock()
        if self.path != ":memory:":
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.execute("PRAGMA foreign_keys=OFF")
        self._depth = 0
        self.executescript(ENGINE_DDL)

    # -- transactions ----------------------------------------------------------------------------
    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """One atomic unit of work; nested calls join the outer transaction."""
        with self.lock:
            if self._depth:
                self._depth += 1
                try:
                    yield self.conn
                finally:
                    self._depth -= 1
                return
            self.conn.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield self.conn
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            else:
                self.conn.execute("COMMIT")
            finally:
                self._depth = 0

    def executescript(self, sql: str) -> None:
        with self.lock:
            self.conn.executescript(sql)

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> sqlite3.Cursor:
        with self.lock:
            return self.conn.execute(sql, params)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        with self.lock:
            self.conn.executemany(sql, rows)

    def one(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> sqlite3.Row | None:
        with self.lock:
            row: sqlite3.Row | None = self.conn.execute(sql, params).fetchone()
            return row

    def all(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[sqlite3.Row]:
        with self.lock:
            return self.conn.execute(sql, params).fetchall()

    def scalar(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Any:
        row = self.one(sql, params)
        return None if row is None else row[0]

    # -- engine metadata -------------------------------------------------------------------------
    def get_meta(self, key: str, default: Any = None) -> Any:
        value = self.scalar("SELECT value FROM sandbox_meta WHERE key = ?", (key,))
        return default if value is None else json.loads(value)

    def set_meta(self, key: str, value: Any) -> None:
        self.execute("INSERT INTO sandbox_meta (key, value) VALUES (?, ?) "
                     "ON CONFLICT(key) DO UPDATE SET value = excluded.value", (key, json.dumps(value)))

    def close(self) -> None:
        with self.lock:
            self.conn.close()
