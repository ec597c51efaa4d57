"""The Volt connector against the in-process sandbox: every stream pulled into DuckDB equals the source, a
pull interrupted mid-way resumes where it stopped, pushes reject bad rows by field and re-run idempotently,
and a send whose response was lost is reconciled without a duplicate."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from engagesync.apis.volt import connector
from engagesync.client.http import ApiClient, RetryPolicy
from engagesync.sandbox.app import Sandbox
from engagesync.sync import connectors
from engagesync.sync.connections import Connection
from engagesync.sync.pull import PullError, pull
from engagesync.sync.push import Pusher
from engagesync.sync.store import Store

CONN = "volt"
SINK = "http://sandbox/_sandbox/sink/volt"  # the sandbox's receiver: it answers the registration's test request
FAST = RetryPolicy(attempts=3, base_delay=0.001, max_delay=0.01)


class Keep(httpx.BaseTransport):
    """The sandbox's transport, left open when a client closes (several clients share it)."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.graphql = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.graphql += request.url.path.endswith("/graphql")
        return self.inner.handle_request(request)


class Cut(Keep):
    """Answers 503 to every GraphQL request after the first ``allowed`` (the connection "dies")."""

    def __init__(self, inner: httpx.BaseTransport, allowed: int) -> None:
        super().__init__(inner)
        self.allowed = allowed

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/graphql") and self.graphql >= self.allowed:
            return httpx.Response(503, json={"errors": [{"message": "unavailable"}]})
        return super().handle_request(request)


@pytest.fixture
def creds(sandbox: Sandbox) -> dict[str, Any]:
    return dict(sandbox.credentials()["volt"])


@pytest.fixture
def connection(creds: dict[str, Any]) -> Connection:
    url, secrets, settings = connectors.from_sandbox(CONN, creds)
    return Connection(CONN, CONN, url, secrets, settings)


@pytest.fixture
def client(sandbox: Sandbox, connection: Connection) -> Iterator[ApiClient]:
    with connectors.client_for(connection, transport=Keep(sandbox.transport()), retry=FAST) as c:
        yield c


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(str(tmp_path / "pulled.duckdb")) as s:
        yield s


def account_id(sandbox: Sandbox, primary: str) -> int:
    return int(
        sandbox.ctx.store.scalar("SELECT id FROM vt_accounts WHERE tenant_id = 1 AND primary_phone = ?", (primary,))
    )


def source_messages(sandbox: Sandbox, primary: str) -> list[tuple[str, str, str, str]]:
    rows = sandbox.ctx.store.all(
        "SELECT id, peer, body, status FROM vt_messages WHERE tenant_id = 1 AND account_id = ?",
        (account_id(sandbox, primary),),
    )
    return sorted((str(r["id"]), r["peer"], r["body"], r["status"]) for r in rows)


def stored_messages(store: Store) -> list[tuple[str, str, str, str]]:
    return sorted(tuple(r) for r in store.execute("SELECT id, peer, body, status FROM volt.messages"))


def sends(sandbox: Sandbox) -> int:
    return len([e for e in sandbox.ctx.journal.entries(api=CONN, limit=10_000) if e.operation == "createMessage"])


def test_the_sandbox_connection_carries_the_bearer_token_and_primary_number(
    connection: Connection, creds: dict[str, Any], client: ApiClient
) -> None:
    assert connection.base_url == creds["graphql_url"] and connection.secrets == {"token": creds["token"]}
    assert connection.settings == {"primary_phone": creds["primary_phone"], "rate_limit": 0}  # no limit enforced
    assert connectors.check(connection, client)["ok"]
    assert client.budget.window_seconds == 60.0 and client.budget.limit is None  # the sandbox enforces none
    with connector.make_client(connection.base_url, token=creds["token"]) as unrecorded:  # a real account
        assert unrecorded.budget.window_seconds == 60.0 and unrecorded.budget.limit == 100


