"""The store as an analyst reads it: run ids across the engine tables, one set of run statuses, typed
instants, lists and structs, comments, and stores made by the previous release migrated in place."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from engagesync.sync.store import LedgerWrite, RejectWrite, ResponseWrite, Store, StoreError

CONN = "groove-helpdesk"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(str(tmp_path / "store.duckdb")) as s:
        yield s


def test_ledger_rejects_and_responses_reference_their_run(store: Store) -> None:
    run = store.run_start(CONN, "push", "create_ticket")
    store.write_batch(
        CONN,
        "create_ticket",
        ledger=[LedgerWrite("k1", "done", "9", {"a": 1}, {"ok": True}, True)],
        rejects=[RejectWrite("k2", {"a": 2}, "to", "bad")],
        responses=[ResponseWrite("k1", 201, {"ticket": 9})],
        run_id=run,
    )
    store.run_finish(run, "complete", {"done": 1})
    for table in ("ledger", "rejects", "responses"):
        assert store.execute(f"SELECT DISTINCT run_id FROM _engagesync.{table}") == [(run,)], table
    joined = store.execute(
        "SELECT r.kind, r.status, count(*) FROM _engagesync.ledger l JOIN _engagesync.runs r ON r.id = l.run_id "
        "GROUP BY ALL"
    )
    assert joined == [("push", "complete", 1)]
    # a later write without a run keeps the entry's run
    store.write_batch(CONN, "create_ticket", ledger=[LedgerWrite("k1", "done")])
    assert store.execute("SELECT run_id FROM _engagesync.ledger") == [(run,)]


def test_pulls_and_pushes_share_one_set_of_run_statuses(store: Store) -> None:
    run = store.run_start(CONN, "push", "create_ticket")
    with pytest.raises(StoreError, match="run status must be one of"):
        store.run_finish(run, "ok")
