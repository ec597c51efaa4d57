"""Volt's list, schedule and webhook actions against the in-process sandbox: each one sends good rows and
rejects bad ones by field (locally with the emulator's own rules, or as the API refuses them), a lost
response is reconciled without a duplicate, and the lists and waves streams read what was made."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engagesync.apis.volt import connector
from engagesync.apis.volt.connector import campaigns
from engagesync.client.http import ApiClient
from engagesync.sandbox.app import Sandbox
from engagesync.sync import connectors
from engagesync.sync.connections import Connection
from engagesync.sync.pull import pull
from engagesync.sync.push import Pusher
from engagesync.sync.store import Store
from tests.volt.conftest import GRAPHQL
from tests.volt.test_connector import CONN, FAST, SINK, Keep

LATER = "2030-01-01 10:00:00"


@pytest.fixture
def creds(sandbox: Sandbox) -> dict[str, Any]:
    return dict(sandbox.credentials()["volt"])


@pytest.fixture
def client(sandbox: Sandbox, creds: dict[str, Any]) -> Iterator[ApiClient]:
    url, secrets, settings = connectors.from_sandbox(CONN, creds)
    with connectors.client_for(
        Connection(CONN, CONN, url, secrets, settings), transport=Keep(sandbox.transport()), retry=FAST
    ) as c:
        yield c


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(str(tmp_path / "pushed.duckdb")) as s:
        yield s


def push(client: ApiClient, store: Store, action: str, *records: dict[str, Any]) -> Any:
    rows = [(line, record) for line, record in enumerate(records, start=2)]
    return Pusher(client, CONN, connector.actions()[action], store).run(iter(rows))


def rejects(store: Store) -> list[tuple[str | None, str | None]]:
    return sorted((r.field, r.reason) for r in store.rejects(CONN))


def waves(sandbox: Sandbox, body: str) -> list[Any]:
    return sandbox.ctx.store.all("SELECT * FROM vt_waves WHERE tenant_id = 1 AND body = ?", (body,))


def lose_response(sandbox: Sandbox, operation: str) -> None:
    """The next ``operation`` is committed by the sandbox, then its response is dropped."""
    sandbox.ctx.faults.replace(
        [{"match": {"api": CONN, "operation": operation}, "effect": {"drop": True}, "after": True, "times": 1}],
        seed=1,
    )


def remote_ids(store: Store, action: str) -> list[str]:
    rows = store.execute("SELECT remote_id FROM _engagesync.ledger WHERE action = ? ORDER BY key", [action])
    return [str(r[0]) for r in rows]


# -- lists ---------------------------------------------------------------------------------------------
def test_lists_are_upserted_by_name_rejected_by_field_and_pulled_by_name(
    sandbox: Sandbox, creds: dict[str, Any], client: ApiClient, store: Store
) -> None:
    primary = creds["primary_phone"]
    good = {
        "primaryPhone": primary,
        "listName": "Coyotes",
        "queryNameSearchTerm": "Coyote",
        "queryCustomFields": '[{"field": "species", "operator": "is", "queryValue": "Canis"}]',
    }
    result = push(
        client,
        store,
        "create_or_update_list",
        good,
        {"primaryPhone": primary, "listName": "All"},  # the built-in list: refused locally
        {"primaryPhone": primary, "listName": "Self", "querySourceListName": "Self"},  # refused locally
        {
            "primaryPhone": primary,
            "listName": "Shoes",
            "queryCustomFields": [{"field": "shoe_size", "operator": "gt", "queryValue": 9}],
        },
    )
    assert (result.done, result.rejected_locally, result.rejected_by_api) == (1, 2, 1)
    assert rejects(store) == [
        ("listName", 'line 3: listName the "All" list is built in and cannot be changed'),
        (
            "queryCustomFields",
            'line 5: queryCustomFields: custom field "shoe_size" is not defined on the organization',
        ),
        ("querySourceListName", "line 4: querySourceListName a list cannot be built from itself"),
    ]
    again = push(client, store, "create_or_update_list", {**good, "queryNameSearchTerm": "Wile"})
    assert again.done == 1
    rows = sandbox.ctx.store.all("SELECT * FROM vt_lists WHERE tenant_id = 1 AND name = 'Coyotes'")
    assert len(rows) == 1 and rows[0]["name_term"] == "Wile"
    names = ["Coyotes", *creds["samples"]["list_names"][:1], "Gone"]  # a name that is no list is skipped
    streams = connector.streams(primary_phone=primary, list_names=",".join(names))
    pull(client, CONN, streams, ["lists"], store)
    pulled = store.execute("SELECT name, queryNameSearchTerm FROM volt.lists ORDER BY name")
    assert sorted(pulled) == sorted([("Coyotes", "Wile"), (creds["samples"]["list_names"][0], None)])


# -- scheduled messages and waves -------------------------------------------------------------------------
def test_a_scheduled_message_waits_for_its_time_then_its_wave_counts_the_deliveries(
    sandbox: Sandbox, creds: dict[str, Any], client: ApiClient, store: Store
) -> None:
    primary, to = creds["primary_phone"], creds["samples"]["contact_phones"]
    at = sandbox.ctx.clock.now() + 3600
    when = campaigns.contract.rfc3339(at)[:19].replace("T", " ")
    body = "Your table is ready in an hour"
    result = push(
        client,
        store,
        "schedule_message",
        {"primaryPhone": primary, "contactNumbers": f"{to[0]}, {to[1]}", "scheduledTime": when, "messageBody": body},
        {"primaryPhone": primary, "contactNumbers": "555-1234", "scheduledTime": "tomorrow", "messageBody": "x"},
    )
    assert (result.done, result.rejected_locally) == (1, 1)
    assert [f for f, _ in rejects(store)] == ["contactNumbers", "scheduledTime"]
    [wave_id] = remote_ids(store, "schedule_message")
    assert [str(w["id"]) for w in waves(sandbox, body)] == [wave_id]
    assert sandbox.ctx.store.scalar("SELECT COUNT(*) FROM vt_messages WHERE wave_id = ?", (int(wave_id),)) == 0
    streams = connector.streams(primary_phone=primary, wave_ids=wave_id)
    with sandbox.client() as admin:
        for seconds, delivered in ((3600, 0), (10, 2)):  # the wave goes out, then the carrier confirms
            assert admin.post("/_sandbox/clock/advance", json={"seconds": seconds}).status_code == 200
            pull(client, CONN, streams, ["waves"], store)
            assert store.execute("SELECT id, type, totalMessages, totalMessagesDelivered FROM volt.waves") == [
                (wave_id, "contact", 2, delivered)
            ]


def test_schedule_wave_rejects_by_field_and_sends_a_draft_never(
    sandbox: Sandbox, creds: dict[str, Any], client: ApiClient, store: Store
) -> None:
    primary, lists = creds["primary_phone"], creds["samples"]["list_names"]
    base = {"type": "account", "primaryPhone": primary, "waveName": "Brick sale", "scheduledTime": LATER}
    result = push(
        client,
        store,
        "schedule_wave",
        {**base, "listNames": ",".join(lists[:2]), "messageBody": "Hi {contact.first_name}, bricks!"},
        {**base, "status": "draft", "listNames": lists[0], "messageBody": "A draft"},
        {**base, "primaryPhone": None, "listNames": lists[0], "messageBody": "no account"},  # locally refused
        {**base, "listNames": "No such list", "messageBody": "refused by Volt"},
        {**base, "type": "galaxy", "listNames": lists[0], "messageBody": "bad type"},  # locally refused
    )
    assert (result.done, result.rejected_locally, result.rejected_by_api) == (2, 2, 1)
    assert rejects(store) == [
        ("listNames", 'line 5: listNames: no list named "No such list" on this account'),
        ("primaryPhone", "line 4: primaryPhone is required for an account wave"),
        ("type", "line 6: type must be one of account, organization (got 'galaxy')"),
    ]
    [sale] = waves(sandbox, "Hi {contact.first_name}, bricks!")
    [draft] = waves(sandbox, "A draft")
    assert (sale["status"], draft["status"], sale["type"]) == ("scheduled", "draft", "account")
    assert len(set(map(str, remote_ids(store, "schedule_wave"))) & {str(sale["id"]), str(draft["id"])}) == 2


# -- webhooks ------------------------------------------------------------------------------------------
def test_register_then_delete_a_webhook_and_reject_a_bad_url_or_id(
    sandbox: Sandbox, client: ApiClient, store: Store
) -> None:
    result = push(client, store, "register_webhook", {"url": SINK}, {"url": "ftp://example.com/hook"})
    assert (result.done, result.rejected_locally) == (1, 1)
    [hook_id] = remote_ids(store, "register_webhook")
    assert [r["url"] for r in sandbox.ctx.store.all("SELECT url FROM vt_webhooks WHERE tenant_id = 1")] == [SINK]
    gone = push(client, store, "delete_webhook", {"id": hook_id}, {"id": "abc"}, {"id": "999"})
    assert (gone.done, gone.rejected_locally, gone.rejected_by_api) == (1, 1, 1)
    assert sandbox.ctx.store.scalar("SELECT COUNT(*) FROM vt_webhooks WHERE tenant_id = 1") == 0
    assert [f for f, _ in rejects(store)] == ["id", "id", "url"]
    assert ("id", "line 4: webhook 999 not found") in rejects(store)


# -- lost responses --------------------------------------------------------------------------------------
def _lost_cases(creds: dict[str, Any]) -> list[tuple[str, str, dict[str, Any], str, tuple[Any, ...]]]:
    primary, to, lists = creds["primary_phone"], creds["samples"]["contact_phones"], creds["samples"]["list_names"]
    return [
        (
            "schedule_message",
            "scheduleMessage",
            {"primaryPhone": primary, "contactNumbers": to[0], "scheduledTime": LATER, "messageBody": "Lost once"},
            "SELECT COUNT(*) FROM vt_waves WHERE tenant_id = 1 AND body = ?",
            ("Lost once",),
        ),
        (
            "schedule_wave",
            "scheduleWave",
            {
                "type": "organization",
                "waveName": "Lost wave",
                "listNames": lists[0],
                "scheduledTime": LATER,
                "messageBody": "Lost wave body",
            },
            "SELECT COUNT(*) FROM vt_waves WHERE tenant_id = 1 AND body = ?",
            ("Lost wave body",),
        ),
        (
            "register_webhook",
            "registerWebhook",
            {"url": SINK},
            "SELECT COUNT(*) FROM vt_webhooks WHERE tenant_id = 1 AND url = ?",
            (SINK,),
        ),
        (
            "create_or_update_list",
            "createOrUpdateList",
            {"primaryPhone": primary, "listName": "Lost list"},
            "SELECT COUNT(*) FROM vt_lists WHERE tenant_id = 1 AND name = ?",
            ("Lost list",),
        ),
    ]


@pytest.mark.parametrize("case", range(4), ids=["schedule_message", "schedule_wave", "register_webhook", "list"])
def test_a_create_whose_response_is_lost_exists_once_and_is_done(
    sandbox: Sandbox, creds: dict[str, Any], client: ApiClient, store: Store, case: int
) -> None:
    action, operation, record, count_sql, args = _lost_cases(creds)[case]
    lose_response(sandbox, operation)
    result = push(client, store, action, record)
    assert (result.done, result.rejected) == (1, 0)
    assert result.reconciled == (1 if connector.actions()[action].creates else 0)
    assert sandbox.ctx.store.scalar(count_sql, args) == 1
    assert push(client, store, action, record).skipped == 1  # a re-run sends nothing
    assert sandbox.ctx.store.scalar(count_sql, args) == 1


def test_a_delete_whose_response_is_lost_is_done_not_refused_as_not_found(
    sandbox: Sandbox, client: ApiClient, store: Store
) -> None:
    push(client, store, "register_webhook", {"url": SINK})
    [hook_id] = remote_ids(store, "register_webhook")
    lose_response(sandbox, "deleteWebhook")
    result = push(client, store, "delete_webhook", {"id": hook_id})
    assert (result.done, result.reconciled, result.rejected) == (1, 1, 0)
    assert sandbox.ctx.store.scalar("SELECT COUNT(*) FROM vt_webhooks WHERE tenant_id = 1") == 0


def test_two_identical_schedules_stay_two_when_the_first_response_is_lost(
    sandbox: Sandbox, creds: dict[str, Any], client: ApiClient, store: Store
) -> None:
    """The first row's lookup runs after the second was scheduled: the newest identical wave is the
    second's, held by the ledger for the second row, so it is passed over for the first row's own."""
    record = {
        "primaryPhone": creds["primary_phone"],
        "contactNumbers": creds["samples"]["contact_phones"][0],
        "scheduledTime": LATER,
        "messageBody": "Twice on purpose",
    }
    lose_response(sandbox, "scheduleMessage")
    result = push(client, store, "schedule_message", {**record, "row": 1}, {**record, "row": 2})
    assert (result.done, result.reconciled) == (2, 1)
    found = sorted(str(w["id"]) for w in waves(sandbox, "Twice on purpose"))
    assert len(found) == 2 and sorted(remote_ids(store, "schedule_message")) == found


# -- one contract ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("job", "field"),
    [
        ({"contactNumbers": []}, "contactNumbers"),
        ({"contactNumbers": ["555"]}, "contactNumbers"),
        ({"messageBody": " "}, "messageBody"),
        ({"scheduledTime": "2030-02-30 10:00:00"}, "scheduledTime"),
        ({"media": ["ftp://example.com/a.png"]}, "media"),
    ],
)
def test_the_connector_rejects_with_the_emulators_own_message(
    sandbox: Sandbox, creds: dict[str, Any], job: dict[str, Any], field: str
) -> None:
    base = {"scheduledTime": LATER, "messageBody": "Hi", "contactNumbers": [creds["samples"]["contact_phones"][0]]}
    message = {**base, **job}
    with sandbox.client() as http:
        answer = http.post(
            GRAPHQL,
            headers={"Authorization": f"Bearer {creds['token']}"},
            json={
                "query": "mutation s($p: String!, $m: MessageSchedulingJob!) { scheduleMessage(primaryPhone: $p, "
                "message: $m) { id } }",
                "variables": {"p": creds["primary_phone"], "m": message},
            },
        ).json()
    [error] = answer["errors"]
    action = connector.actions()["schedule_message"]
    problems = action.validate(action.prepare({"primaryPhone": creds["primary_phone"], **message}))
    assert [(f, f"{f} {r}") for f, r in problems] == [(field, error["message"])]
