"""The store's foundation: opening the DuckDB file (with errors a user can act on), the engine schema,
identifiers, JSON helpers, and ``StoreBase``: the one connection, its lock and its transactions."""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Any, Self

import duckdb

from ...errors import UserError

ENGINE_SCHEMA = "_engagesync"
LEDGER_STATUSES = frozenset({"pending", "sent", "done", "unknown", "rejected"})
RUN_KINDS = frozenset({"pull", "push"})
#: One set of run statuses for pulls and pushes: ``running`` until it ends, then ``complete`` (done; a
#: push's rejects are in its counts), ``failed`` (stopped by an error) or ``skipped`` (a pull's stream
#: whose parent failed, or that was not reached).
RUN_STATUSES = frozenset({"running", "complete", "failed", "skipped"})
_FETCH_ROWS = 1000
#: DuckDB's buffer-pool ceiling unless ENGAGESYNC_DUCKDB_MEMORY says otherwise. A pull appends and
#: checkpoints: the pool only caches table blocks (re-read from the OS page cache when evicted) and
#: spills what it cannot hold, while a checkpoint's transient memory grows with the pool. Measured on a
#: 100,000-record pull: peak RSS 269 MB at 256MB, 183 MB at 64MB, 150 MB at 32MB, at the same speed;
#: but a transaction's own rows stay pinned, and 32MB refused a 2,000-record commit of 12 KB records.
DEFAULT_MEMORY = "64MB"

_ENGINE_DDL = f"""
CREATE SCHEMA IF NOT EXISTS {ENGINE_SCHEMA};
CREATE TABLE IF NOT EXISTS {ENGINE_SCHEMA}.state (
    connection VARCHAR NOT NULL, stream VARCHAR NOT NULL, state JSON, updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (connection, stream));
CREATE SEQUENCE IF NOT EXISTS {ENGINE_SCHEMA}.runs_id;
CREATE TABLE IF NOT EXISTS {ENGINE_SCHEMA}.runs (
    id BIGINT PRIMARY KEY DEFAULT nextval('{ENGINE_SCHEMA}.runs_id'), connection VARCHAR NOT NULL,
    kind VARCHAR NOT NULL, target VARCHAR, started_at TIMESTAMP NOT NULL, finished_at TIMESTAMP,
    status VARCHAR NOT NULL, counts JSON);
CREATE TABLE IF NOT EXISTS {ENGINE_SCHEMA}.ledger (
    connection VARCHAR NOT NULL, action VARCHAR NOT NULL, key VARCHAR NOT NULL, status VARCHAR NOT NULL,
    remote_id VARCHAR, request JSON, response JSON, attempts INTEGER NOT NULL DEFAULT 0,
    updated_at TIMESTAMP NOT NULL, PRIMARY KEY (connection, action, key));
CREATE SEQUENCE IF NOT EXISTS {ENGINE_SCHEMA}.rejects_id;
CREATE TABLE IF NOT EXISTS {ENGINE_SCHEMA}.rejects (
    id BIGINT PRIMARY KEY DEFAULT nextval('{ENGINE_SCHEMA}.rejects_id'), connection VARCHAR NOT NULL,
    action VARCHAR NOT NULL, key VARCHAR, record JSON, field VARCHAR, reason VARCHAR, status VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL, retried_at TIMESTAMP);
CREATE SEQUENCE IF NOT EXISTS {ENGINE_SCHEMA}.responses_id;
CREATE TABLE IF NOT EXISTS {ENGINE_SCHEMA}.responses (
    id BIGINT PRIMARY KEY DEFAULT nextval('{ENGINE_SCHEMA}.responses_id'), connection VARCHAR NOT NULL,
    action VARCHAR NOT NULL, key VARCHAR, status_code INTEGER, body JSON, "at" TIMESTAMP NOT NULL);
ALTER TABLE {ENGINE_SCHEMA}.runs ADD COLUMN IF NOT EXISTS settings JSON;
ALTER TABLE {ENGINE_SCHEMA}.rejects ADD COLUMN IF NOT EXISTS run_id BIGINT;
ALTER TABLE {ENGINE_SCHEMA}.ledger ADD COLUMN IF NOT EXISTS run_id BIGINT;
ALTER TABLE {ENGINE_SCHEMA}.responses ADD COLUMN IF NOT EXISTS run_id BIGINT;
UPDATE {ENGINE_SCHEMA}.runs SET status = 'complete' WHERE status = 'ok';
"""