def test_every_stream_pulled_into_duckdb_equals_the_source(
    sandbox: Sandbox, creds: dict[str, Any], client: ApiClient, store: Store
) -> None:
    primary = creds["primary_phone"]
    with sandbox.client() as admin:  # one webhook, so that stream has a row
        hook = admin.post(
            "/volt/graphql",
            headers={"Authorization": f"Bearer {creds['token']}"},
            json={
                "query": "mutation r($url: String!) { registerWebhook(url: $url) { id } }",
                "variables": {"url": SINK},
            },
        ).json()
    result = pull(client, CONN, connector.streams(primary_phone=primary), None, store)
    assert result.ok, {n: s.error for n, s in result.streams.items()}
    assert stored_messages(store) == source_messages(sandbox, primary)
    assert len(stored_messages(store)) > 20  # several conversation pages
    aid = account_id(sandbox, primary)
    peers = sorted(
        r["peer"]
        for r in sandbox.ctx.store.all(
            "SELECT DISTINCT peer FROM vt_messages WHERE tenant_id = 1 AND account_id = ?", (aid,)
        )
    )
    assert [r[0] for r in store.execute('SELECT "phoneNumber" FROM volt.conversations ORDER BY 1')] == peers
    assert len(peers) > 20  # more than one inbox page
    contacts = sorted(
        (str(r["id"]), r["phone"], r["name"])
        for r in sandbox.ctx.store.all(
            "SELECT id, phone, name FROM vt_contacts WHERE tenant_id = 1 AND id IN (SELECT contact_id FROM vt_messages "
            "WHERE tenant_id = 1 AND account_id = ?)",
            (aid,),
        )
    )
    assert sorted(tuple(r) for r in store.execute('SELECT id, "phoneNumber", name FROM volt.contacts')) == contacts
    hook_id = str(hook["data"]["registerWebhook"]["id"])
    assert store.execute("SELECT id, url FROM volt.webhooks") == [(hook_id, SINK)]


