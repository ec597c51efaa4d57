"""Where destinations live in the store: versioned configurations, activation, delivery runs, responses.

Engine tables are in ``_engagesync`` (``destinations``, ``destination_versions``, ``destination_runs``,
``destination_secrets``); each destination's responses are the table ``<destination>.responses``, a
source like any pulled stream. Everything goes through the Store's public ``execute``/``transaction``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..store import ENGINE_SCHEMA, Store, quote, schema_for, utcnow
from .model import DestinationConfig, parse

_DDL = f"""
CREATE SCHEMA IF NOT EXISTS {ENGINE_SCHEMA};
CREATE TABLE IF NOT EXISTS {ENGINE_SCHEMA}.destinations (
    name VARCHAR PRIMARY KEY, version INTEGER NOT NULL, active BOOLEAN NOT NULL DEFAULT FALSE,
    every_seconds DOUBLE, activated_at TIMESTAMP, last_run_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL, updated_at TIMESTAMP NOT NULL);
CREATE TABLE IF NOT EXISTS {ENGINE_SCHEMA}.destination_versions (
    name VARCHAR NOT NULL, version INTEGER NOT NULL, config JSON NOT NULL, created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (name, version));
CREATE SEQUENCE IF NOT EXISTS {ENGINE_SCHEMA}.destination_runs_id;
CREATE TABLE IF NOT EXISTS {ENGINE_SCHEMA}.destination_runs (
    id BIGINT PRIMARY KEY DEFAULT nextval('{ENGINE_SCHEMA}.destination_runs_id'), name VARCHAR NOT NULL,
    version INTEGER NOT NULL, kind VARCHAR NOT NULL, started_at TIMESTAMP NOT NULL, finished_at TIMESTAMP,
    status VARCHAR NOT NULL, counts JSON, error VARCHAR);
CREATE TABLE IF NOT EXISTS {ENGINE_SCHEMA}.destination_secrets (
    name VARCHAR PRIMARY KEY, webhook_secret VARCHAR NOT NULL);