class StoreError(Exception):
    """A store operation that cannot be done as asked (bad identifiers, schema conflicts...)."""


class StoreOpenError(StoreError, UserError):
    """The store file cannot be opened or written; the message says why and what to do."""

    @classmethod
    def explain(cls, path: str, exc: BaseException) -> StoreOpenError:
        """Turn DuckDB's (or the OS's) reason into one line naming the file and the fix."""
        text = str(exc)
        where = f"store {path}"
        elsewhere = "or give --store another path"
        if locked := re.search(r"Conflicting lock is held in (.*?) \(PID (\d+)\)", text):
            program, pid = locked.groups()
            return cls(
                f"{where} is in use by another process (PID {pid}, {program}); wait for it to finish "
                f"or stop it (kill {pid}), {elsewhere}"
            )
        if re.search(r"Permission denied|Operation not permitted|Read-only file system", text):
            return cls(
                f"{where} cannot be opened for writing ({_os_reason(text)}); make the file and its folder "
                f"writable (chmod u+w; chattr -i if it is immutable), {elsewhere}"
            )
        if re.search(r"not a valid DuckDB database|Could not read enough bytes|Corrupt database|checksum", text):
            return cls(
                f"{where} is not a readable DuckDB database (another kind of file, or truncated or damaged: "
                f"{_os_reason(text)}); move it aside and pull again into a new store, {elsewhere}"
            )
        return cls(f"{where} cannot be opened: {' '.join(text.split())}")


def _os_reason(text: str) -> str:
    """DuckDB's message without its ``IO Error:`` prefix and the repeated path."""
    text = re.sub(r"^[A-Za-z ]+ Error: ", "", " ".join(text.split()))
    return text if len(text) <= 200 else text[:197] + "..."


def _connect(path: str) -> duckdb.DuckDBPyConnection:
    """``duckdb.connect`` with the memory ceiling and threads from the environment; clear errors."""
    directory = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise StoreOpenError(f"store {path} is a folder, not a file; give --store a file path, e.g. {path}/data.duckdb")
    if not os.path.isdir(directory):
        raise StoreOpenError(
            f"store {path}: the folder {directory} does not exist; create it (mkdir -p {directory}) "
            "or give --store a path in an existing folder"
        )
    memory = os.environ.get("ENGAGESYNC_DUCKDB_MEMORY", "").strip() or DEFAULT_MEMORY
    threads = os.environ.get("ENGAGESYNC_DUCKDB_THREADS", "1")
    if not threads.strip().isdigit() or int(threads) < 1:
        raise StoreOpenError(f"ENGAGESYNC_DUCKDB_THREADS={threads!r} is not a whole number >= 1; set it, e.g., to 1")
    try:
        # DuckDB caches up to 80% of RAM as the file grows; a small fixed ceiling keeps a long pull flat.
        con = duckdb.connect(path, config={"memory_limit": memory, "threads": int(threads)})
    except duckdb.Error as exc:
        if re.search(r"Memory|memory_limit", str(exc)):
            raise StoreOpenError(
                f"ENGAGESYNC_DUCKDB_MEMORY={memory!r} is not a memory size; set it, e.g., to 256MB or 1GB"
            ) from exc
        raise StoreOpenError.explain(path, exc) from exc
    # the session's zone is UTC: TIMESTAMPTZ columns read back as UTC datetimes, and casts between naive
    # UTC TIMESTAMPs and TIMESTAMPTZ are exact
    con.execute("SET TimeZone = 'UTC'")
    return con


# -- identifiers ---------------------------------------------------------------------------------
def sanitize(name: str) -> str:
    """A safe lower-case identifier: ``groove-helpdesk`` -> ``groove_helpdesk``, ``2fa`` -> ``_2fa``."""
    ident = re.sub(r"[^0-9a-z_]+", "_", name.strip().lower()).strip("_")
    if not ident:
        raise StoreError(f"cannot make an identifier from {name!r}")
    return f"_{ident}" if ident[0].isdigit() else ident


def quote(ident: str) -> str:
    """Quote an identifier for DuckDB SQL."""
    return '"' + ident.replace('"', '""') + '"'


def schema_for(connection: str) -> str:
    """The schema holding a connection's tables."""
    return sanitize(connection)


