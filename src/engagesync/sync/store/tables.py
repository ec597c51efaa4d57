"""Stream tables: one per (connection, stream), declared columns plus ``_raw`` and ``_synced_at``. A page
is staged, its keys deleted and its rows inserted, with the stream's state, in one transaction."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import duckdb

from ...client.streams import COLUMN_TYPES, StreamSpec
from .base import StoreBase, StoreError, _dumps, quote, sanitize, schema_for, table_for, utcnow
from .coerce import _FAST_CHECK, _FAST_EXTRACT, _PLAIN_TYPE, COERCERS, CoercionError

#: Rows per INSERT statement inside one page's transaction (bounds the size of the JSON parameter).
_CHUNK_ROWS = 2000
#: The temporary table a page chunk is staged in before it is merged into its stream's table.
_STAGE = "_engagesync_page"
_PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


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


class StreamTables(StoreBase):
    """The pulled data: one table per stream."""

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


def _key_text(spec: StreamSpec, record: dict[str, Any]) -> str:
    return ", ".join(f"{k}={record.get(k)!r}" for k in spec.primary_key)
