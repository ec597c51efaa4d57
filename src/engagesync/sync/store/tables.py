"""Stream tables: one per (connection, stream), declared columns plus ``_raw`` and ``_synced_at``. A page
is staged, its keys deleted and its rows inserted, with the stream's state, in one transaction."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb

from ...client.streams import COLUMN_TYPES, Shape, StreamSpec, parse_type, type_name
from .base import StoreBase, StoreError, _dumps, dumps_rows, quote, sanitize, schema_for, table_for, utcnow
from .coerce import _PLAIN_TYPE, CoercionError, coercer, fast_check, fast_extract, staged

#: Rows per INSERT statement inside one page's transaction (bounds the size of the JSON parameter).
_CHUNK_ROWS = 2000
#: ...and at most about this many bytes of JSON: a larger parameter is one allocation that must fit
#: under DuckDB's memory ceiling (base.DEFAULT_MEMORY), so a chunk of long records is split in halves.
_CHUNK_BYTES = 4 << 20
#: The temporary table a page chunk is staged in before it is merged into its stream's table.
_STAGE = "_engagesync_page"
#: Columns the store adds to every stream table: the record as JSON, when the row was last written
#: (only when its content changed), the content hash compared on every write, when a full refresh last
#: saw it, and when a full refresh found it gone (a tombstone; rows are never deleted).
META_COLUMNS = {
    "_raw": "JSON",
    "_synced_at": "TIMESTAMPTZ",
    "_hash": "VARCHAR",
    "_seen_at": "TIMESTAMPTZ",
    "_deleted_at": "TIMESTAMPTZ",
}
META_DOCS = {
    "_raw": "The record as the API sent it (JSON), every field included",
    "_synced_at": "When this row was last written: its content (the _hash) changed",
    "_hash": "md5 of the record's JSON: a pull writes only records whose hash changed",
    "_seen_at": "When a full refresh (pull --full-refresh) last read this record",
    "_deleted_at": "When a full refresh found this record gone from the API (a tombstone; the row stays)",
}


@dataclass(frozen=True)
class PageWrite:
    """What one ``commit_page`` did: records read (after deduplication by key), and of those how many
    were new, changed (rewritten) or unchanged (same content hash: not written)."""

    read: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0

    @property
    def written(self) -> int:
        return self.new + self.changed


_PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
#: The content hash of a staged record: md5 of its JSON text, as serialised once for the page (both
#: paths stage the same text), computed by DuckDB so unchanged records cost no Python work.
_HASH = "md5(CAST({} AS VARCHAR)) AS _hash"


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
    #: Moving the staged chunk into the table: drop the stored rows whose content changed (returns how
    #: many), mark the unchanged ones seen (full refresh only), insert the staged rows not stored.
    drop_changed: str = ""
    mark_seen: str = ""
    insert_new: str = ""
    #: Rows a full refresh did not see since it started get a tombstone (``?`` = now, pass start).
    sweep: str = ""

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
        for name in META_COLUMNS:
            if name in spec.columns:
                raise StoreError(f"stream {spec.name!r}: column {name!r} is reserved by the store")
        shapes: list[Shape] = []
        for column in columns:
            try:
                shapes.append(parse_type(spec.columns[column]))
            except ValueError as exc:
                raise StoreError(
                    f"stream {spec.name!r}: column {column!r}: {exc} (expected one of "
                    f"{', '.join(sorted(COLUMN_TYPES))}, a list T[] or a STRUCT(name T, ...))"
                ) from exc
        types = tuple(type_name(shape) for shape in shapes)
        if not spec.primary_key:
            raise StoreError(f"stream {spec.name!r} declares no primary key")
        missing = [k for k in spec.primary_key if k not in spec.columns]
        if missing:
            raise StoreError(f"stream {spec.name!r}: primary key column(s) {missing} are not declared columns")
        schema = f"{self._catalog}.{quote(schema_for(connection))}"
        table = f"{self._catalog}.{table_for(connection, spec.name)}"
        coldefs = ", ".join(f"{quote(c)} {t}" for c, t in zip(columns, types, strict=True))
        # one transaction for all the DDL and comments: one WAL sync instead of one per statement
        with self.transaction():
            self._con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
            # No PRIMARY KEY constraint: DuckDB keeps a key's index in memory, so it would grow with every
            # row pulled. Upserts delete the page's keys and insert, inside the page's transaction.
            meta = ", ".join(f"{c} {t}" for c, t in META_COLUMNS.items())
            self._con.execute(f"CREATE TABLE IF NOT EXISTS {table} ({coldefs}, {meta})")
            existing = dict(
                self._con.execute(
                    "SELECT column_name, data_type FROM information_schema.columns "
                    "WHERE table_schema = ? AND table_name = ?",
                    [schema_for(connection), sanitize(spec.name)],
                ).fetchall()
            )
            declared = [*zip(columns, shapes, strict=True), *((c, parse_type(t)) for c, t in META_COLUMNS.items())]
            for column, shape in declared:
                if column not in existing:  # the connector (or the store) grew a column: extend, keep the data
                    self._con.execute(f"ALTER TABLE {table} ADD COLUMN {quote(column)} {type_name(shape)}")
                elif (using := _migration(column, existing[column], shape)) is not None:
                    self._con.execute(
                        f"ALTER TABLE {table} ALTER COLUMN {quote(column)} SET DATA TYPE {type_name(shape)} "
                        f"USING {using}"
                    )
            if "_hash" not in existing:  # rows written before content hashes: hash what is stored
                self._con.execute(f"UPDATE {table} SET _hash = md5(CAST(_raw AS VARCHAR)) WHERE _hash IS NULL")
            self._comment(table, spec)
            keyed = self._con.execute(
                "SELECT 1 FROM duckdb_constraints() WHERE schema_name = ? AND table_name = ? "
                "AND constraint_type = 'PRIMARY KEY'",
                [schema_for(connection), sanitize(spec.name)],
            ).fetchall()
        if keyed:
            with self._lock:
                self._drop_key(table, schema, sanitize(spec.name))
        fields = [f"c{i}" for i in range(len(columns))]
        structure = _dumps([{**{f: staged(shape) for f, shape in zip(fields, shapes, strict=True)}, "raw": "JSON"}])
        target = ", ".join([*(quote(c) for c in columns), "_raw", "_synced_at"])
        names = ", ".join([*(quote(c) for c in columns), "_raw"])
        stage_sql = (
            f"CREATE OR REPLACE TEMP TABLE {_STAGE} AS SELECT "
            + ", ".join(
                [
                    *(f"u.{f} AS {quote(c)}" for f, c in zip(fields, columns, strict=True)),
                    "u.raw AS _raw",
                    _HASH.format("u.raw"),
                ]
            )
            + " FROM (SELECT unnest(from_json_strict(?, ?)) AS u)"
        )
        fast_stage_sql = None
        if all(_PLAIN_NAME.fullmatch(c) for c in columns):
            # one parse per record (json_transform), not one per column: 60 json_extract calls over a
            # 2,000-record chunk would hold hundreds of MB
            shape = _dumps({c: fast_extract(t)[0] for c, t in zip(columns, shapes, strict=True)}).replace("'", "''")
            extracts = ", ".join(
                fast_extract(t)[1].format(field=f"u.{quote(c)}") + f" AS {quote(c)}"
                for c, t in zip(columns, shapes, strict=True)
            )
            fast_stage_sql = (
                f"CREATE OR REPLACE TEMP TABLE {_STAGE} AS SELECT {extracts}, r AS _raw, {_HASH.format('r')} FROM "
                f"(SELECT r, json_transform(r, '{shape}') AS u "
                f"FROM (SELECT unnest(from_json(?, '[\"JSON\"]')) AS r))"
            )
        same = " AND ".join(f"s.{quote(k)} = t.{quote(k)}" for k in spec.primary_key)
        moved = "(s._hash IS DISTINCT FROM t._hash OR t._deleted_at IS NOT NULL)"
        insert = f"INSERT INTO {table} ({target}, _hash, _seen_at) SELECT {names}, ?, _hash, ? FROM {_STAGE} s"
        insert_new = f"{insert} WHERE NOT EXISTS (SELECT 1 FROM {table} t WHERE {same})"
        plan = _TablePlan(
            drop_changed=f"DELETE FROM {table} t WHERE EXISTS (SELECT 1 FROM {_STAGE} s WHERE {same} AND {moved})",
            mark_seen=f"UPDATE {table} t SET _seen_at = ? FROM {_STAGE} s WHERE {same}",
            insert_new=insert_new,
            sweep=(
                f"UPDATE {table} SET _deleted_at = ? WHERE _deleted_at IS NULL AND (_seen_at IS NULL OR _seen_at < ?)"
            ),
            columns=columns,
            types=types,
            coercers=tuple(coercer(shape) for shape in shapes),
            pk_index=tuple(columns.index(k) for k in spec.primary_key),
            structure=structure,
            stage_sql=stage_sql,
            fast_stage_sql=fast_stage_sql,
            fast_checks=tuple(fast_check(shape) for shape in shapes),
        )
        self._plans[key] = plan
        return plan

    def _comment(self, table: str, spec: StreamSpec) -> None:
        """Table and column comments from the spec, so ``DESCRIBE`` and any SQL client explain them."""
        if spec.description:
            self._con.execute(f"COMMENT ON TABLE {table} IS {_literal(spec.description)}")
        for column, text in [*spec.docs.items(), *META_DOCS.items()]:
            if column in spec.columns or column in META_DOCS:
                self._con.execute(f"COMMENT ON COLUMN {table}.{quote(column)} IS {_literal(text)}")

    def _drop_key(self, table: str, schema: str, name: str) -> None:
        """Rebuild a table made by an earlier version with a PRIMARY KEY (whose index DuckDB holds in
        memory) as a plain one, in one transaction: same rows, same columns."""
        rebuilt = f"{schema}.{quote(name + '_rebuild')}"
        self._con.execute("BEGIN TRANSACTION")
        try:
            self._con.execute(f"CREATE OR REPLACE TABLE {rebuilt} AS SELECT * FROM {table}")
            self._con.execute(f"DROP TABLE {table}")
            self._con.execute(f"ALTER TABLE {rebuilt} RENAME TO {quote(name)}")
        except BaseException:
            self._con.execute("ROLLBACK")
            raise
        self._con.execute("COMMIT")

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
        self,
        connection: str,
        spec: StreamSpec,
        records: Sequence[dict[str, Any]],
        state: dict[str, Any] | None,
        *,
        seen: bool = False,
        sweep_before: datetime | None = None,
    ) -> PageWrite:
        """Write a page's new and changed records and the stream's state in one transaction.

        Each record's content hash (of its JSON) is compared with the stored row's: unchanged records
        are not written (``seen`` only stamps ``_seen_at``, for a full refresh), changed ones replace
        the stored row, tombstoned ones come back. ``sweep_before`` (a full refresh's start, on its
        last page) tombstones every row not seen since then. Values are coerced before anything is
        written: a value that does not fit raises ``CoercionError`` and the store is left untouched.
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
                payloads.extend(_payloads(rows[start : start + _CHUNK_ROWS]))
            except ValueError as exc:  # NaN/Infinity somewhere in a raw record
                raise StoreError(f"stream {spec.name!r}: a record cannot be stored as JSON: {exc}") from exc
        now = utcnow()
        seen_at = now if seen else None
        new = changed = 0
        with self.transaction() as con:
            for payload in payloads:
                self._upsert(con, sql, [payload, *extra])
                moved = con.execute(plan.drop_changed).fetchall()[0][0]
                fresh = con.execute(plan.insert_new, [now, seen_at]).fetchall()[0][0] - moved
                new, changed = new + int(fresh), changed + int(moved)
                if seen:
                    con.execute(plan.mark_seen, [now])
            if sweep_before is not None:
                con.execute(plan.sweep, [now, sweep_before])
            self._write_state(con, connection, spec.name, state, now)
        return PageWrite(len(rows), new, changed, len(rows) - new - changed)

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

    def ambiguity(self, connection: str) -> str | None:
        """Why hand-written SQL on this store must name the catalog, or None.

        DuckDB names a database after its file, so in ``big.duckdb`` the name ``big`` is both the catalog
        and connection ``big``'s schema: ``big.messages`` is ambiguous (the engine always qualifies
        fully; people and SQL clients do not). The rule: name the file unlike any connection."""
        catalog = self._catalog.strip('"').replace('""', '"')
        schema = schema_for(connection)
        if catalog.lower() != schema:
            return None
        return (
            f"store file {os.path.basename(self.path)} is named like connection {connection!r}: in SQL write "
            f"{schema}.{schema}.<stream> (catalog.schema.table), or name the store unlike any connection "
            f"(e.g. --store {schema}-data.duckdb)"
        )

    def changed_keys(self, connection: str, spec: StreamSpec, since: datetime) -> list[Any]:
        """Primary keys of the stream's rows written (new or changed) at or after ``since``, in key order:
        the parents an incremental child pass fetches (one value per row, a tuple for composite keys)."""
        if not self.has_table(connection, spec.name):
            return []
        keys = ", ".join(quote(k) for k in spec.primary_key)
        rows = self.execute(
            f"SELECT {keys} FROM {self._catalog}.{table_for(connection, spec.name)} "
            f"WHERE _synced_at >= ? AND _deleted_at IS NULL ORDER BY {keys}",
            [since],
        )
        return [row[0] if len(row) == 1 else row for row in rows]

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