def table_for(connection: str, stream: str) -> str:
    """The quoted, schema-qualified table name of a connection's stream."""
    return f"{quote(schema_for(connection))}.{quote(sanitize(stream))}"


def utcnow() -> datetime:
    """Naive UTC now (DuckDB ``TIMESTAMP`` has no zone)."""
    return datetime.now(UTC).replace(tzinfo=None)


def _dumps(value: Any) -> str:
    return json.dumps(value, default=_json_default, allow_nan=False, separators=(",", ":"))


#: Rows serialised per ``json.dumps`` call (see ``dumps_rows``).
DUMP_ROWS = 32


def dumps_rows(rows: Sequence[Any]) -> str:
    """``_dumps(list(rows))``, serialised ``DUMP_ROWS`` rows per call.

    One ``json.dumps`` call holds the GIL throughout. A store write runs beside the thread that talks
    to the API (a pull's fetcher, a push's requests), which is the run's critical path: pieces of a
    few hundred microseconds let it in between, where a 2,000-record page would hold it for ~15 ms."""
    if len(rows) <= DUMP_ROWS:
        return _dumps(list(rows))
    pieces = (_dumps(list(rows[i : i + DUMP_ROWS]))[1:-1] for i in range(0, len(rows), DUMP_ROWS))
    return "[" + ",".join(pieces) + "]"


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return str(value)


def _loads(text: Any) -> Any:
    return json.loads(text) if isinstance(text, str) else text


def _filters(**values: str | None) -> tuple[str, list[Any]]:
    clauses = [f"{name} = ?" for name, value in values.items() if value is not None]
    params = [value for value in values.values() if value is not None]
    return ("WHERE " + " AND ".join(clauses)) if clauses else "", params


class StoreBase:
    """The store's one DuckDB connection, its lock and its transactions; the rooms of the store
    (stream tables, state and runs, ledger) are mixins over it, put together as ``Store``."""

    def __init__(self, path: str = "engagesync.duckdb") -> None:
        """Open (or create) the store; a file that cannot be used raises ``StoreOpenError`` saying why."""
        self.path = path
        self._lock = threading.RLock()
        self._con = _connect(path)
        self._plans: dict[tuple[str, str], Any] = {}  # (connection, stream) -> its table plan
        try:
            # Stream tables are named catalog.schema.table: DuckDB names the catalog after the file, and a
            # store called volt.duckdb would otherwise make "volt"."contacts" ambiguous.
            self._catalog = quote(str(self._con.execute("SELECT current_database()").fetchall()[0][0]))
            with self._lock:
                self._con.execute(_ENGINE_DDL)
        except duckdb.Error as exc:
            self._con.close()
            raise StoreOpenError.explain(path, exc) from exc

    # -- lifecycle ---------------------------------------------------------------------------------
    def close(self) -> None:
        with self._lock:
            self._con.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """Hold the lock and run the block in one transaction (rolled back if it raises)."""
        with self._lock:
            self._con.execute("BEGIN TRANSACTION")
            try:
                yield self._con
            except BaseException:
                self._con.execute("ROLLBACK")
                raise
            self._con.execute("COMMIT")

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        """Run one statement under the lock and return all its rows (for small results only)."""
        with self._lock:
            return self._con.execute(sql, params).fetchall()

    def iter_query(
        self, sql: str, params: Sequence[Any] | None = None, chunk: int = _FETCH_ROWS
    ) -> Iterator[tuple[list[str], list[tuple[Any, ...]]]]:
        """Stream a query's rows in chunks of ``(column_names, rows)`` through a cursor of its own.

        The cursor is a separate DuckDB connection to the same database, so the caller may write to the
        store while iterating; it reads a consistent snapshot.
        """
        with self._lock:
            cursor = self._con.cursor()
        try:
            cursor.execute("SET TimeZone = 'UTC'")  # a cursor is a session of its own
            cursor.execute(sql, params)
            names = [d[0] for d in cursor.description or []]
            while rows := cursor.fetchmany(chunk):
                yield names, rows
        finally:
            cursor.close()

    def _write_state(
        self, con: duckdb.DuckDBPyConnection, connection: str, stream: str, state: dict[str, Any] | None, now: datetime
    ) -> None:
        con.execute(
            f"INSERT INTO {ENGINE_SCHEMA}.state VALUES (?, ?, ?::JSON, ?) ON CONFLICT (connection, stream) "
            "DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at",
            [connection, stream, None if state is None else _dumps(state), now],
        )
