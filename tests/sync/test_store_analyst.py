"""The store as an analyst reads it: run ids across the engine tables, one set of run statuses, typed
instants, lists and structs, comments, and stores made by the previous release migrated in place."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from engagesync.apis.groove_helpdesk import connector as helpdesk
from engagesync.apis.volt import connector as volt
from engagesync.sync.pull import pull
from engagesync.sync.store import LedgerWrite, RejectWrite, ResponseWrite, Store, StoreError
from engagesync.testing import make_sandbox

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


FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "release_store.duckdb.gz"


def test_a_store_made_by_the_previous_release_is_migrated_in_place(tmp_path: Path) -> None:
    """``tests/fixtures/make_release_store.py`` wrote the fixture with the release before issue 14."""
    path = tmp_path / "old.duckdb"
    path.write_bytes(gzip.decompress(FIXTURE.read_bytes()))
    with duckdb.connect(str(path), read_only=True) as old:
        tickets_before = old.execute(
            "SELECT number, title, created_at FROM groove_helpdesk.tickets ORDER BY 1"
        ).fetchall()
        assert old.execute("SELECT DISTINCT status FROM _engagesync.runs ORDER BY 1").fetchall() == [
            ("complete",),
            ("ok",),
        ]
    with Store(str(path)) as store:
        # engine tables: on open
        assert store.execute("SELECT DISTINCT status FROM _engagesync.runs") == [("complete",)]
        assert store.execute("SELECT count(*) FROM _engagesync.ledger WHERE run_id IS NULL") == [(1,)]  # unknown
        # stream tables: on first use, with the current specs
        specs = {**helpdesk.streams(), **{f"volt.{k}": v for k, v in volt.streams("+1").items()}}
        store.ensure_table(CONN, specs["tickets"].spec)
        store.ensure_table("volt", specs["volt.contacts"].spec)
        types = dict(store.execute('SELECT column_name, column_type FROM (DESCRIBE "groove_helpdesk"."tickets")'))
        assert types["created_at"] == "TIMESTAMP WITH TIME ZONE" and types["tags"] == "VARCHAR[]"
        assert types["_synced_at"] == "TIMESTAMP WITH TIME ZONE" and "_hash" in types and "_deleted_at" in types
        after = store.execute("SELECT number, title, created_at FROM groove_helpdesk.tickets ORDER BY 1")
        assert [(n, t, c.replace(tzinfo=None)) for n, t, c in after] == tickets_before  # the same instants, in UTC
        assert all(c.tzinfo is not None and c.utcoffset().total_seconds() == 0 for _, _, c in after)
        lists = store.execute('SELECT "customFields" FROM volt.contacts WHERE len("customFields") > 0 LIMIT 1')
        assert lists and isinstance(lists[0][0][0], dict) and set(lists[0][0][0]) == {"key", "type", "value"}
        comment = store.execute(
            "SELECT comment FROM duckdb_columns() WHERE table_name = 'tickets' AND column_name = '_deleted_at'"
        )
        assert comment and "tombstone" in comment[0][0]

        # the next pull of the same data (the fixture's sandbox again) writes nothing: migrated rows carry
        # the hash of the record they hold
        twin = make_sandbox(
            seed=14, limits=False, counts={"groove-helpdesk.tickets": 6, "groove-helpdesk.messages_per_ticket": 2}
        )
        try:
            cred = twin.credentials()["groove-helpdesk"]
            with helpdesk.make_client(cred["base_url"], cred["token"], transport=twin.transport()) as client:
                result = pull(client, CONN, helpdesk.streams(), ["tickets"], store)
        finally:
            twin.close()
        tickets = result.streams["tickets"]
        assert result.ok and (tickets.records, tickets.unchanged) == (len(tickets_before), len(tickets_before))


def test_a_store_named_like_a_connection_says_how_to_write_its_sql(tmp_path: Path) -> None:
    spec = helpdesk.streams()["tickets"].spec
    with Store(str(tmp_path / "big.duckdb")) as store:
        store.commit_page("big", spec, [{"number": 1, "title": "t"}], None)
        note = store.ambiguity("big")
        assert note is not None and "big.big.<stream>" in note and "big-data.duckdb" in note
        assert store.ambiguity("groove-helpdesk") is None
        with pytest.raises(duckdb.BinderException, match="Ambiguous"):
            store.execute("SELECT count(*) FROM big.tickets")  # what the note is about
        assert store.execute("SELECT count(*) FROM big.big.tickets") == [(1,)]  # what it says to write