def _payloads(rows: list[dict[str, Any]]) -> list[str]:
    """``rows`` as JSON arrays of at most ``_CHUNK_BYTES`` each (a single larger row stays whole)."""
    payload = dumps_rows(rows)
    if len(payload) <= _CHUNK_BYTES or len(rows) == 1:
        return [payload]
    half = len(rows) // 2
    return [*_payloads(rows[:half]), *_payloads(rows[half:])]


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _migration(column: str, stored: str, shape: Shape) -> str | None:
    """The ``USING`` expression converting a column stored by an earlier version to its declared type,
    or None when it needs none: naive UTC ``TIMESTAMP`` -> ``TIMESTAMPTZ`` (the session is in UTC), and
    ``JSON`` -> a list or struct the schema now fixes (values that do not fit become NULL; ``_raw``
    keeps them)."""
    if shape == "TIMESTAMPTZ" and stored == "TIMESTAMP":
        return f"CAST({quote(column)} AS TIMESTAMPTZ)"
    if isinstance(shape, list | dict) and stored == "JSON":
        return f"json_transform({quote(column)}, {_literal(_dumps(shape))})"
    return None


def _key_text(spec: StreamSpec, record: dict[str, Any]) -> str:
    return ", ".join(f"{k}={record.get(k)!r}" for k in spec.primary_key)
