"""Push against the real sandbox: rejects, duplicate safety under faults and crashes, previews, test sends."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pytest

from engagesync.apis.groove_helpdesk import connector
from engagesync.client.errors import OutcomeUnknown
from engagesync.client.http import ApiClient, RetryPolicy
from engagesync.sandbox.app import Sandbox
from engagesync.sync.mapping import Mapping
from engagesync.sync.push import Pusher, record_key
from engagesync.sync.push_retry import retry_rejects
from engagesync.sync.store import Store

CONN = "groove-helpdesk"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(str(tmp_path / "push.duckdb")) as s:
        yield s


def _client(sandbox: Sandbox) -> ApiClient:
    creds = sandbox.credentials()["groove-helpdesk"]
    return connector.make_client(
        creds["base_url"],
        creds["token"],
        transport=sandbox.transport(),
        retry=RetryPolicy(attempts=4, base_delay=0.001, max_delay=0.01),
    )


def _mailbox(sandbox: Sandbox) -> str:
    row = sandbox.ctx.store.one("SELECT email FROM gh_mailboxes WHERE is_primary = 1")
    assert row is not None
    return str(row["email"])


def _rows(sandbox: Sandbox, n: int, prefix: str = "c") -> list[tuple[int, dict[str, Any]]]:
    mailbox = _mailbox(sandbox)
    return [
        (
            i + 2,
            {
                "email": f"{prefix}{i}@push.example",
                "message": f"Question number {i} about my order",
                "subject": f"Order {i}",
                "inbox": mailbox,
            },
        )
        for i in range(n)
    ]


MAP = Mapping.parse(["from=email", "body=message", "to=inbox"], passthrough=["subject"])


def _tickets_of(sandbox: Sandbox, prefix: str) -> list[str]:
    rows = sandbox.ctx.store.all(
        "SELECT c.email FROM gh_tickets t JOIN gh_customers c ON c.tenant_id = t.tenant_id AND c.id = t.customer_id "
        "WHERE c.email LIKE ? ORDER BY t.number",
        (f"{prefix}%@push.example",),
    )
    return [r["email"] for r in rows]


def test_good_rows_land_bad_rows_become_rejects_and_a_rerun_creates_nothing(sandbox: Sandbox, store: Store) -> None:
    action = connector.actions()["create_ticket"]
    rows = _rows(sandbox, 6)
    rows[2][1]["email"] = "not-an-email"
    rows[4][1]["message"] = None
    pusher = Pusher(_client(sandbox), CONN, action, store, mapping=MAP)
    result = pusher.run(rows)
    assert (result.done, result.rejected_locally) == (4, 2)
    assert len(_tickets_of(sandbox, "c")) == 4
    rejects = list(store.rejects(CONN, "create_ticket"))
    assert {(r.field, r.record["line"]) for r in rejects} == {("from", 4), ("body", 6)}
    assert all(r.reason.startswith(f"line {r.record['line']}: ") for r in rejects)
    again = Pusher(_client(sandbox), CONN, action, store, mapping=MAP).run(rows)
    assert (again.done, again.skipped, again.sent) == (0, 4, 0)
    assert len(_tickets_of(sandbox, "c")) == 4
    assert sum(1 for _ in store.responses(CONN, "create_ticket")) == 4


def test_vendor_rejects_carry_the_vendor_reason(sandbox: Sandbox, store: Store) -> None:
    action = connector.actions()["update_ticket_state"]
    rows = [(2, {"number": 1, "state": "closed"}), (3, {"number": 999999, "state": "closed"})]
    result = Pusher(_client(sandbox), CONN, action, store).run(rows)
    assert (result.done, result.rejected_by_api) == (1, 1)
    (reject,) = store.rejects(CONN, "update_ticket_state")
    assert "Ticket not found" in str(reject.reason) and reject.record["line"] == 3


def test_drops_after_commit_create_each_ticket_exactly_once(sandbox: Sandbox, store: Store) -> None:
    sandbox.ctx.faults.replace(
        [
            {
                "match": {"api": "groove-helpdesk", "method": "POST", "path": "/tickets"},
                "effect": {"drop": True},
                "after": True,
                "probability": 0.5,
            }
        ],
        seed=3,
    )
    rows = _rows(sandbox, 12, prefix="d")
    result = Pusher(_client(sandbox), CONN, connector.actions()["create_ticket"], store, mapping=MAP).run(rows)
    assert result.done == 12 and result.reconciled > 0
    emails = _tickets_of(sandbox, "d")
    assert sorted(emails) == sorted(f"d{i}@push.example" for i in range(12))


def test_5xx_before_commit_is_resent_without_duplicates(sandbox: Sandbox, store: Store) -> None:
    sandbox.ctx.faults.replace(
        [
            {
                "match": {"api": "groove-helpdesk", "method": "POST", "path": "/tickets"},
                "effect": {"status": 503},
                "times": 3,
            }
        ]
    )
    rows = _rows(sandbox, 5, prefix="e")
    result = Pusher(_client(sandbox), CONN, connector.actions()["create_ticket"], store, mapping=MAP).run(rows)
    assert result.done == 5
    assert sorted(_tickets_of(sandbox, "e")) == sorted(f"e{i}@push.example" for i in range(5))


def test_a_create_that_never_succeeds_stops_the_push_and_stays_unknown(sandbox: Sandbox, store: Store) -> None:
    """A 5xx that outlasts the resends is an outage (issue 9): no reject; the record stays `unknown`."""
    sandbox.ctx.faults.replace(
        [{"match": {"api": "groove-helpdesk", "method": "POST", "path": "/tickets"}, "effect": {"status": 503}}]
    )
    pusher = Pusher(_client(sandbox), CONN, connector.actions()["create_ticket"], store, mapping=MAP)
    with pytest.raises(OutcomeUnknown):
        pusher.run(_rows(sandbox, 1, prefix="n"))
    assert (pusher.result.done, pusher.result.rejected, pusher.result.unknown) == (0, 0, 1)
    assert store.reject_count(CONN, "create_ticket") == 0
    assert store.ledger_counts(CONN, "create_ticket") == {"unknown": 1}
    assert _tickets_of(sandbox, "n") == []


def test_a_crash_between_send_and_ledger_is_reconciled_on_rerun(sandbox: Sandbox, store: Store) -> None:
    """The state a killed run leaves behind: ledger says 'sent' and the ticket exists."""
    action = connector.actions()["create_ticket"]
    rows = _rows(sandbox, 3, prefix="k")
    _, raw = rows[0]
    record = action.prepare(MAP.apply(raw))
    key = record_key(record, None, raw)
    request = action.build(record)
    store.ledger_put(CONN, action.name, key, "sent", request=request.describe(""), attempt=True)
    _client(sandbox).request(request.method, request.path, json=request.json, idempotent=False)
    result = Pusher(_client(sandbox), CONN, action, store, mapping=MAP).run(rows)
    assert result.reconciled == 1 and result.done == 3
    assert sorted(_tickets_of(sandbox, "k")) == [f"k{i}@push.example" for i in range(3)]


def test_dry_run_sends_nothing_and_shows_exact_requests(sandbox: Sandbox, store: Store) -> None:
    before = len(sandbox.ctx.journal.entries(api="groove-helpdesk", limit=0))
    rows = _rows(sandbox, 2, prefix="p")
    result = Pusher(_client(sandbox), CONN, connector.actions()["create_ticket"], store, mapping=MAP).run(
        rows, dry_run=True
    )
    assert len(sandbox.ctx.journal.entries(api="groove-helpdesk", limit=0)) == before
    first = result.requests[0]
    assert first["method"] == "POST" and first["url"].endswith("/groove-helpdesk/v1/tickets")
    assert first["body"]["from"] == "p0@push.example" and first["body"]["subject"] == "Order 0"
    token = sandbox.credentials()["groove-helpdesk"]["token"]
    assert token not in repr(result.requests)


def test_test_mode_sends_one_record_and_shows_the_response(sandbox: Sandbox, store: Store) -> None:
    rows = _rows(sandbox, 4, prefix="t")
    result = Pusher(_client(sandbox), CONN, connector.actions()["create_ticket"], store, mapping=MAP).run(
        rows, test=True
    )
    assert result.sent == 1 and result.done == 1
    assert result.requests[0]["status"] == 201 and "ticket" in result.requests[0]["body"]
    assert _tickets_of(sandbox, "t") == ["t0@push.example"]


def test_rejects_retry_after_the_cause_is_fixed(sandbox: Sandbox, store: Store) -> None:
    action = connector.actions()["update_ticket_state"]
    sandbox.ctx.faults.replace(
        [{"match": {"api": "groove-helpdesk", "method": "PUT"}, "effect": {"status": 422}, "times": 1}]
    )
    result = Pusher(_client(sandbox), CONN, action, store).run([(2, {"number": 2, "state": "pending"})])
    assert result.rejected_by_api == 1
    retried = retry_rejects(Pusher(_client(sandbox), CONN, action, store), store)
    assert retried.done == 1
    assert store.reject_count(CONN, "update_ticket_state") == 0
    assert sandbox.ctx.store.scalar("SELECT state FROM gh_tickets WHERE number = 2") == "pending"


def test_a_rerun_does_not_file_the_same_local_reject_twice(sandbox: Sandbox, store: Store) -> None:
    rows = _rows(sandbox, 2, prefix="r")
    rows[0][1]["email"] = "broken"
    for _ in range(2):
        Pusher(_client(sandbox), CONN, connector.actions()["create_ticket"], store, mapping=MAP).run(rows)
    assert store.reject_count(CONN, "create_ticket") == 1


@pytest.mark.parametrize(("batch_size", "concurrency"), [(1, 1), (7, 1), (7, 4)])
def test_batches_and_concurrency_push_each_record_once_with_ledger_and_responses(
    sandbox: Sandbox, store: Store, batch_size: int, concurrency: int
) -> None:
    action = connector.actions()["create_ticket"]
    rows = _rows(sandbox, 30, prefix=f"b{batch_size}x{concurrency}-")
    rows[10][1]["email"] = "broken"
    pusher = Pusher(_client(sandbox), CONN, action, store, mapping=MAP, batch_size=batch_size, concurrency=concurrency)
    result = pusher.run(rows)
    assert (result.read, result.done, result.rejected_locally) == (30, 29, 1)
    assert len(_tickets_of(sandbox, f"b{batch_size}x{concurrency}-")) == 29
    assert store.ledger_counts(CONN, action.name) == {"done": 29}
    assert sum(1 for _ in store.responses(CONN, action.name)) == 29
    (reject,) = store.rejects(CONN, action.name)
    assert (reject.field, reject.record["line"]) == ("from", 12)
    again = Pusher(
        _client(sandbox), CONN, action, store, mapping=MAP, batch_size=batch_size, concurrency=concurrency
    ).run(rows)
    assert (again.sent, again.skipped) == (0, 29)
    assert len(_tickets_of(sandbox, f"b{batch_size}x{concurrency}-")) == 29


def test_the_same_record_twice_in_one_batch_is_pushed_once(sandbox: Sandbox, store: Store) -> None:
    rows = _rows(sandbox, 3, prefix="twice")
    rows.append((9, dict(rows[0][1])))
    result = Pusher(_client(sandbox), CONN, connector.actions()["create_ticket"], store, mapping=MAP).run(rows)
    assert (result.done, result.skipped) == (3, 1)
    assert len(_tickets_of(sandbox, "twice")) == 3


def test_bad_batch_settings_are_refused(sandbox: Sandbox, store: Store) -> None:
    with pytest.raises(ValueError, match="batch size"):
        Pusher(_client(sandbox), CONN, connector.actions()["create_ticket"], store, batch_size=0)


def test_the_same_record_in_consecutive_batches_is_skipped_not_reconciled(sandbox: Sandbox, store: Store) -> None:
    # the first copy's outcome is still with the ledger writer when the next batch looks the key up: the
    # lookup must see it done (a `sent` entry would be reconciled instead, or claimed by another record)
    rows = _rows(sandbox, 3, prefix="next")
    rows.insert(2, (9, dict(rows[0][1])))  # batches of 2: [0, 1], [0 again, 2], ...
    pusher = Pusher(_client(sandbox), CONN, connector.actions()["create_ticket"], store, mapping=MAP, batch_size=2)
    result = pusher.run(rows)
    assert (result.done, result.skipped, result.reconciled) == (3, 1, 0)
    assert len(_tickets_of(sandbox, "next")) == 3
    assert store.ledger_counts(CONN, "create_ticket") == {"done": 3}


def test_a_ledger_writer_error_stops_the_push_and_a_rerun_loses_and_duplicates_nothing(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    action = connector.actions()["create_ticket"]
    rows = _rows(sandbox, 8, prefix="werr")
    path = str(tmp_path / "werr.duckdb")
    with Store(path) as db:

        def break_responses(event: str, counts: dict[str, Any]) -> None:
            if counts["read"] == 2:  # batch 1's outcomes are queued: their transaction will fail in the writer
                db.execute("DROP TABLE _engagesync.responses")

        pusher = Pusher(_client(sandbox), CONN, action, db, mapping=MAP, batch_size=2, progress=break_responses)
        with pytest.raises(duckdb.CatalogException, match="responses"):
            pusher.run(rows)
        counts = db.ledger_counts(CONN, action.name)
    sent = len(_tickets_of(sandbox, "werr"))
    assert 2 <= sent <= 4 and counts == {"sent": sent}  # stopped at the next write; nothing marked done
    with Store(path) as db:  # reopening recreates the table
        again = Pusher(_client(sandbox), CONN, action, db, mapping=MAP, batch_size=2).run(rows)
        assert (again.reconciled, again.done) == (sent, 8)
        assert db.ledger_counts(CONN, action.name) == {"done": 8}
    tickets = _tickets_of(sandbox, "werr")
    assert len(tickets) == len(set(tickets)) == 8


def test_a_push_frees_each_batchs_responses_itself(sandbox: Sandbox, store: Store) -> None:
    """Each request leaves a reference cycle in httpx holding its response; the push collects after
    every batch, so with the automatic collector off (the worst case: cycles it promoted and never
    revisits) no more than about one batch's responses are alive when the push ends."""
    rows = _rows(sandbox, 300, prefix="gc")
    pusher = Pusher(_client(sandbox), CONN, connector.actions()["create_ticket"], store, mapping=MAP, batch_size=30)
    was_enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        result = pusher.run(rows)
        alive = sum(isinstance(o, httpx.Response) for o in gc.get_objects())
    finally:
        if was_enabled:
            gc.enable()
    assert result.done == 300
    assert alive <= 30, f"{alive} responses still alive after a push of 300 records in batches of 30"
