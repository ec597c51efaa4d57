"""The push bookkeeping: the ledger (one entry per record key: what was sent and what came of it),
rejects (with the run that filed them) and captured responses, written a batch at a time: one statement
per table (two for the ledger: an UPDATE, then an INSERT of the keys it did not find)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .base import ENGINE_SCHEMA, LEDGER_STATUSES, StoreBase, StoreError, _dumps, _filters, _loads, dumps_rows, utcnow


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
    """One ledger change; ``None`` fields keep the entry's previous value, ``attempt`` counts a send.
    ``new``: the caller just looked and the key has no entry, so it is inserted without a lookup (a
    wrong hint fails the whole batch on the primary key; it never overwrites)."""

    key: str
    status: str
    remote_id: str | None = None
    request: Any = None
    response: Any = None
    attempt: bool = False
    new: bool = False


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
    #: The push run that filed it: its settings (action, mapping, key, options) are what a retry reuses.
    run_id: int | None = None


@dataclass(frozen=True)
class Response:
    id: int
    connection: str
    action: str
    key: str | None
    status_code: int | None
    body: Any
    at: datetime


class LedgerBook(StoreBase):
    """Ledger, rejects and responses of pushes."""

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
        run_id: int | None = None,
    ) -> list[int]:
        """Ledger changes, rejects and captured responses of one push batch: one transaction, one
        statement or two per table (a statement per record costs ~100x more). Returns the new reject ids.

        A record marked ``done`` closes its open rejects (``resolved``); a new reject of a record
        supersedes its open ones (``retried``), so a record has one set of open rejects, the latest."""
        for write in ledger:
            if write.status not in LEDGER_STATUSES:
                raise StoreError(f"ledger status must be one of {sorted(LEDGER_STATUSES)}, not {write.status!r}")
        merged: dict[str, dict[str, Any]] = {}
        for write in ledger:  # one row per key: an upsert may not touch a row twice in one statement
            row = merged.setdefault(write.key, {"key": write.key, "attempts": 0, "new": write.new})
            row["status"] = write.status
            for name in ("remote_id", "request", "response"):
                if getattr(write, name) is not None:
                    row[name] = getattr(write, name)
            row["attempts"] += 1 if write.attempt else 0
        now = utcnow()
        ids: list[int] = []
        resolved = [row["key"] for row in merged.values() if row["status"] == "done"]
        superseded = sorted({r.key for r in rejects if r.key is not None})
        with self.transaction() as con:
            # an UPDATE of the keys that may exist, then an INSERT of the rest: together a fraction of one
            # INSERT ... ON CONFLICT DO UPDATE (~5 ms of fixed cost a statement in DuckDB 2.0)
            insert: list[dict[str, Any]] = []
            maybe: list[dict[str, Any]] = []
            for row in merged.values():
                (insert if row.pop("new") else maybe).append(row)
            if maybe:
                params = [now, run_id, dumps_rows(maybe), connection, action]
                updated = {key for (key,) in con.execute(_LEDGER_UPDATE, params).fetchall()}
                insert += [row for row in maybe if row["key"] not in updated]
            if insert:
                con.execute(_LEDGER_INSERT, [connection, action, now, run_id, dumps_rows(insert)])
            for status, keys in (("resolved", resolved), ("retried", superseded)):
                if keys:
                    con.execute(_REJECTS_CLOSE, [status, now, connection, action, keys])
            if rejects:
                ids = [
                    int(r[0])
                    for r in con.execute(
                        _REJECTS_INSERT,
                        [
                            connection,
                            action,
                            now,
                            run_id,
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
                        run_id,
                        dumps_rows([{"key": r.key, "status_code": r.status_code, "body": r.body} for r in responses]),
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

    def ledger_holder(self, connection: str, action: str, remote_id: str, other_than: str) -> str | None:
        """The key of another record whose ledger entry holds ``remote_id`` (a reconcile must not claim it)."""
        rows = self.execute(
            f"SELECT key FROM {ENGINE_SCHEMA}.ledger WHERE connection = ? AND action = ? AND remote_id = ? "
            "AND key <> ? LIMIT 1",
            [connection, action, remote_id, other_than],
        )
        return str(rows[0][0]) if rows else None

    # -- rejects -----------------------------------------------------------------------------------
    def reject(self, connection: str, action: str, key: str | None, record: Any, field: str | None, reason: str) -> int:
        """Record a rejected record (with the offending field when known and the vendor's reason)."""
        return self.write_batch(connection, action, rejects=[RejectWrite(key, record, field, reason)])[0]

    def rejects(self, connection: str, action: str | None = None, status: str | None = "open") -> Iterator[Reject]:
        """Stream rejects, oldest first (``status=None``: all)."""
        where, params = _filters(connection=connection, action=action, status=status)
        sql = (
            f"SELECT id, connection, action, key, record, field, reason, status, created_at, retried_at, run_id "
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

    def dismiss_rejects(self, connection: str, action: str | None = None, ids: Sequence[int] | None = None) -> int:
        """Close open rejects without sending them (``dismissed``): all of them, or those in ``ids``.
        Returns how many were closed."""
        where, params = _filters(connection=connection, action=action)
        sql = f"UPDATE {ENGINE_SCHEMA}.rejects SET status = 'dismissed', retried_at = ? {where} AND status = 'open'"
        if ids is not None:
            sql += " AND id IN (SELECT unnest(?::BIGINT[]))"
            params.append(list(ids))
        return len(self.execute(sql + " RETURNING id", [utcnow(), *params]))

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
_LEDGER_ROWS = (
    '(SELECT unnest(from_json(?, \'[{"key": "VARCHAR", "status": "VARCHAR", "remote_id": "VARCHAR", '
    '"request": "JSON", "response": "JSON", "attempts": "INTEGER"}]\')) AS u) AS u'
)
_LEDGER_UPDATE = (
    f"UPDATE {ENGINE_SCHEMA}.ledger AS l SET status = u.status, remote_id = coalesce(u.remote_id, l.remote_id), "
    "request = coalesce(u.request, l.request), response = coalesce(u.response, l.response), "
    "attempts = l.attempts + u.attempts, updated_at = ?::TIMESTAMP, run_id = coalesce(?, l.run_id) "
    f"FROM {_LEDGER_ROWS} WHERE l.connection = ? AND l.action = ? AND l.key = u.key RETURNING l.key"
)
_LEDGER_INSERT = (
    f"INSERT INTO {ENGINE_SCHEMA}.ledger (connection, action, key, status, remote_id, request, response, "
    "attempts, updated_at, run_id) SELECT ?, ?, u.key, u.status, u.remote_id, u.request, u.response, "
    f"u.attempts, ?::TIMESTAMP, ? FROM {_LEDGER_ROWS}"
)
_REJECTS_CLOSE = (
    f"UPDATE {ENGINE_SCHEMA}.rejects SET status = ?, retried_at = ? WHERE connection = ? AND action = ? "
    "AND status = 'open' AND key IN (SELECT unnest(?::VARCHAR[]))"
)
_REJECTS_INSERT = (
    f"INSERT INTO {ENGINE_SCHEMA}.rejects (connection, action, created_at, run_id, key, record, field, reason, "
    "status) SELECT ?, ?, ?::TIMESTAMP, ?, u.key, u.record, u.field, u.reason, 'open' FROM (SELECT unnest(from_json(?, "
    '\'[{"key": "VARCHAR", "record": "JSON", "field": "VARCHAR", "reason": "VARCHAR"}]\')) AS u) '
    "RETURNING id"
)
_RESPONSES_INSERT = (
    f'INSERT INTO {ENGINE_SCHEMA}.responses (connection, action, "at", run_id, key, status_code, body) '
    "SELECT ?, ?, ?::TIMESTAMP, ?, u.key, u.status_code, u.body FROM (SELECT unnest(from_json(?, "
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
