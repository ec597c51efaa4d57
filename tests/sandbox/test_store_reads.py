"""``SandboxDB.tuples``: the hot ticket-list read fetches plain tuples, leaving ``sqlite3.Row`` for everyone else."""

from __future__ import annotations

import sqlite3

from engagesync.sandbox.store import SandboxDB


def test_tuples_are_the_rows_values_and_leave_the_row_factory_alone() -> None:
    store = SandboxDB()
    store.executescript("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT)")
    store.executemany("INSERT INTO items VALUES (?, ?)", [(1, "a"), (2, None), (3, "c")])
    sql = "SELECT id, name FROM items WHERE id >= ? ORDER BY id"
    got = store.tuples(sql, (2,))
    assert got == [(2, None), (3, "c")]
    assert all(type(row) is tuple for row in got)
    rows = store.all(sql, (2,))  # other reads still come back by name
    assert all(isinstance(row, sqlite3.Row) for row in rows)
    assert [tuple(row) for row in rows] == got
    assert rows[1]["name"] == "c"
    store.close()


def test_remembered_recomputes_after_any_write_only() -> None:
    store = SandboxDB()
    store.executescript("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT)")
    calls: list[int] = []

    def compute() -> int:
        calls.append(1)
        return int(store.scalar("SELECT COUNT(*) FROM items"))

    assert store.remembered(("n",), compute) == 0
    assert store.remembered(("n",), compute) == 0
    assert len(calls) == 1  # nothing written in between: computed once
    store.execute("INSERT INTO items VALUES (1, 'a')")
    assert store.remembered(("n",), compute) == 1
    store.execute("UPDATE items SET name = 'b' WHERE id = 1")
    assert store.remembered(("n",), compute) == 1
    assert len(calls) == 3
    store.close()
