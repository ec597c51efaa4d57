"""The local store: one DuckDB file holding pulled data and the engine's own bookkeeping.

Layout:
- one schema per connection (``groove-helpdesk`` -> ``groove_helpdesk``), one table per stream with the
  stream's declared columns, ``_raw`` (the full record as JSON) and ``_synced_at``; primary key from the spec;
- schema ``_engagesync`` with the engine tables: ``state`` (each stream's cursor), ``runs``, ``ledger``
  (push idempotency), ``rejects`` and ``responses``.

Writes go through one connection guarded by a lock. ``commit_page`` upserts a page of records and writes
the stream's state in ONE transaction, so a pull killed at any moment resumes with no loss and no
duplicate (peers lose or duplicate data exactly there: airbyte#2627, dlt#4052, dlt#3767).

Bulk path: the page is coerced in Python (clear errors naming stream, key, field and value), serialised
once as a JSON array and expanded by DuckDB (``unnest(from_json_strict(?, structure))``) inside an
``INSERT ... ON CONFLICT DO UPDATE``. Measured on DuckDB 2.0, this is ~10-100x faster than
``executemany`` (which runs one statement per row) and needs neither pandas nor pyarrow.

Reads that may be large (rejects, ledger entries, table rows) stream through a separate DuckDB cursor
with ``fetchmany``; nothing loads a whole table into Python.
"""

from __future__ import annotations

import json
import math
import os
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import duckdb

from engagesync.client.streams import COLUMN_TYPES, StreamSpec
from engagesync.errors import UserError

ENGINE_SCHEMA = "_engagesync"
LEDGER_STATUSES = frozenset({"pending", "sent", "done", "unknown", "rejected"})
RUN_KINDS = frozenset({"pull", "push"})
#: Rows per INSERT statement inside one page's transaction (bounds the size of the JSON parameter).
_CHUNK_ROWS = 2000
_FETCH_ROWS = 1000
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_TRUE = frozenset({"true", "t", "1", "yes", "y"})
_FALSE = frozenset({"false", "f", "0", "no", "n"})

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
    memory = os.environ.get("ENGAGESYNC_DUCKDB_MEMORY", "256MB")
    threads = os.environ.get("ENGAGESYNC_DUCKDB_THREADS", "1")
    if not threads.strip().isdigit() or int(threads) < 1:
        raise StoreOpenError(f"ENGAGESYNC_DUCKDB_THREADS={threads!r} is not a whole number >= 1; set it, e.g., to 1")
    try:
        # DuckDB caches up to 80% of RAM as the file grows; a fixed ceiling keeps a long pull flat.
        return duckdb.connect(path, config={"memory_limit": memory, "threads": int(threads)})
    except duckdb.Error as exc:
        if re.search(r"Memory|memory_limit", str(exc)):
            raise StoreOpenError(
                f"ENGAGESYNC_DUCKDB_MEMORY={memory!r} is not a memory size; set it, e.g., to 256MB or 1GB"
            ) from exc
        raise StoreOpenError.explain(path, exc) from exc


class CoercionError(StoreError, ValueError):
    """A record value that does not fit its column's type."""

    def __init__(self, stream: str, key: Any, field: str, value: Any, type_: str, reason: str) -> None:
        self.stream, self.key, self.field, self.value, self.type, self.reason = stream, key, field, value, type_, reason
        shown = repr(value)
        if len(shown) > 200:
            shown = shown[:200] + "..."
        super().__init__(f"stream {stream!r}, record {key}: field {field!r} = {shown} is not a valid {type_}: {reason}")


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


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return str(value)


def _loads(text: Any) -> Any:
    return json.loads(text) if isinstance(text, str) else text


