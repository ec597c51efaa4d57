"""The GrowthGenius connector against the sandbox: incremental window pulls and duplicate-safe pushes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engagesync.apis.growthgenius import connector
from engagesync.client.errors import AuthError
from engagesync.client.http import ApiClient, RetryPolicy
from engagesync.client.windows import restart_state
from engagesync.sandbox.app import Sandbox
from engagesync.sync.pull import PullError, pull
from engagesync.sync.push import Pusher, record_key
from engagesync.sync.store import Store
from tests.transports import Passthrough

CONN = "growthgenius"


def make(sandbox: Sandbox, attempts: int = 4) -> ApiClient:
    creds = sandbox.credentials()["growthgenius"]
    return connector.make_client(
        creds["base_url"],
        creds["api_key"],
        creds["user_id"],
        transport=Passthrough(sandbox.transport()),
        retry=RetryPolicy(attempts=attempts, base_delay=0.001, max_delay=0.01),
    )


@pytest.fixture
def client(sandbox: Sandbox) -> Iterator[ApiClient]:
    with make(sandbox) as c:
        yield c


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(str(tmp_path / "gg.duckdb")) as s:
        yield s


def set_window_limit(sandbox: Sandbox, limit: int) -> None:
    with sandbox.client() as admin:
        admin.put("/_sandbox/growthgenius/settings", json={"window_limit": limit}).raise_for_status()


def source(sandbox: Sandbox, table: str) -> dict[int, str]:
    """id -> updated_at (ms) of every row the sandbox holds for the default tenant."""
    return {
        r["id"]: r["updated_at"]
        for r in sandbox.ctx.store.all(f"SELECT id, updated_at FROM {table} WHERE tenant_id = 1")
    }


def pulled(store: Store, stream: str) -> list[int]:
    return [int(r[0]) for r in store.execute(f"SELECT id FROM growthgenius.{stream}")]


def test_check_names_the_user_and_a_wrong_key_is_refused(sandbox: Sandbox, client: ApiClient) -> None:
    assert connector.check(client)["user_id"] == sandbox.credentials()["growthgenius"]["user_id"]
    creds = sandbox.credentials()["growthgenius"]
    bad = connector.make_client(
        creds["base_url"], "wrong-key", creds["user_id"], transport=Passthrough(sandbox.transport())
    )
    with pytest.raises(AuthError, match="Invalid API key"):
        connector.check(bad)
    with pytest.raises(ValueError, match="user_id"):
        connector.make_client(creds["base_url"], creds["api_key"], None)


def test_a_pull_copies_every_stream_with_dense_windows_split(sandbox: Sandbox, client: ApiClient, store: Store) -> None:
    set_window_limit(sandbox, 9)
    result = pull(client, CONN, connector.streams(limit=9), None, store)
    assert result.ok
    assert sorted(pulled(store, "contacts")) == sorted(source(sandbox, "gg_contacts"))
    assert sorted(pulled(store, "messages")) == sorted(source(sandbox, "gg_messages"))
    assert result.streams["contacts"].records == 120  # each exactly once
    assert result.streams["contacts"].requests > 120 // 9  # it had to split
    users = store.execute("SELECT id, roles FROM growthgenius.users ORDER BY id")
    assert users[0][0] == 1 and json.loads(users[0][1]) == ["superadmin", "admin"]
    first = store.execute("SELECT email, contact_account, updated_at FROM growthgenius.contacts ORDER BY id LIMIT 1")
    assert "@" in first[0][0] and json.loads(first[0][1])["status"] in ("cold", "warm", "hot")


def test_the_second_pull_picks_up_exactly_the_changed_records(
    sandbox: Sandbox, client: ApiClient, store: Store
) -> None:
    streams = connector.streams()
    assert pull(client, CONN, streams, None, store).ok
    sandbox.ctx.clock.advance(5)
    api = connector.GrowthGenius(client)
    ids = sandbox.credentials()["growthgenius"]["samples"]["contact_ids"]
    for contact_id in ids[:2]:
        api.update_contact(contact_id, title="Chief Pipeline Officer")
    new = api.create_contact(email="fresh@new.example", first_name="Fresh")["contact"]
    message_id = sandbox.credentials()["growthgenius"]["samples"]["message_ids"][0]
    api.update_message(message_id, rendered_subject="Changed")
    sandbox.ctx.clock.advance(5)  # past the pull's lag behind the server's clock
    second = pull(client, CONN, streams, None, store)
    assert (second.streams["contacts"].records, second.streams["messages"].records) == (3, 1)
    titles = dict(
        store.execute("SELECT id, title FROM growthgenius.contacts WHERE id IN (?, ?, ?)", [*ids[:2], new["id"]])
    )
    assert titles == {ids[0]: "Chief Pipeline Officer", ids[1]: "Chief Pipeline Officer", new["id"]: None}
    assert store.execute("SELECT rendered_subject FROM growthgenius.messages WHERE id = ?", [message_id]) == [
        ("Changed",)
    ]
    third = pull(client, CONN, streams, None, store)
    assert third.streams["contacts"].records == 0 and third.streams["contacts"].requests <= 1


def test_a_pull_failing_mid_way_resumes_to_an_exact_copy(sandbox: Sandbox, store: Store) -> None:
    set_window_limit(sandbox, 10)
    sandbox.ctx.faults.replace(
        [
            {
                "match": {"api": "growthgenius", "method": "GET", "path": "/contacts"},
                "effect": {"status": 503},
                "probability": 0.2,
            }
        ],
        seed=4,
    )
    streams = connector.streams(limit=10)
    failures = 0
    for _ in range(40):
        try:
            result = pull(make(sandbox, attempts=1), CONN, streams, ["contacts"], store, commit_records=1)
        except PullError as exc:
            failures += 1
            assert exc.result.streams["contacts"].status == "failed"
            continue
        assert result.ok
        break
    assert failures >= 1, "no pull was interrupted; the test proved nothing"
    ids = pulled(store, "contacts")
    assert len(ids) == len(set(ids)) and sorted(ids) == sorted(source(sandbox, "gg_contacts"))


def test_records_updated_during_a_pull_are_not_lost(sandbox: Sandbox, client: ApiClient) -> None:
    set_window_limit(sandbox, 10)
    sandbox.ctx.clock.freeze()
    stream = connector.streams(limit=10)["contacts"]
    api = connector.GrowthGenius(client)
    before = source(sandbox, "gg_contacts")
    newest = max(before, key=before.__getitem__)
    seen: list[dict[str, Any]] = []
    last: dict[str, Any] | None = None
    oldest = None
    for page in stream.pages(client, None):
        seen += page.records
        last = page.state
        if oldest is None and page.records:  # one contact already read, one not yet: both move to "now"
            oldest = page.records[0]["id"]
            api.update_contact(oldest, title="Moved A")
            api.update_contact(newest, title="Moved B")
    first_pass = {r["id"] for r in seen}
    assert newest not in first_pass  # it left the pass's range: updated after the pass's upper bound
    sandbox.ctx.clock.advance(5)
    again = [r for p in stream.pages(client, stream.restart_state(last)) for r in p.records]
    assert {r["id"]: r["title"] for r in again} == {oldest: "Moved A", newest: "Moved B"}


def test_ties_on_window_boundaries_are_neither_lost_nor_duplicated(sandbox: Sandbox, client: ApiClient) -> None:
    sandbox.reset(seed=0, counts={"growthgenius.contacts": 0, "growthgenius.messages": 0})
    sandbox.ctx.clock.freeze()
    api = connector.GrowthGenius(client)
    made = []
    for _ in range(8):  # 8 instants, 3 contacts each: every split lands among ties
        made += [api.create_contact(email=f"tie{len(made) + j}@x.example")["contact"]["id"] for j in range(3)]
        sandbox.ctx.clock.advance(0.001)
    sandbox.ctx.clock.advance(5)
    set_window_limit(sandbox, 4)
    stream = connector.streams(limit=4)["contacts"]
    pages = list(stream.pages(client, None))
    ids = [r["id"] for p in pages for r in p.records]
    assert sorted(ids) == sorted(made) and len(ids) == len(set(ids))
    assert sum(p.requests for p in pages) > 6


# -- push ------------------------------------------------------------------------------------------
def contacts_with(sandbox: Sandbox, domain: str) -> list[str]:
    return [
        r["email"] for r in sandbox.ctx.store.all("SELECT email FROM gg_contacts WHERE email LIKE ?", (f"%@{domain}",))
    ]


def rows(n: int, domain: str = "push.example") -> list[tuple[int, dict[str, Any]]]:
    return [
        (
            i + 2,
            {
                "email": f"lead{i}@{domain}",
                "first_name": f"Lead{i}",
                "last_name": "Push",
                "company_name": "PushCo",
                "email_confidence": "90",
            },
        )
        for i in range(n)
    ]


def test_a_contact_list_with_drops_after_commit_creates_each_contact_once(sandbox: Sandbox, store: Store) -> None:
    sandbox.ctx.faults.replace(
        [
            {
                "match": {"api": "growthgenius", "method": "POST", "path": "/contacts"},
                "effect": {"drop": True},
                "after": True,
                "probability": 0.5,
            }
        ],
        seed=3,
    )
    action = connector.actions()["create_contact"]
    result = Pusher(make(sandbox), CONN, action, store).run(rows(12))
    assert result.done == 12 and result.reconciled > 0
    emails = contacts_with(sandbox, "push.example")
    assert sorted(emails) == sorted(f"lead{i}@push.example" for i in range(12))  # once each
    again = Pusher(make(sandbox), CONN, action, store).run(rows(12))
    assert (again.skipped, again.sent) == (12, 0) and len(contacts_with(sandbox, "push.example")) == 12


def test_invalid_rows_become_rejects_with_clear_reasons(sandbox: Sandbox, store: Store) -> None:
    data = rows(5)
    data[1][1]["email"] = "not-an-email"
    data[2][1]["email"] = ""
    data[3][1]["email_confidence"] = "140"
    result = Pusher(make(sandbox), CONN, connector.actions()["create_contact"], store).run(data)
    assert (result.done, result.rejected_locally) == (2, 3)
    reasons = {(r.record["line"], r.field, r.reason) for r in store.rejects(CONN, "create_contact")}
    assert reasons == {
        (3, "email", "line 3: email is not a valid email address (got 'not-an-email')"),
        (4, "email", "line 4: email can't be blank"),
        (5, "email_confidence", "line 5: email_confidence must be between 0 and 100 (got 140)"),
    }
    assert sorted(contacts_with(sandbox, "push.example")) == ["lead0@push.example", "lead4@push.example"]


def test_a_crash_between_send_and_ledger_is_reconciled_on_rerun(sandbox: Sandbox, store: Store) -> None:
    action = connector.actions()["create_contact"]
    data = rows(3, "crash.example")
    record = action.prepare(data[0][1])
    key = record_key(record, None, data[0][1])
    request = action.build(record)
    store.ledger_put(CONN, action.name, key, "sent", request=request.describe(""), attempt=True)
    make(sandbox).request(request.method, request.path, json=request.json, idempotent=False)  # it did land
    result = Pusher(make(sandbox), CONN, action, store).run(data)
    assert result.reconciled == 1 and result.done == 3
    assert sorted(contacts_with(sandbox, "crash.example")) == [f"lead{i}@crash.example" for i in range(3)]


def test_an_identical_older_contact_does_not_pass_for_a_create_that_failed(sandbox: Sandbox, store: Store) -> None:
    """No dedupe upstream: a 503 before commit must lead to a resend even if a twin already exists."""
    client = make(sandbox)
    twin = rows(1, "twin.example")[0][1]
    connector.GrowthGenius(client).create_contact(**{**twin, "email_confidence": 90})
    sandbox.ctx.clock.advance(120)
    connector.check(client)  # the client learns the server's time before the push starts
    sandbox.ctx.faults.replace(
        [
            {
                "match": {"api": "growthgenius", "method": "POST", "path": "/contacts"},
                "effect": {"status": 503},
                "times": 1,
            }
        ]
    )
    result = Pusher(client, CONN, connector.actions()["create_contact"], store).run(rows(1, "twin.example"))
    assert result.done == 1 and result.reconciled == 0
    assert contacts_with(sandbox, "twin.example") == ["lead0@twin.example"] * 2


def test_upsert_updates_the_contact_with_that_email_or_creates_it(sandbox: Sandbox, store: Store) -> None:
    existing = sandbox.credentials()["growthgenius"]["samples"]["contact_emails"][0]
    sandbox.ctx.faults.replace(
        [
            {
                "match": {"api": "growthgenius", "method": "POST", "path": "/contacts"},
                "effect": {"drop": True},
                "after": True,
                "probability": 0.4,
            },
            {
                "match": {"api": "growthgenius", "method": "PATCH", "path": "/contacts/*"},
                "effect": {"drop": True},
                "after": True,
                "probability": 0.4,
            },
        ],
        seed=8,
    )
    data = [(2, {"email": existing.upper(), "title": "Upserted"}), *rows(4, "upsert.example")]
    result = Pusher(make(sandbox), CONN, connector.actions()["upsert_contact"], store).run(data)
    assert result.done == 5
    matches = sandbox.ctx.store.all("SELECT data FROM gg_contacts WHERE email = ?", (existing,))
    assert len(matches) == 1 and json.loads(matches[0]["data"])["title"] == "Upserted"
    assert sorted(contacts_with(sandbox, "upsert.example")) == [f"lead{i}@upsert.example" for i in range(4)]


def test_messages_with_drops_after_commit_are_created_once(sandbox: Sandbox, store: Store) -> None:
    contact = sandbox.credentials()["growthgenius"]["samples"]["contact_ids"][0]
    sandbox.ctx.faults.replace(
        [
            {
                "match": {"api": "growthgenius", "method": "POST", "path": "/messages"},
                "effect": {"drop": True},
                "after": True,
                "probability": 0.5,
            }
        ],
        seed=2,
    )
    data = [
        (
            i + 2,
            {
                "contact_id": str(contact),
                "message_type": "email",
                "rendered_copy": f"Note {i}",
                "sent_at": "2026-03-01T10:00:00.000-05:00",
            },
        )
        for i in range(6)
    ]
    result = Pusher(make(sandbox), CONN, connector.actions()["create_message"], store).run(data)
    assert result.done == 6 and result.reconciled > 0
    copies = [
        json.loads(r["data"])["rendered_copy"]
        for r in sandbox.ctx.store.all(
            "SELECT data FROM gg_messages WHERE contact_id = ? AND json_extract(data, '$.message_type') = 'email'"
            " AND json_extract(data, '$.rendered_copy') LIKE 'Note %'",
            (contact,),
        )
    ]
    assert sorted(copies) == [f"Note {i}" for i in range(6)]


def test_update_and_delete_actions(sandbox: Sandbox, store: Store) -> None:
    ids = sandbox.credentials()["growthgenius"]["samples"]["contact_ids"]
    actions = connector.actions()
    updated = Pusher(make(sandbox), CONN, actions["update_contact"], store).run(
        [(2, {"id": str(ids[0]), "custom3": "gold"}), (3, {"id": "99", "custom3": "x"})]
    )
    assert (updated.done, updated.rejected_by_api) == (1, 1)
    (reject,) = store.rejects(CONN, "update_contact")
    assert reject.reason == "line 3: Contact 99 not found"
    deleted = Pusher(make(sandbox), CONN, actions["delete_contact"], store).run([(2, {"id": ids[1]})])
    assert deleted.done == 1 and ids[1] not in source(sandbox, "gg_contacts")
    dry = Pusher(make(sandbox), CONN, actions["create_contact"], store).run(rows(1), dry_run=True)
    assert dry.requests[0]["body"] == {
        "contact": {
            "email": "lead0@push.example",
            "first_name": "Lead0",
            "last_name": "Push",
            "company_name": "PushCo",
            "email_confidence": 90,
        }
    }
    assert sandbox.credentials()["growthgenius"]["api_key"] not in repr(dry.requests)


def test_stream_restart_state_is_the_engine_rule() -> None:
    assert (
        connector.streams()["contacts"].restart_state({"since": 5, "width": 2})
        == restart_state({"since": 5, "width": 2})
        == {"since": 5, "width": 2}
    )