def test_messages_resume_inside_the_conversation_and_page_they_stopped_at(
    creds: dict[str, Any], client: ApiClient
) -> None:
    stream = connector.streams(primary_phone=creds["primary_phone"])["messages"]
    pages = list(stream.pages(client, None))
    everything = [r["id"] for p in pages for r in p.records]
    assert len(everything) == len(set(everything)) and pages[-1].state is None
    inside = next(k for k, p in enumerate(pages[:-1]) if p.state and p.state["before"])
    for k in (inside, len(pages) // 2):
        done = sum(len(p.records) for p in pages[: k + 1])
        resumed = [r["id"] for p in stream.pages(client, pages[k].state) for r in p.records]
        assert resumed == everything[done:], f"resume after page {k} ({pages[k].state})"


def test_an_interrupted_pull_saves_its_state_and_resumes_to_an_exact_copy(
    sandbox: Sandbox, creds: dict[str, Any], connection: Connection, store: Store
) -> None:
    streams = connector.streams(primary_phone=creds["primary_phone"])
    full = Keep(sandbox.transport())
    with connectors.client_for(connection, transport=full, retry=FAST) as whole:
        list(streams["messages"].pages(whole, None))
    cut = Cut(sandbox.transport(), allowed=full.graphql // 2)
    with (
        connectors.client_for(connection, transport=cut, retry=RetryPolicy(attempts=1)) as dying,
        pytest.raises(PullError),
    ):
        pull(dying, CONN, streams, ["messages"], store, commit_records=1)
    state = store.get_state(CONN, "messages")
    assert state is not None and state["cursor"]["to"]  # saved mid-way
    partial = len(stored_messages(store))
    assert 0 < partial < len(source_messages(sandbox, creds["primary_phone"]))
    again = Keep(sandbox.transport())
    with connectors.client_for(connection, transport=again, retry=FAST) as resumed:
        assert pull(resumed, CONN, streams, ["messages"], store).ok
    assert stored_messages(store) == source_messages(sandbox, creds["primary_phone"])
    assert again.graphql < full.graphql  # it did not start over


def test_a_push_sends_good_rows_rejects_a_bad_phone_by_field_and_a_rerun_sends_nothing(
    sandbox: Sandbox, creds: dict[str, Any], client: ApiClient, store: Store
) -> None:
    primary = creds["primary_phone"]
    to = creds["samples"]["contact_phones"]
    rows = [
        (2, {"to": to[0], "from": primary, "body": "Your order is ready"}),
        (3, {"to": "555-0100", "from": primary, "body": "bad number"}),  # refused locally
        (4, {"to": to[1], "from": primary, "body": ""}),  # blank body, no media: refused locally
        (5, {"to": "+15005550001", "from": "+19998887777", "body": "not our number"}),  # refused by Volt
        (6, {"to": to[2], "from": primary, "body": "See you soon"}),
    ]
    action = connector.actions()["send_message"]
    before = sends(sandbox)
    result = Pusher(client, CONN, action, store).run(iter(rows))
    assert (result.read, result.done, result.rejected_locally, result.rejected_by_api) == (5, 2, 2, 1)
    assert sends(sandbox) - before == 3  # the two local rejects never went out
    rejects = sorted((r.field, r.reason) for r in store.rejects(CONN))
    assert [f for f, _ in rejects] == ["body", "from", "to"]
    assert rejects[2][1] == "line 3: to must be an E.164 phone number such as +15555550123 (got '555-0100')"
    assert rejects[0][1] == "line 4: body can't be blank (or attach media)"
    assert "line 5" in rejects[1][1] and "+19998887777" in rejects[1][1]
    bodies = {r["body"] for r in sandbox.ctx.store.all("SELECT body FROM vt_messages WHERE tenant_id = 1")}
    assert {"Your order is ready", "See you soon"} <= bodies
    again = Pusher(client, CONN, action, store).run(iter(rows))
    assert (again.done, again.sent, sends(sandbox) - before) == (0, 0, 3)


def test_a_send_whose_response_is_lost_is_reconciled_without_a_duplicate(
    sandbox: Sandbox, creds: dict[str, Any], client: ApiClient, store: Store
) -> None:
    primary, to = creds["primary_phone"], creds["samples"]["contact_phones"][0]
    sandbox.ctx.faults.replace(
        [{"match": {"api": CONN, "operation": "createMessage"}, "effect": {"drop": True}, "after": True, "times": 1}],
        seed=1,
    )
    body = "Lost in transit, sent once"
    result = Pusher(client, CONN, connector.actions()["send_message"], store).run(
        iter([(2, {"to": to, "from": primary, "body": body})])
    )
    assert (result.done, result.reconciled, result.rejected) == (1, 1, 0)
    found = sandbox.ctx.store.all("SELECT id FROM vt_messages WHERE tenant_id = 1 AND body = ?", (body,))
    assert len(found) == 1
    assert store.execute("SELECT remote_id FROM _engagesync.ledger") == [(found[0]["id"],)]


def test_a_send_lost_before_it_arrived_is_looked_up_then_sent_once(
    sandbox: Sandbox, creds: dict[str, Any], client: ApiClient, store: Store
) -> None:
    primary, to = creds["primary_phone"], creds["samples"]["contact_phones"][1]
    sandbox.ctx.faults.replace(
        [{"match": {"api": CONN, "operation": "createMessage"}, "effect": {"drop": True}, "times": 1}], seed=1
    )
    body = "Dropped on the way, sent again"
    result = Pusher(client, CONN, connector.actions()["send_message"], store).run(
        iter([(2, {"to": to, "from": primary, "body": body})])
    )
    assert (result.done, result.reconciled, result.rejected) == (1, 0, 0)
    found = sandbox.ctx.store.all("SELECT id FROM vt_messages WHERE tenant_id = 1 AND body = ?", (body,))
    assert len(found) == 1


def test_upsert_contact_creates_then_updates_and_rejects_by_field(
    sandbox: Sandbox, creds: dict[str, Any], client: ApiClient, store: Store
) -> None:
    primary = creds["primary_phone"]
    action = connector.actions()["upsert_contact"]
    rows = [
        (
            2,
            {
                "phoneNumber": "+15005550777",
                "accountPhone": primary,
                "name": "Road Runner",
                "customFields": '{"speed": "fast"}',
            },
        ),
        (3, {"phoneNumber": "+1 500 555", "accountPhone": primary, "name": "Nobody"}),
    ]
    result = Pusher(client, CONN, action, store).run(iter(rows))
    assert (result.done, result.rejected_locally) == (1, 1)
    assert [r.field for r in store.rejects(CONN)] == ["phoneNumber"]
    row = sandbox.ctx.store.one(
        "SELECT name, custom FROM vt_contacts WHERE tenant_id = 1 AND phone = ?", ("+15005550777",)
    )
    assert row is not None and row["name"] == "Road Runner" and "fast" in row["custom"]
    renamed = [(2, {**rows[0][1], "name": "Road Runner II"})]
    assert Pusher(client, CONN, action, store).run(iter(renamed)).done == 1
    count = sandbox.ctx.store.scalar(
        "SELECT COUNT(*) FROM vt_contacts WHERE tenant_id = 1 AND phone = ?", ("+15005550777",)
    )
    assert count == 1


def test_a_dry_run_previews_the_mutation_and_sends_nothing(
    sandbox: Sandbox, creds: dict[str, Any], client: ApiClient, store: Store
) -> None:
    rows = [(2, {"to": creds["samples"]["contact_phones"][0], "from": creds["primary_phone"], "body": "hi"})]
    before = sends(sandbox)
    result = Pusher(client, CONN, connector.actions()["send_message"], store).run(iter(rows), dry_run=True)
    [preview] = result.requests
    assert preview["body"]["query"].startswith("mutation createMessage(")
    assert preview["body"]["variables"]["body"] == "hi"
    assert sends(sandbox) == before
