"""SQLite state shared by every emulated API.

One connection guarded by a lock: the emulators are CPU-light and an in-memory database answers in
microseconds, so serialising access keeps every request's read-modify-write atomic without any
per-table locking. ``--db PATH`` makes the same state survive a restart (WAL journal).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

T = TypeVar("T")

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


#: Listing reads remembered by ``SandboxDB.counted`` / ``SandboxDB.page`` (least recently used dropped first).
_READS_KEPT = 512


class SandboxDB:
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
        self._reads: OrderedDict[tuple[Any, ...], tuple[int, Any]] = OrderedDict()
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

    def tuples(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """``all`` as plain tuples: for hot reads by position, where building ``sqlite3.Row`` objects costs."""
        with self.lock:
            cursor = self.conn.cursor()
            cursor.row_factory = None
            return cursor.execute(sql, params).fetchall()

    def scalar(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Any:
        row = self.one(sql, params)
        return None if row is None else row[0]

    # -- deep listings -----------------------------------------------------------------------------
    # A paginating client reads page 1, 2, 3...; with LIMIT/OFFSET each page re-reads every row before
    # it, so pulling a million rows costs minutes of SQLite time. Both helpers below return exactly
    # what the plain query would, but remember what they learnt until the next write (SQLite's
    # ``total_changes`` on the one connection tells): the COUNT(*) of a listing, and the sort key of
    # the last row served, so the next page continues after it through the index.

    def counted(self, sql: str, params: Sequence[Any] = ()) -> int:
        """``int(scalar(sql))`` for a COUNT query, computed once per version of the data."""
        with self.lock:
            key, version = ("count", sql, tuple(params)), self.conn.total_changes
            hit = self._reads.get(key)
            if hit is not None and hit[0] == version:
                return int(hit[1])
            value = int(self.conn.execute(sql, params).fetchone()[0])
            self._remember(key, version, value)
            return value

    def page(
        self, sql: str, params: Sequence[Any], keys: Sequence[tuple[str, str]], limit: int, offset: int
    ) -> list[sqlite3.Row]:
        """``sql`` + ``LIMIT limit OFFSET offset``, where ``sql`` orders by ``keys`` (unique, ascending)
        and holds ``{after}`` at the end of its WHERE clause, after every ``?`` of ``params``.

        ``keys`` are (SQL expression, column name in the rows) pairs, e.g. ``("t.number", "number")``.
        """
        with self.lock:
            version = self.conn.total_changes
            hit = self._reads.get(("page", sql, tuple(params), offset))
            if hit is not None and hit[0] == version:
                exprs = ", ".join(expr for expr, _ in keys)
                marks = ", ".join("?" for _ in keys)
                rows = self.conn.execute(
                    sql.format(after=f"AND ({exprs}) > ({marks})") + " LIMIT ?", (*params, *hit[1], limit)
                ).fetchall()
            else:
                rows = self.conn.execute(
                    sql.format(after="") + " LIMIT ? OFFSET ?", (*params, limit, offset)
                ).fetchall()
            if rows:
                last = tuple(rows[-1][name] for _, name in keys)
                self._remember(("page", sql, tuple(params), offset + len(rows)), version, last)
            return rows

    def remembered(self, key: tuple[Any, ...], compute: Callable[[], T]) -> T:
        """``compute()``, run once per version of the data for ``key`` (like ``counted``): for lookups
        every request repeats, such as the ids of the tags a page shows."""
        with self.lock:
            version = self.conn.total_changes
            hit = self._reads.get(key)
            if hit is not None and hit[0] == version:
                value: T = hit[1]
                return value
            value = compute()
            self._remember(key, version, value)
            return value

    def _remember(self, key: tuple[Any, ...], version: int, value: Any) -> None:
        self._reads[key] = (version, value)
        self._reads.move_to_end(key)
        while len(self._reads) > _READS_KEPT:
            self._reads.popitem(last=False)

    # -- engine metadata -------------------------------------------------------------------------
    def get_meta(self, key: str, default: Any = None) -> Any:
        value = self.scalar("SELECT value FROM sandbox_meta WHERE key = ?", (key,))
        return default if value is None else json.loads(value)

    def set_meta(self, key: str, value: Any) -> None:
        self.execute(
            "INSERT INTO sandbox_meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, json.dumps(value)),
        )

    def close(self) -> None:
        with self.lock:
            self.conn.close()