# -- coercion ------------------------------------------------------------------------------------
def _to_varchar(value: Any) -> Any:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, dict | list):
        return _dumps(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def _to_bigint(value: Any) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        result = value
    elif isinstance(value, float):
        if not value.is_integer():
            raise ValueError("has a fractional part")
        result = int(value)
    elif isinstance(value, str):
        text = value.strip()
        try:
            result = int(text)
        except ValueError:
            as_float = float(text)  # "12.0" is fine, "12.5" and "abc" are not
            if not as_float.is_integer():
                raise ValueError("has a fractional part") from None
            result = int(as_float)
    else:
        raise ValueError(f"a {type(value).__name__} is not a number")
    if not _INT64_MIN <= result <= _INT64_MAX:
        raise ValueError("out of the 64-bit range")
    return result


def _to_double(value: Any) -> float:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        result = float(value)
    elif isinstance(value, str):
        result = float(value.strip())
    else:
        raise ValueError(f"a {type(value).__name__} is not a number")
    if not math.isfinite(result):
        raise ValueError("not a finite number")
    return result


def _to_boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise ValueError("expected true/false")


_ISO_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


def _to_timestamp(value: Any) -> str:
    """ISO text (``Z`` or offsets allowed), ``datetime``/``date`` or epoch seconds -> naive UTC ISO text."""
    if isinstance(value, str) and len(value) == 20 and _ISO_UTC.fullmatch(value):
        return f"{value[:10]} {value[11:19]}"  # the common case (whole-second UTC), without datetime parsing
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        seconds = value / 1000 if abs(value) > 1e11 else value  # epoch milliseconds are common too
        moment = datetime.fromtimestamp(seconds, UTC)
    elif isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        moment = datetime.fromisoformat(text)
    else:
        raise ValueError(f"a {type(value).__name__} is not a timestamp")
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.isoformat(sep=" ")


def _to_json(value: Any) -> Any:
    return value  # serialised with the page; JSON columns keep the value's JSON form


#: The temporary table a page chunk is staged in before it is merged into its stream's table.
_STAGE = "_engagesync_page"
_PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
#: ISO 8601 instants with an explicit zone (``Z`` or ``±HH:MM``), seconds, optional fraction: the forms
#: DuckDB's TIMESTAMPTZ cast reads exactly as ``_to_timestamp`` does.
_ISO_INSTANT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?(Z|[+-]\d\d:\d\d)")
#: Values that need no coercion, by column type: for these DuckDB's cast of the JSON text gives
#: exactly what the coercer would (a timestamp only in its whole-second UTC form).
_FAST_CHECK: dict[str, Callable[[Any], bool]] = {
    "VARCHAR": lambda v: type(v) is str or (type(v) is int and _INT64_MIN <= v <= _INT64_MAX),
    "BIGINT": lambda v: type(v) is int and _INT64_MIN <= v <= _INT64_MAX,
    "DOUBLE": lambda v: (type(v) is float and math.isfinite(v)) or (type(v) is int and abs(v) < 2**53),
    "BOOLEAN": lambda v: type(v) is bool,
    "TIMESTAMP": lambda v: type(v) is str and _ISO_INSTANT.fullmatch(v) is not None,
    "JSON": lambda v: True,
}
#: How the bulk path reads each column from the record parsed once by ``json_transform`` (as ``u``):
#: the JSON type it is read as, and the expression that finishes it.
#: Per column type, the Python type whose values need no check at all (the common case, kept cheap).
_PLAIN_TYPE: dict[str, type] = {"VARCHAR": str, "BOOLEAN": bool}
_FAST_EXTRACT: dict[str, tuple[str, str]] = {
    "VARCHAR": ("VARCHAR", "{field}"),
    "BIGINT": ("BIGINT", "{field}"),
    "DOUBLE": ("DOUBLE", "{field}"),
    "BOOLEAN": ("BOOLEAN", "{field}"),
    # the instant in UTC, whatever the session's time zone (epoch microseconds carry no zone)
    "TIMESTAMP": ("VARCHAR", "make_timestamp(epoch_us(CAST({field} AS TIMESTAMPTZ)))"),
    "JSON": ("JSON", "CASE WHEN json_type({field}) = 'NULL' THEN NULL ELSE {field} END"),
}

COERCERS: dict[str, Callable[[Any], Any]] = {
    "VARCHAR": _to_varchar,
    "BIGINT": _to_bigint,
    "DOUBLE": _to_double,
    "BOOLEAN": _to_boolean,
    "TIMESTAMP": _to_timestamp,
    "JSON": _to_json,
}


@dataclass(frozen=True)
class _TablePlan:
    """Everything needed to upsert one stream's pages, computed once per (connection, stream)."""

    columns: tuple[str, ...]
    types: tuple[str, ...]
    coercers: tuple[Callable[[Any], Any], ...]
    pk_index: tuple[int, ...]
    structure: str
    stage_sql: str  # coerced rows (a JSON array shaped by ``structure``) -> the staging table
    #: The bulk path for pages whose values already have their column's JSON type (the usual case):
    #: only the raw records are serialised, and DuckDB extracts and casts the columns itself.
    fast_stage_sql: str | None = None
    fast_checks: tuple[Callable[[Any], bool], ...] = ()
    #: Statements moving the staged chunk into the table (``?`` = the sync time, on the INSERT).
    apply: tuple[str, ...] = ()

    @property
    def fields(self) -> list[tuple[str, str, str, Callable[[Any], Any]]]:
        """(row key, column, type, coercer) per column, in order."""
        return [
            (f"c{i}", c, t, f) for i, (c, t, f) in enumerate(zip(self.columns, self.types, self.coercers, strict=True))
        ]

    @property
    def pk_names(self) -> list[str]:
        return [f"c{i}" for i in self.pk_index]


# -- rows returned to callers --------------------------------------------------------------------
@dataclass(frozen=True)
class LedgerEntry:
    connection: str
    action: str
    key: str
    status: str
    remote_id: str | None
    request: Any
    response: Any
    attempts: int
    updated_at: datetime


@dataclass(frozen=True)
class LedgerWrite:
    """One ledger change; ``None`` fields keep the entry's previous value, ``attempt`` counts a send."""

    key: str
    status: str
    remote_id: str | None = None
    request: Any = None
    response: Any = None
    attempt: bool = False


@dataclass(frozen=True)
class RejectWrite:
    key: str | None
    record: Any
    field: str | None
    reason: str


@dataclass(frozen=True)
class ResponseWrite:
    key: str | None
    status_code: int | None
    body: Any


@dataclass(frozen=True)
class Reject:
    id: int
    connection: str
    action: str
    key: str | None
    record: Any
    field: str | None
    reason: str | None
    status: str
    created_at: datetime
    retried_at: datetime | None


@dataclass(frozen=True)
class Response:
    id: int
    connection: str
    action: str
    key: str | None
    status_code: int | None
    body: Any
    at: datetime


@dataclass(frozen=True)
class Run:
    id: int
    connection: str
    kind: str
    target: str | None
    started_at: datetime
    finished_at: datetime | None
    status: str
    counts: Any


class Store:
    """A DuckDB file with one schema per connection and the engine tables in ``_engagesync``."""

    def __init__(self, path: str = "engagesync.duckdb") -> None:
        """Open (or create) the store; a file that cannot be used raises ``StoreOpenError`` saying why."""
        self.path = path
        self._lock = threading.RLock()
        self._con = _connect(path)
        self._plans: dict[tuple[str, str], _TablePlan] = {}
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

    def __enter__(self) -> Store:
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
            cursor.execute(sql, params)
            names = [d[0] for d in cursor.description or []]
            while rows := cursor.fetchmany(chunk):
                yield names, rows
        finally:
            cursor.close()

    # -- stream tables -----------------------------------------------------------------------------
    def ensure_table(self, connection: str, spec: StreamSpec) -> str:
        """Create (or extend with new columns) the stream's table; return its quoted schema.table name."""
        self._plan(connection, spec)
        return table_for(connection, spec.name)

    def _plan(self, connection: str, spec: StreamSpec) -> _TablePlan:
        key = (connection, spec.name)
        plan = self._plans.get(key)
        if plan is not None:
            return plan
        columns = tuple(spec.columns)
        for name in ("_raw", "_synced_at"):
            if name in spec.columns:
                raise StoreError(f"stream {spec.name!r}: column {name!r} is reserved by the store")
        types = tuple(spec.columns[c].upper() for c in columns)
        for column, type_ in zip(columns, types, strict=True):
            if type_ not in COLUMN_TYPES:
                raise StoreError(
                    f"stream {spec.name!r}: column {column!r} has unsupported type {type_!r} "
                    f"(expected one of {', '.join(sorted(COLUMN_TYPES))})"
                )
        if not spec.primary_key:
            raise StoreError(f"stream {spec.name!r} declares no primary key")
        missing = [k for k in spec.primary_key if k not in spec.columns]
        if missing:
            raise StoreError(f"stream {spec.name!r}: primary key column(s) {missing} are not declared columns")
        schema = f"{self._catalog}.{quote(schema_for(connection))}"
        table = f"{self._catalog}.{table_for(connection, spec.name)}"
        coldefs = ", ".join(f"{quote(c)} {t}" for c, t in zip(columns, types, strict=True))
        pk = ", ".join(quote(k) for k in spec.primary_key)
        with self._lock:
            self._con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
            # No PRIMARY KEY constraint: DuckDB keeps a key's index in memory, so it would grow with every
            # row pulled. Upserts delete the page's keys and insert, inside the page's transaction.
            self._con.execute(f"CREATE TABLE IF NOT EXISTS {table} ({coldefs}, _raw JSON, _synced_at TIMESTAMP)")
            existing = {
                row[0]
                for row in self._con.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ?",
                    [schema_for(connection), sanitize(spec.name)],
                ).fetchall()
            }
            for column, type_ in zip(columns, types, strict=True):
                if column not in existing:  # the connector grew a column: extend, keep the data
                    self._con.execute(f"ALTER TABLE {table} ADD COLUMN {quote(column)} {type_}")
            keyed = bool(
                self._con.execute(  # a table made by an earlier version keeps its constraint
                    "SELECT 1 FROM duckdb_constraints() WHERE schema_name = ? AND table_name = ? "
                    "AND constraint_type = 'PRIMARY KEY'",
                    [schema_for(connection), sanitize(spec.name)],
                ).fetchall()
            )
        fields = [f"c{i}" for i in range(len(columns))]
        structure = _dumps([{**dict(zip(fields, types, strict=True)), "raw": "JSON"}])
        target = ", ".join([*(quote(c) for c in columns), "_raw", "_synced_at"])
        names = ", ".join([*(quote(c) for c in columns), "_raw"])
        stage_sql = (
            f"CREATE OR REPLACE TEMP TABLE {_STAGE} AS SELECT "
            + ", ".join([*(f"u.{f} AS {quote(c)}" for f, c in zip(fields, columns, strict=True)), "u.raw AS _raw"])
            + " FROM (SELECT unnest(from_json_strict(?, ?)) AS u)"
        )
        fast_stage_sql = None
        if all(_PLAIN_NAME.fullmatch(c) for c in columns):
            # one parse per record (json_transform), not one per column: 60 json_extract calls over a
            # 2,000-record chunk would hold hundreds of MB
            shape = _dumps({c: _FAST_EXTRACT[t][0] for c, t in zip(columns, types, strict=True)})
            extracts = ", ".join(
                _FAST_EXTRACT[t][1].format(field=f"u.{quote(c)}") + f" AS {quote(c)}"
                for c, t in zip(columns, types, strict=True)
            )
            fast_stage_sql = (
                f"CREATE OR REPLACE TEMP TABLE {_STAGE} AS SELECT {extracts}, r AS _raw FROM "
                f"(SELECT r, json_transform(r, '{shape}') AS u "
                f"FROM (SELECT unnest(from_json(?, '[\"JSON\"]')) AS r))"
            )
        apply: tuple[str, ...]
        if keyed:
            updates = ", ".join(
                f"{quote(c)} = excluded.{quote(c)}"
                for c in [*columns, "_raw", "_synced_at"]
                if c not in spec.primary_key
            )
            apply = (
                f"INSERT INTO {table} ({target}) SELECT {names}, ?::TIMESTAMP FROM {_STAGE} "
                f"ON CONFLICT ({pk}) DO UPDATE SET {updates}",
            )
        else:
            same = " AND ".join(f"s.{quote(k)} = t.{quote(k)}" for k in spec.primary_key)
            apply = (
                f"DELETE FROM {table} t WHERE EXISTS (SELECT 1 FROM {_STAGE} s WHERE {same})",
                f"INSERT INTO {table} ({target}) SELECT {names}, ?::TIMESTAMP FROM {_STAGE}",
            )
        plan = _TablePlan(
            columns=columns,
            types=types,
            coercers=tuple(COERCERS[t] for t in types),
            pk_index=tuple(columns.index(k) for k in spec.primary_key),
            structure=structure,
            stage_sql=stage_sql,
            fast_stage_sql=fast_stage_sql,
            fast_checks=tuple(_FAST_CHECK[t] for t in types),
            apply=apply,
        )
        self._plans[key] = plan
        return plan

    def _rows(self, spec: StreamSpec, plan: _TablePlan, records: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """Coerce records into upsert rows, deduplicated by primary key (the last occurrence wins)."""
        rows: dict[tuple[Any, ...], dict[str, Any]] = {}
        fields, pk_names = plan.fields, plan.pk_names
        for record in records:
            if not isinstance(record, dict):
                raise StoreError(f"stream {spec.name!r}: a record must be an object, got {type(record).__name__}")
            row: dict[str, Any] = {}
            for name, column, type_, coerce in fields:
                value = record.get(column)
                if value is not None:
                    try:
                        value = coerce(value)
                    except (ValueError, TypeError, OverflowError) as exc:
                        raise CoercionError(spec.name, _key_text(spec, record), column, value, type_, str(exc)) from exc
                row[name] = value
            key = tuple(row[name] for name in pk_names)
            if any(part is None for part in key):
                raise StoreError(
                    f"stream {spec.name!r}: record has no primary key "
                    f"{'/'.join(spec.primary_key)}: {_dumps(record)[:200]}"
                )
            row["raw"] = record
            rows[key] = row
        return list(rows.values())

    def commit_page(
        self, connection: str, spec: StreamSpec, records: Sequence[dict[str, Any]], state: dict[str, Any] | None
    ) -> int:
        """Upsert a page's records and write the stream's state in one transaction; return rows written.

        Values are coerced before anything is written: a value that does not fit raises
        ``CoercionError`` and the store is left untouched.
        """
        plan = self._plan(connection, spec)
        rows: list[dict[str, Any]] | None = self._fast_rows(spec, plan, records)
        if rows is not None:
            sql, extra = plan.fast_stage_sql, []
        else:
            rows = self._rows(spec, plan, records)
            sql, extra = plan.stage_sql, [plan.structure]
        assert sql is not None
        payloads: list[str] = []
        for start in range(0, len(rows), _CHUNK_ROWS):
            try:
                payloads.append(_dumps(rows[start : start + _CHUNK_ROWS]))
            except ValueError as exc:  # NaN/Infinity somewhere in a raw record
                raise StoreError(f"stream {spec.name!r}: a record cannot be stored as JSON: {exc}") from exc
        now = utcnow()
        with self.transaction() as con:
            for payload in payloads:
                self._upsert(con, sql, [payload, *extra])
                for statement in plan.apply:
                    con.execute(statement, [now] if "?" in statement else [])
            self._write_state(con, connection, spec.name, state, now)
        return len(rows)

    def _fast_rows(
        self, spec: StreamSpec, plan: _TablePlan, records: Sequence[dict[str, Any]]
    ) -> list[dict[str, Any]] | None:
        """The records deduplicated by primary key if every value already fits its column, else None
        (the page then takes the coercing path, which converts what it can and names what it cannot)."""
        if plan.fast_stage_sql is None:
            return None
        # (column, a type taken as is, the check for anything else); JSON columns take anything
        checks = [
            (column, _PLAIN_TYPE.get(type_), check)
            for column, type_, check in zip(plan.columns, plan.types, plan.fast_checks, strict=True)
            if type_ != "JSON"
        ]
        pk_columns = [plan.columns[i] for i in plan.pk_index]
        unique: dict[tuple[Any, ...], dict[str, Any]] = {}
        for record in records:
            if not isinstance(record, dict):
                return None
            get = record.get
            for column, plain, check in checks:
                value = get(column)
                if value is None or type(value) is plain:
                    continue
                if not check(value):
                    return None
            key = tuple(record.get(c) for c in pk_columns)
            if None in key:
                return None
            unique[key] = record
        return list(unique.values())

    def _upsert(self, con: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> None:
        con.execute(sql, params)

    def _write_state(
        self, con: duckdb.DuckDBPyConnection, connection: str, stream: str, state: dict[str, Any] | None, now: datetime
    ) -> None:
        con.execute(
            f"INSERT INTO {ENGINE_SCHEMA}.state VALUES (?, ?, ?::JSON, ?) ON CONFLICT (connection, stream) "
            "DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at",
            [connection, stream, None if state is None else _dumps(state), now],
        )

    def count(self, connection: str, stream: str) -> int:
        """Rows in a stream's table (0 if it does not exist yet)."""
        if not self.has_table(connection, stream):
            return 0
        rows = self.execute(f"SELECT count(*) FROM {self._catalog}.{table_for(connection, stream)}")
        return int(rows[0][0])

    def has_table(self, connection: str, stream: str) -> bool:
        rows = self.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
            [schema_for(connection), sanitize(stream)],
        )
        return bool(rows[0][0])

    # -- state -------------------------------------------------------------------------------------
    def get_state(self, connection: str, stream: str) -> dict[str, Any] | None:
        rows = self.execute(
            f"SELECT state FROM {ENGINE_SCHEMA}.state WHERE connection = ? AND stream = ?", [connection, stream]
        )
        if not rows or rows[0][0] is None:
            return None
        state = _loads(rows[0][0])
        return state if isinstance(state, dict) else None

    def set_state(self, connection: str, stream: str, state: dict[str, Any] | None) -> None:
        with self.transaction() as con:
            self._write_state(con, connection, stream, state, utcnow())

    def states(self, connection: str) -> dict[str, dict[str, Any] | None]:
        """Every stream's stored state for a connection (one small row per stream)."""
        rows = self.execute(
            f"SELECT stream, state FROM {ENGINE_SCHEMA}.state WHERE connection = ? ORDER BY stream", [connection]
        )
        return {stream: _loads(state) for stream, state in rows}

    def reset_state(self, connection: str, stream: str | None = None) -> None:
        """Forget the cursor of one stream (or all of a connection's): the next pull starts over."""
        if stream is None:
            self.execute(f"DELETE FROM {ENGINE_SCHEMA}.state WHERE connection = ?", [connection])
        else:
            self.execute(f"DELETE FROM {ENGINE_SCHEMA}.state WHERE connection = ? AND stream = ?", [connection, stream])

    # -- runs --------------------------------------------------------------------------------------
    def run_start(self, connection: str, kind: str, target: str | None = None) -> int:
        if kind not in RUN_KINDS:
            raise StoreError(f"run kind must be one of {sorted(RUN_KINDS)}, not {kind!r}")
        rows = self.execute(
            f"INSERT INTO {ENGINE_SCHEMA}.runs (connection, kind, target, started_at, status) "
            "VALUES (?, ?, ?, ?, 'running') RETURNING id",
            [connection, kind, target, utcnow()],
        )
        return int(rows[0][0])

    def run_finish(self, run_id: int, status: str, counts: dict[str, Any] | None = None) -> None:
        self.execute(
            f"UPDATE {ENGINE_SCHEMA}.runs SET finished_at = ?, status = ?, counts = ?::JSON WHERE id = ?",
            [utcnow(), status, None if counts is None else _dumps(counts), run_id],
        )

    def runs(self, connection: str | None = None, kind: str | None = None, limit: int = 100) -> list[Run]:
        """The most recent runs first."""
        where, params = _filters(connection=connection, kind=kind)
        rows = self.execute(
            f"SELECT id, connection, kind, target, started_at, finished_at, status, counts "
            f"FROM {ENGINE_SCHEMA}.runs {where} ORDER BY id DESC LIMIT {int(limit)}",
            params,
        )
        return [
            Run(
                id=row[0],
                connection=row[1],
                kind=row[2],
                target=row[3],
                started_at=row[4],
                finished_at=row[5],
                status=row[6],
                counts=_loads(row[7]),
            )
            for row in rows
        ]

    # -- ledger ------------------------------------------------------------------------------------
    def ledger_get(self, connection: str, action: str, key: str) -> LedgerEntry | None:
        rows = self.execute(
            f"SELECT {_LEDGER_COLS} FROM {ENGINE_SCHEMA}.ledger WHERE connection = ? AND action = ? AND key = ?",
            [connection, action, key],
        )
        return _ledger_entry(rows[0]) if rows else None

    def ledger_get_many(self, connection: str, action: str, keys: Sequence[str]) -> dict[str, LedgerEntry]:
        """The ledger entries of ``keys`` that exist, in one query."""
        if not keys:
            return {}
        rows = self.execute(
            f"SELECT {_LEDGER_COLS} FROM {ENGINE_SCHEMA}.ledger WHERE connection = ? AND action = ? "
            "AND key IN (SELECT unnest(?::VARCHAR[]))",
            [connection, action, list(keys)],
        )
        return {entry.key: entry for entry in map(_ledger_entry, rows)}

    def ledger_put(
        self,
        connection: str,
        action: str,
        key: str,
        status: str,
        *,
        remote_id: str | int | None = None,
        request: Any = None,
        response: Any = None,
        attempt: bool = False,
    ) -> LedgerEntry:
        """Insert or update one ledger entry and return it (``attempt=True`` counts one more send)."""
        self.write_batch(
            connection,
            action,
            ledger=[
                LedgerWrite(key, status, None if remote_id is None else str(remote_id), request, response, attempt)
            ],
        )
        entry = self.ledger_get(connection, action, key)
        assert entry is not None
        return entry

    def write_batch(
        self,
        connection: str,
        action: str,
        *,
        ledger: Sequence[LedgerWrite] = (),
        rejects: Sequence[RejectWrite] = (),
        responses: Sequence[ResponseWrite] = (),
    ) -> list[int]:
        """Ledger changes, rejects and captured responses of one push batch: one transaction, one
        statement per table (a statement per record costs ~100x more). Returns the new reject ids."""
        for write in ledger:
            if write.status not in LEDGER_STATUSES:
                raise StoreError(f"ledger status must be one of {sorted(LEDGER_STATUSES)}, not {write.status!r}")
        merged: dict[str, dict[str, Any]] = {}
        for write in ledger:  # one row per key: an upsert may not touch a row twice in one statement
            row = merged.setdefault(write.key, {"key": write.key, "attempts": 0})
            row["status"] = write.status
            for name in ("remote_id", "request", "response"):
                if getattr(write, name) is not None:
                    row[name] = getattr(write, name)
            row["attempts"] += 1 if write.attempt else 0
        now = utcnow()
        ids: list[int] = []
        with self.transaction() as con:
            if merged:
                con.execute(_LEDGER_UPSERT, [connection, action, now, _dumps(list(merged.values()))])
            if rejects:
                ids = [
                    int(r[0])
                    for r in con.execute(
                        _REJECTS_INSERT,
                        [
                            connection,
                            action,
                            now,
                            _dumps(
                                [
                                    {"key": r.key, "record": r.record, "field": r.field, "reason": r.reason}
                                    for r in rejects
                                ]
                            ),
                        ],
                    ).fetchall()
                ]
            if responses:
                con.execute(
                    _RESPONSES_INSERT,
                    [
                        connection,
                        action,
                        now,
                        _dumps([{"key": r.key, "status_code": r.status_code, "body": r.body} for r in responses]),
                    ],
                )
        return ids

    def ledger_entries(
        self, connection: str, action: str | None = None, status: str | None = None
    ) -> Iterator[LedgerEntry]:
        """Stream ledger entries (e.g. every ``unknown`` one to reconcile)."""
        where, params = _filters(connection=connection, action=action, status=status)
        for _, rows in self.iter_query(
            f"SELECT {_LEDGER_COLS} FROM {ENGINE_SCHEMA}.ledger {where} ORDER BY updated_at, key", params
        ):
            yield from (_ledger_entry(row) for row in rows)

    def ledger_counts(self, connection: str, action: str | None = None) -> dict[str, int]:
        where, params = _filters(connection=connection, action=action)
        rows = self.execute(f"SELECT status, count(*) FROM {ENGINE_SCHEMA}.ledger {where} GROUP BY status", params)
        return {status: int(n) for status, n in rows}

    # -- rejects -----------------------------------------------------------------------------------
    def reject(self, connection: str, action: str, key: str | None, record: Any, field: str | None, reason: str) -> int:
        """Record a rejected record (with the offending field when known and the vendor's reason)."""
        return self.write_batch(connection, action, rejects=[RejectWrite(key, record, field, reason)])[0]

    def rejects(self, connection: str, action: str | None = None, status: str | None = "open") -> Iterator[Reject]:
        """Stream rejects, oldest first (``status=None``: all)."""
        where, params = _filters(connection=connection, action=action, status=status)
        sql = (
            f"SELECT id, connection, action, key, record, field, reason, status, created_at, retried_at "
            f"FROM {ENGINE_SCHEMA}.rejects {where} ORDER BY id"
        )
        for _, rows in self.iter_query(sql, params):
            for row in rows:
                yield Reject(row[0], row[1], row[2], row[3], _loads(row[4]), *row[5:])

    def has_open_reject(self, connection: str, action: str, key: str) -> bool:
        """Whether ``key`` already has an open reject (a re-run must not file the same reject twice)."""
        rows = self.execute(
            f"SELECT 1 FROM {ENGINE_SCHEMA}.rejects WHERE connection = ? AND action = ? AND key = ? "
            "AND status = 'open' LIMIT 1",
            [connection, action, key],
        )
        return bool(rows)

    def reject_count(self, connection: str, action: str | None = None, status: str | None = "open") -> int:
        where, params = _filters(connection=connection, action=action, status=status)
        return int(self.execute(f"SELECT count(*) FROM {ENGINE_SCHEMA}.rejects {where}", params)[0][0])

    def mark_reject_retried(self, reject_id: int, status: str = "retried") -> None:
        """Close a reject after it was sent again (``status`` may also be e.g. ``resolved``)."""
        self.execute(
            f"UPDATE {ENGINE_SCHEMA}.rejects SET status = ?, retried_at = ? WHERE id = ?", [status, utcnow(), reject_id]
        )

    # -- responses ---------------------------------------------------------------------------------
    def capture_response(
        self, connection: str, action: str, key: str | None, status_code: int | None, body: Any
    ) -> None:
        self.write_batch(connection, action, responses=[ResponseWrite(key, status_code, body)])

    def responses(self, connection: str, action: str | None = None) -> Iterator[Response]:
        where, params = _filters(connection=connection, action=action)
        for _, rows in self.iter_query(
            f'SELECT id, connection, action, key, status_code, body, "at" '
            f"FROM {ENGINE_SCHEMA}.responses {where} ORDER BY id",
            params,
        ):
            for row in rows:
                yield Response(
                    id=row[0],
                    connection=row[1],
                    action=row[2],
                    key=row[3],
                    status_code=row[4],
                    body=_loads(row[5]),
                    at=row[6],
                )


_LEDGER_COLS = "connection, action, key, status, remote_id, request, response, attempts, updated_at"
_LEDGER_UPSERT = (
    f"INSERT INTO {ENGINE_SCHEMA}.ledger AS l SELECT ?, ?, u.key, u.status, u.remote_id, u.request, u.response, "
    'u.attempts, ?::TIMESTAMP FROM (SELECT unnest(from_json(?, \'[{"key": "VARCHAR", "status": "VARCHAR", '
    '"remote_id": "VARCHAR", "request": "JSON", "response": "JSON", "attempts": "INTEGER"}]\') '
    ") AS u) ON CONFLICT (connection, action, key) DO UPDATE SET status = excluded.status, "
    "remote_id = coalesce(excluded.remote_id, l.remote_id), request = coalesce(excluded.request, l.request), "
    "response = coalesce(excluded.response, l.response), attempts = l.attempts + excluded.attempts, "
    "updated_at = excluded.updated_at"
)
_REJECTS_INSERT = (
    f"INSERT INTO {ENGINE_SCHEMA}.rejects (connection, action, created_at, key, record, field, reason, status) "
    "SELECT ?, ?, ?::TIMESTAMP, u.key, u.record, u.field, u.reason, 'open' FROM (SELECT unnest(from_json(?, "
    '\'[{"key": "VARCHAR", "record": "JSON", "field": "VARCHAR", "reason": "VARCHAR"}]\')) AS u) '
    "RETURNING id"
)
_RESPONSES_INSERT = (
    f'INSERT INTO {ENGINE_SCHEMA}.responses (connection, action, "at", key, status_code, body) '
    "SELECT ?, ?, ?::TIMESTAMP, u.key, u.status_code, u.body FROM (SELECT unnest(from_json(?, "
    '\'[{"key": "VARCHAR", "status_code": "INTEGER", "body": "JSON"}]\')) AS u)'
)


def _ledger_entry(row: tuple[Any, ...]) -> LedgerEntry:
    return LedgerEntry(
        connection=row[0],
        action=row[1],
        key=row[2],
        status=row[3],
        remote_id=row[4],
        request=_loads(row[5]),
        response=_loads(row[6]),
        attempts=int(row[7]),
        updated_at=row[8],
    )


def _filters(**values: str | None) -> tuple[str, list[Any]]:
    clauses = [f"{name} = ?" for name, value in values.items() if value is not None]
    params = [value for value in values.values() if value is not None]
    return ("WHERE " + " AND ".join(clauses)) if clauses else "", params


def _key_text(spec: StreamSpec, record: dict[str, Any]) -> str:
    return ", ".join(f"{k}={record.get(k)!r}" for k in spec.primary_key)