"""


@dataclass(frozen=True)
class Destination:
    name: str
    version: int
    config: DestinationConfig
    active: bool
    every_seconds: float | None
    activated_at: datetime | None
    last_run_at: datetime | None
    created_at: datetime
    updated_at: datetime

    def summary(self) -> dict[str, Any]:
        endpoint = self.config.endpoint
        target = (
            f"template {endpoint.template}" if endpoint.template else f"{endpoint.manual.method} {endpoint.manual.url}"  # type: ignore[union-attr]
        )
        return {
            "name": self.name,
            "version": self.version,
            "connection": self.config.connection,
            "source": self.config.source,
            "endpoint": target,
            "active": self.active,
            "every_seconds": self.every_seconds,
            "last_run_at": self.last_run_at,
        }


@dataclass(frozen=True)
class DeliveryRun:
    id: int
    name: str
    version: int
    kind: str
    started_at: datetime
    finished_at: datetime | None
    status: str
    counts: dict[str, Any] | None
    error: str | None

    def to_dict(self) -> dict[str, Any]:
        seconds = (self.finished_at - self.started_at).total_seconds() if self.finished_at else None
        return {
            "id": self.id,
            "version": self.version,
            "kind": self.kind,
            "started_at": self.started_at,
            "status": self.status,
            "duration_seconds": None if seconds is None else round(seconds, 3),
            **(self.counts or {}),
            **({"error": self.error} if self.error else {}),
        }


def ensure(store: Store) -> None:
    with store.transaction() as con:
        con.execute(_DDL)


def responses_table(name: str) -> str:
    """The quoted ``<destination>.responses`` table."""
    return f"{quote(schema_for(name))}.{quote('responses')}"


def ensure_responses(store: Store, name: str) -> str:
    schema = quote(schema_for(name))
    with store.transaction() as con:
        con.execute(
            f"CREATE SCHEMA IF NOT EXISTS {schema};"
            f"CREATE SEQUENCE IF NOT EXISTS {schema}.responses_id;"
            f"CREATE TABLE IF NOT EXISTS {schema}.responses ("
            f"id BIGINT PRIMARY KEY DEFAULT nextval('{schema_for(name)}.responses_id'), run_id BIGINT, "
            "record_key VARCHAR, record_keys JSON, method VARCHAR, url VARCHAR, status INTEGER, headers JSON, "
            'body JSON, "at" TIMESTAMP NOT NULL, webhook_id VARCHAR NOT NULL, webhook_status VARCHAR, '
            "webhook_attempts INTEGER NOT NULL DEFAULT 0)"
        )
    return responses_table(name)


# -- destinations ----------------------------------------------------------------------------------
_COLS = (
    "d.name, d.version, v.config, d.active, d.every_seconds, d.activated_at, d.last_run_at, d.created_at, d.updated_at"
)
_FROM = (
    f"FROM {ENGINE_SCHEMA}.destinations d JOIN {ENGINE_SCHEMA}.destination_versions v "
    "ON v.name = d.name AND v.version = d.version"
)


def _row(row: tuple[Any, ...]) -> Destination:
    config = parse(json.loads(row[2]), f"destination {row[0]!r} (stored)")
    return Destination(row[0], row[1], config, bool(row[3]), row[4], row[5], row[6], row[7], row[8])


def get(store: Store, name: str) -> Destination | None:
    rows = store.execute(f"SELECT {_COLS} {_FROM} WHERE d.name = ?", [name])
    return _row(rows[0]) if rows else None


def all_(store: Store) -> list[Destination]:
    return [_row(r) for r in store.execute(f"SELECT {_COLS} {_FROM} ORDER BY d.name")]


def insert(store: Store, name: str, config: DestinationConfig, secret: str | None) -> None:
    now = utcnow()
    with store.transaction() as con:
        con.execute(
            f"INSERT INTO {ENGINE_SCHEMA}.destinations (name, version, created_at, updated_at) VALUES (?, 1, ?, ?)",
            [name, now, now],
        )
        con.execute(
            f"INSERT INTO {ENGINE_SCHEMA}.destination_versions VALUES (?, 1, ?::JSON, ?)",
            [name, json.dumps(config.to_data()), now],
        )
        if secret is not None:
            con.execute(f"INSERT INTO {ENGINE_SCHEMA}.destination_secrets VALUES (?, ?)", [name, secret])


def new_version(store: Store, name: str, config: DestinationConfig) -> int:
    now = utcnow()
    with store.transaction() as con:
        version = int(
            con.execute(f"SELECT version FROM {ENGINE_SCHEMA}.destinations WHERE name = ?", [name]).fetchall()[0][0]
        )
        con.execute(
            f"INSERT INTO {ENGINE_SCHEMA}.destination_versions VALUES (?, ?, ?::JSON, ?)",
            [name, version + 1, json.dumps(config.to_data()), now],
        )
        con.execute(
            f"UPDATE {ENGINE_SCHEMA}.destinations SET version = ?, updated_at = ? WHERE name = ?",
            [version + 1, now, name],
        )
    return version + 1


def versions(store: Store, name: str) -> list[tuple[int, datetime]]:
    return [
        (int(v), at)
        for v, at in store.execute(
            f"SELECT version, created_at FROM {ENGINE_SCHEMA}.destination_versions WHERE name = ? ORDER BY version",
            [name],
        )
    ]


def remove(store: Store, name: str) -> None:
    with store.transaction() as con:
        for table in ("destinations", "destination_versions", "destination_secrets"):
            con.execute(f"DELETE FROM {ENGINE_SCHEMA}.{table} WHERE name = ?", [name])


def set_active(store: Store, name: str, active: bool, every: float | None) -> None:
    store.execute(
        f"UPDATE {ENGINE_SCHEMA}.destinations SET active = ?, every_seconds = coalesce(?, every_seconds), "
        "activated_at = CASE WHEN ? THEN ? ELSE activated_at END, updated_at = ? WHERE name = ?",
        [active, every, active, utcnow(), utcnow(), name],
    )


def secret(store: Store, name: str) -> str | None:
    rows = store.execute(f"SELECT webhook_secret FROM {ENGINE_SCHEMA}.destination_secrets WHERE name = ?", [name])
    return str(rows[0][0]) if rows else None


def put_secret(store: Store, name: str, value: str) -> None:
    store.execute(f"INSERT OR REPLACE INTO {ENGINE_SCHEMA}.destination_secrets VALUES (?, ?)", [name, value])


# -- delivery runs ---------------------------------------------------------------------------------
def run_start(store: Store, name: str, version: int, kind: str) -> int:
    rows = store.execute(
        f"INSERT INTO {ENGINE_SCHEMA}.destination_runs (name, version, kind, started_at, status) "
        "VALUES (?, ?, ?, ?, 'running') RETURNING id",
        [name, version, kind, utcnow()],
    )
    return int(rows[0][0])


def run_finish(
    store: Store, run_id: int, name: str, status: str, counts: dict[str, Any], error: str | None, kind: str = "run"
) -> None:
    now = utcnow()
    with store.transaction() as con:
        con.execute(
            f"UPDATE {ENGINE_SCHEMA}.destination_runs SET finished_at = ?, status = ?, counts = ?::JSON, error = ? "
            "WHERE id = ?",
            [now, status, json.dumps(counts, default=str), error, run_id],
        )
        if kind != "test":  # a test send is not a scheduled delivery
            con.execute(f"UPDATE {ENGINE_SCHEMA}.destinations SET last_run_at = ? WHERE name = ?", [now, name])


def runs(store: Store, name: str, limit: int = 50) -> list[DeliveryRun]:
    rows = store.execute(
        f"SELECT id, name, version, kind, started_at, finished_at, status, counts, error "
        f"FROM {ENGINE_SCHEMA}.destination_runs WHERE name = ? ORDER BY id DESC LIMIT {int(limit)}",
        [name],
    )
    return [
        DeliveryRun(r[0], r[1], r[2], r[3], r[4], r[5], r[6], json.loads(r[7]) if r[7] else None, r[8]) for r in rows
    ]


# -- responses -------------------------------------------------------------------------------------
def add_response(store: Store, name: str, row: dict[str, Any]) -> None:
    store.execute(
        f"INSERT INTO {responses_table(name)} (run_id, record_key, record_keys, method, url, status, headers, body, "
        '"at", webhook_id, webhook_status) VALUES (?, ?, ?::JSON, ?, ?, ?, ?::JSON, ?::JSON, ?, ?, ?)',
        [
            row["run_id"],
            row["keys"][0] if len(row["keys"]) == 1 else None,
            json.dumps(row["keys"]),
            row["method"],
            row["url"],
            row["status"],
            json.dumps(row["headers"]),
            json.dumps(row["body"], default=str),
            row["at"],
            row["webhook_id"],
            row["webhook_status"],
        ],
    )


def responses(store: Store, name: str, where: str = "", params: list[Any] | None = None) -> Iterator[dict[str, Any]]:
    cols = 'id, run_id, record_key, record_keys, method, url, status, headers, body, "at", webhook_id, webhook_status'
    sql = f"SELECT {cols} FROM {responses_table(name)} {where} ORDER BY id"
    for names, rows in store.iter_query(sql, params):
        for row in rows:
            item = dict(zip(names, row, strict=True))
            for column in ("record_keys", "headers", "body"):
                item[column] = json.loads(item[column]) if item[column] is not None else None
            yield item


def webhook_done(store: Store, name: str, response_id: int, status: str) -> None:
    store.execute(
        f"UPDATE {responses_table(name)} SET webhook_status = ?, webhook_attempts = webhook_attempts + 1 WHERE id = ?",
        [status, response_id],
    )
