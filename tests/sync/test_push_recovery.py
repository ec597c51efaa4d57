"""Push recovery (issue 9) against the real sandbox: outages stop a push without rejects, failed reconcile
lookups leave records `unknown`, retries reuse the push's settings and successes close rejects, a reconcile
never claims another record's message, and the default key survives a changed mapping."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engagesync.apis.groove_helpdesk import connector as helpdesk
from engagesync.apis.volt import connector as volt
from engagesync.client.errors import OutcomeUnknown, ServerError, TransportError
from engagesync.client.http import ApiClient, RetryPolicy
from engagesync.sandbox.app import Sandbox
from engagesync.sync import connectors
from engagesync.sync.mapping import Mapping
from engagesync.sync.push import Pusher, payload_key
from engagesync.sync.push_retry import retry_rejects
from engagesync.sync.store import Store

CONN = "groove-helpdesk"
FAST = RetryPolicy(attempts=3, base_delay=0.001, max_delay=0.01)
MAP = Mapping.parse(["from=email", "body=message", "to=inbox"], passthrough=["subject"])


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(str(tmp_path / "push.duckdb")) as s:
        yield s


def _client(sandbox: Sandbox, base_url: str | None = None, timeout: float = 30.0) -> ApiClient:
    creds = sandbox.credentials()["groove-helpdesk"]
    transport = None if base_url else sandbox.transport()
    return helpdesk.make_client(
        base_url or creds["base_url"], creds["token"], transport=transport, retry=FAST, timeout=timeout
    )


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # nobody listens once it is closed


def _rows(sandbox: Sandbox, n: int, prefix: str) -> list[tuple[int, dict[str, Any]]]:
    mailbox = sandbox.ctx.store.scalar("SELECT email FROM gh_mailboxes WHERE is_primary = 1")
    return [
        (
            i + 2,
            {
                "id": f"{prefix}-{i}",
                "email": f"{prefix}{i}@recover.example",
                "message": f"Question {i} about my order",
                "note": "",
                "subject": f"Order {i}",
                "inbox": mailbox,
            },
        )
        for i in range(n)
    ]


def _tickets(sandbox: Sandbox, prefix: str) -> list[str]:
    rows = sandbox.ctx.store.all(
        "SELECT c.email FROM gh_tickets t JOIN gh_customers c ON c.tenant_id = t.tenant_id AND c.id = t.customer_id "
        "WHERE c.email LIKE ? ORDER BY t.number",
        (f"{prefix}%@recover.example",),
    )
    return [r["email"] for r in rows]


def _create(sandbox: Sandbox, store: Store, mapping: Mapping = MAP, **kwargs: Any) -> Pusher:
    return Pusher(_client(sandbox), CONN, helpdesk.actions()["create_ticket"], store, mapping=mapping, **kwargs)


# -- 1. retry reuses the push's settings; successes close rejects; dismiss -------------------------
def test_retry_reuses_the_mapping_and_key_of_the_push_that_filed_the_rejects(sandbox: Sandbox, store: Store) -> None:
    rows = _rows(sandbox, 4, "rt")
    rows[1][1]["email"] = "broken"  # a local reject that stays bad
    sandbox.ctx.faults.replace(
        [{"match": {"api": CONN, "method": "POST", "path": "/tickets"}, "effect": {"status": 422}, "times": 1}]
    )
    first = _create(sandbox, store, key_field="id").run(rows)
    assert (first.done, first.rejected_locally, first.rejected_by_api) == (2, 1, 1)
    assert store.reject_count(CONN) == 2
    # a pusher without the mapping, as `rejects --retry` makes one: the stored settings must win
    retried = retry_rejects(Pusher(_client(sandbox), CONN, helpdesk.actions()["create_ticket"], store), store)
    assert (retried.done, retried.rejected_locally, retried.rejected_by_api) == (1, 1, 0)
    (still,) = store.rejects(CONN)
    assert still.field == "from" and still.key == "rt-1"  # the old reason, not "body can't be blank"
    assert store.reject_count(CONN) == 1  # never more than before
    again = retry_rejects(Pusher(_client(sandbox), CONN, helpdesk.actions()["create_ticket"], store), store)
    assert again.rejected == 1 and store.reject_count(CONN) == 1
    assert sorted(_tickets(sandbox, "rt")) == ["rt0@recover.example", "rt2@recover.example", "rt3@recover.example"]
    assert {r.status for r in store.rejects(CONN, status=None)} == {"open", "resolved"}


def test_a_new_push_of_the_fixed_file_closes_the_reject(sandbox: Sandbox, store: Store) -> None:
    rows = _rows(sandbox, 3, "fx")
    rows[0][1]["email"] = "broken"
    assert _create(sandbox, store, key_field="id").run(rows).rejected_locally == 1
    rows[0][1]["email"] = "fx0@recover.example"
    fixed = _create(sandbox, store, key_field="id").run(rows)
    assert (fixed.done, fixed.skipped) == (1, 2)
    assert store.reject_count(CONN) == 0
    assert [r.status for r in store.rejects(CONN, status=None)] == ["resolved"]


def test_an_api_reject_is_sent_again_by_a_new_push_only_when_the_record_changed(sandbox: Sandbox, store: Store) -> None:
    action = helpdesk.actions()["update_ticket_state"]
    bad = [(2, {"id": "u1", "number": 999999, "state": "closed"})]
    assert Pusher(_client(sandbox), CONN, action, store, key_field="id").run(bad).rejected_by_api == 1
    same = Pusher(_client(sandbox), CONN, action, store, key_field="id").run(bad)
    assert (same.sent, same.skipped) == (0, 1)  # the same payload would be refused again
    fixed = Pusher(_client(sandbox), CONN, action, store, key_field="id").run([(2, {**bad[0][1], "number": 1})])
    assert fixed.done == 1 and store.reject_count(CONN) == 0


def test_dismiss_closes_one_or_all_open_rejects(sandbox: Sandbox, store: Store) -> None:
    rows = _rows(sandbox, 3, "ds")
    for _, raw in rows:
        raw["email"] = "broken"
    _create(sandbox, store).run(rows)
    first, *_ = store.rejects(CONN)
    assert store.dismiss_rejects(CONN, ids=[first.id]) == 1
    assert store.reject_count(CONN) == 2
    assert store.dismiss_rejects(CONN, "create_ticket") == 2
    assert store.reject_count(CONN) == 0 and store.reject_count(CONN, status="dismissed") == 3


# -- 2. an outage is not a reject ----------------------------------------------------------------------
def test_an_unreachable_api_stops_the_push_fast_and_a_rerun_sends_everything(sandbox: Sandbox, store: Store) -> None:
    rows = _rows(sandbox, 20, "out")
    down = Pusher(
        _client(sandbox, f"http://127.0.0.1:{_closed_port()}/groove-helpdesk/v1"),
        CONN,
        helpdesk.actions()["create_ticket"],
        store,
        mapping=MAP,
        batch_size=7,
    )
    began = time.perf_counter()
    with pytest.raises(TransportError) as raised:
        down.run(rows)
    assert time.perf_counter() - began < 5  # one record's retries, not 20 records' worth
    assert not raised.value.maybe_sent
    assert store.reject_count(CONN) == 0 and down.result.rejected == 0
    assert store.ledger_counts(CONN, "create_ticket") == {"pending": 7}  # the first batch, marked then unsent
    back = _create(sandbox, store).run(rows)
    assert (back.done, back.skipped, back.rejected) == (20, 0, 0)
    assert len(_tickets(sandbox, "out")) == 20


def test_5xx_past_the_retry_budget_on_an_update_stops_the_push_without_rejects(sandbox: Sandbox, store: Store) -> None:
    sandbox.ctx.faults.replace([{"match": {"api": CONN, "method": "PUT"}, "effect": {"status": 503}}])
    action = helpdesk.actions()["update_ticket_state"]
    rows = [(2, {"number": 1, "state": "closed"}), (3, {"number": 2, "state": "closed"})]
    pusher = Pusher(_client(sandbox), CONN, action, store)
    with pytest.raises(ServerError):
        pusher.run(rows)
    assert store.reject_count(CONN) == 0
    assert sorted(store.ledger_counts(CONN, action.name).items()) == [("pending", 1), ("unknown", 1)]
    sandbox.ctx.faults.replace([])
    assert Pusher(_client(sandbox), CONN, action, store).run(rows).done == 2


# -- 3. a failed reconcile lookup leaves the record unknown ----------------------------------------------
@pytest.mark.parametrize("lookup_fault", [{"status": 503}, {"timeout": True, "seconds": 5}])
def test_a_failed_reconcile_lookup_leaves_the_record_unknown_for_the_next_run(
    sandbox: Sandbox, store: Store, lookup_fault: dict[str, Any]
) -> None:
    sandbox.ctx.faults.replace(
        [
            {"match": {"api": CONN, "method": "POST", "path": "/tickets"}, "effect": {"drop": True}, "after": True},
            {"match": {"api": CONN, "method": "GET", "path": "/tickets"}, "effect": lookup_fault},
        ]
    )
    rows = _rows(sandbox, 1, "lk")
    pusher = Pusher(
        _client(sandbox, timeout=0.3), CONN, helpdesk.actions()["create_ticket"], store, mapping=MAP, batch_size=1
    )
    with pytest.raises((ServerError, TransportError)):
        pusher.run(rows)
    assert (pusher.result.done, pusher.result.rejected) == (0, 0)
    assert store.ledger_counts(CONN, "create_ticket") == {"unknown": 1}
    assert store.reject_count(CONN) == 0
    assert _tickets(sandbox, "lk") == ["lk0@recover.example"]  # the create did happen
    sandbox.ctx.faults.replace([])
    again = _create(sandbox, store).run(rows)
    assert (again.reconciled, again.done, again.sent) == (1, 1, 0)
    assert _tickets(sandbox, "lk") == ["lk0@recover.example"]


# -- 4. Volt: a reconcile never claims another record's message ----------------------------------------
def test_volt_a_lost_text_is_not_taken_for_an_identical_text_of_another_row(sandbox: Sandbox, store: Store) -> None:
    creds = dict(sandbox.credentials()["volt"])
    url, secrets, _ = connectors.from_sandbox("volt", creds)
    client = volt.make_client(url, secrets["token"], transport=sandbox.transport(), retry=FAST)
    primary, to = creds["primary_phone"], creds["samples"]["contact_phones"][0]
    body = "Same words, two texts"
    rows = [(line, {"id": key, "to": to, "from": primary, "body": body}) for line, key in ((2, "a"), (3, "b"))]
    armed: list[bool] = []

    def after_first_batch(_: str, counts: dict[str, Any]) -> None:
        if not armed:  # the second row's send answers 503 before Volt acts on it
            armed.append(True)
            sandbox.ctx.faults.replace(
                [{"match": {"api": "volt", "operation": "createMessage"}, "effect": {"status": 503}, "times": 1}]
            )

    pusher = Pusher(
        client,
        "volt",
        volt.actions()["send_message"],
        store,
        key_field="id",
        batch_size=1,
        progress=after_first_batch,
    )
    result = pusher.run(rows)
    texts = sandbox.ctx.store.all("SELECT id FROM vt_messages WHERE tenant_id = 1 AND body = ?", (body,))
    assert (result.done, result.reconciled) == (2, 0)
    assert len(texts) == 2
    held = store.execute("SELECT key, remote_id FROM _engagesync.ledger ORDER BY key")
    assert sorted(r[1] for r in held) == sorted(str(t["id"]) for t in texts)


# -- 5. the default key is the source row ---------------------------------------------------------------
def test_without_key_a_changed_mapping_recreates_nothing(sandbox: Sandbox, store: Store) -> None:
    rows = _rows(sandbox, 4, "mk")
    assert _create(sandbox, store).run(rows).done == 4
    remapped = Mapping.parse(["from=email", "body=message", "to=inbox", "subject=Re: {subject}"])
    again = _create(sandbox, store, mapping=remapped).run(rows)
    assert (again.sent, again.skipped) == (0, 4)
    assert len(_tickets(sandbox, "mk")) == 4


def test_a_ledger_keyed_by_the_old_default_still_counts(sandbox: Sandbox, store: Store) -> None:
    action = helpdesk.actions()["create_ticket"]
    rows = _rows(sandbox, 2, "lg")
    old_key = payload_key(action.prepare(MAP.apply(rows[0][1])))
    store.ledger_put(CONN, action.name, old_key, "done", remote_id="1")
    result = _create(sandbox, store).run(rows)
    assert (result.done, result.skipped) == (1, 1)
    assert _tickets(sandbox, "lg") == ["lg1@recover.example"]


def test_a_mapping_fixed_without_key_closes_the_reject_of_the_same_row(sandbox: Sandbox, store: Store) -> None:
    rows = _rows(sandbox, 2, "mf")
    wrong = Mapping.parse(["from=email", "body=note", "to=inbox"], passthrough=["subject"])  # note is empty
    assert _create(sandbox, store, mapping=wrong).run(rows).rejected_locally == 2
    fixed = _create(sandbox, store).run(rows)
    assert fixed.done == 2 and store.reject_count(CONN) == 0


def test_outcome_unknown_resends_are_still_bounded(sandbox: Sandbox, store: Store) -> None:
    """A create answered 503 on every attempt stops as an outage after its resends (no endless loop)."""
    sandbox.ctx.faults.replace(
        [{"match": {"api": CONN, "method": "POST", "path": "/tickets"}, "effect": {"status": 503}}]
    )
    with pytest.raises(OutcomeUnknown):
        _create(sandbox, store).run(_rows(sandbox, 3, "bd"))
    posts = [e for e in sandbox.ctx.journal.entries(api=CONN, limit=0) if e.method == "POST"]
    assert len(posts) == 3 + 3  # each record once, then the first one's resends; then it stops
    assert store.ledger_counts(CONN, "create_ticket") == {"unknown": 3}
