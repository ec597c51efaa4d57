"""Each stream's cursor state, and the runs (pulls and pushes) with the settings they ran with."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .base import ENGINE_SCHEMA, RUN_KINDS, RUN_STATUSES, StoreBase, StoreError, _dumps, _filters, _loads, utcnow


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
    #: What a push was run with (mapping, key, options): ``rejects --retry`` runs the rejects with it.
    settings: Any = None


class StateAndRuns(StoreBase):
    """Cursor state per stream and the history of runs."""

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
    def run_start(self, connection: str, kind: str, target: str | None = None, settings: Any = None) -> int:
        if kind not in RUN_KINDS:
            raise StoreError(f"run kind must be one of {sorted(RUN_KINDS)}, not {kind!r}")
        rows = self.execute(
            f"INSERT INTO {ENGINE_SCHEMA}.runs (connection, kind, target, started_at, status, settings) "
            "VALUES (?, ?, ?, ?, 'running', ?::JSON) RETURNING id",
            [connection, kind, target, utcnow(), None if settings is None else _dumps(settings)],
        )
        return int(rows[0][0])

    def run_finish(self, run_id: int, status: str, counts: dict[str, Any] | None = None) -> None:
        if status not in RUN_STATUSES:
            raise StoreError(f"run status must be one of {sorted(RUN_STATUSES)}, not {status!r}")
        self.execute(
            f"UPDATE {ENGINE_SCHEMA}.runs SET finished_at = ?, status = ?, counts = ?::JSON WHERE id = ?",
            [utcnow(), status, None if counts is None else _dumps(counts), run_id],
        )

    def runs(self, connection: str | None = None, kind: str | None = None, limit: int = 100) -> list[Run]:
        """The most recent runs first."""
        where, params = _filters(connection=connection, kind=kind)
        rows = self.execute(
            f"SELECT id, connection, kind, target, started_at, finished_at, status, counts, settings "
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
                settings=_loads(row[8]),
            )
            for row in rows
        ]

    def run_settings(self, run_id: int) -> Any:
        """The settings a run was started with (``None`` for runs recorded before settings were kept)."""
        rows = self.execute(f"SELECT settings FROM {ENGINE_SCHEMA}.runs WHERE id = ?", [run_id])
        return _loads(rows[0][0]) if rows else None
