"""Destinations (seed 002) against the sandbox over loopback: what the sandbox journal saw.

The journal (``GET /_sandbox/requests``) keeps each request's headers (credentials redacted) and
body, so every assertion here is about the bytes that reached the API.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from engagesync.sandbox.app import Sandbox
from engagesync.sync import destinations as dest
from engagesync.sync.destinations import storage
from engagesync.sync.destinations.model import ConfigError
from engagesync.sync.store import Store
from engagesync.sync.webhooks.verify import standard
from tests.cli_helpers import run_cli


@pytest.fixture
def linked(home: Path, live_sandbox: Sandbox) -> Iterator[tuple[Sandbox, Store, Path]]:
    """A loopback sandbox, every API connected (``connect --sandbox``), and an open store."""
    code, output = run_cli("connect", "--sandbox", str(live_sandbox.url))
    assert code == 0, output
    with Store(str(home / "store.duckdb")) as store:
        yield live_sandbox, store, home


def _jsonl(path: Path, rows: list[dict[str, Any]]) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


def _journal(sandbox: Sandbox, api: str, method: str | None = None, since: int = 0) -> list[dict[str, Any]]:
    params: dict[str, Any] = {"api": api, "limit": 0, "since": since}
    if method:
        params["method"] = method
    return list(httpx.get(f"{sandbox.url}/_sandbox/requests", params=params).json()["requests"])


def _last_id(sandbox: Sandbox) -> int:
    entries = httpx.get(f"{sandbox.url}/_sandbox/requests", params={"limit": 1}).json()["requests"]
    return int(entries[-1]["id"]) if entries else 0


def _mailbox(sandbox: Sandbox) -> str:
    return str(sandbox.credentials()["groove-helpdesk"]["samples"]["mailbox_ids"][0])


def _tickets(sandbox: Sandbox, n: int, mailbox: str, tag: str = "t") -> list[dict[str, Any]]:
    return [
        {
            "body": f"Form submitted {tag}{i}",
            "from": f"lead{tag}{i}@form.example",
            "mailbox": mailbox,
            "subject": f"Request {tag}{i}",
            "internal_id": f"crm-{tag}{i}",
            "team": "billing" if i % 3 else "support",
        }
        for i in range(n)
    ]


def _manual(source: str, **options: Any) -> dest.DestinationConfig:
    return dest.apply_options(
        None, {"connection": "groove-helpdesk", "source": source, "method": "POST", "url": "tickets", **options}
    )


# -- manual configuration ----------------------------------------------------------------------------
def test_manual_form_post_with_a_custom_header_and_excluded_attributes(linked: tuple[Sandbox, Store, Path]) -> None:
    sandbox, store, home = linked
    rows = _tickets(sandbox, 4, _mailbox(sandbox))
    source = _jsonl(home / "leads.jsonl", rows)
    config = _manual(
        source,
        format="form",
        headers=dest.parse_headers(["X-Source:nexla,X-Team:{team}"]),
        exclude=["internal_id", "team"],
    )
    dest.create(store, "leads", config)
    since = _last_id(sandbox)
    result = dest.deliver(store, "leads")
    assert (result.counts["done"], result.counts["rejected"]) == (4, 0)
    posts = _journal(sandbox, "groove-helpdesk", "POST", since)
    assert [p["path"] for p in posts] == ["/tickets"] * 4 and {p["status"] for p in posts} == {201}
    for post, row in zip(posts, rows, strict=True):
        headers = post["headers"]
        assert headers["content-type"] == "application/x-www-form-urlencoded"
        assert headers["x-source"] == "nexla" and headers["x-team"] == row["team"]
        assert headers["authorization"] == "[redacted]"  # the connection's credential, added by engagesync
        assert httpx.QueryParams(post["body"]) == httpx.QueryParams(
            {"body": row["body"], "from": row["from"], "mailbox": row["mailbox"], "subject": row["subject"]}
        )
        assert "internal_id" not in post["body"] and "crm-" not in post["body"] and "team" not in post["body"]


def test_by_attribute_grouping_is_one_array_request_per_group(linked: tuple[Sandbox, Store, Path]) -> None:
    sandbox, store, home = linked
    rows = _tickets(
        sandbox, 7, _mailbox(sandbox)
    )  # teams: support, billing, billing, support, billing, billing, support
    source = _jsonl(home / "grouped.jsonl", rows)
    config = _manual(source, batch_size=2, grouping="by_attribute", group_by="team", exclude=["internal_id"])
    dest.create(store, "grouped", config)
    shown = dest.preview(store, "grouped", limit=10)["requests"]
    since = _last_id(sandbox)
    dest.deliver(store, "grouped")  # Groove's /tickets takes one ticket: it refuses arrays, which is fine here
    posts = _journal(sandbox, "groove-helpdesk", "POST", since)
    assert [p["body"] for p in posts] == [r["body"] for r in shown]  # the preview is what was sent
    bodies = [json.loads(p["body"]) for p in posts]
    assert all(isinstance(b, list) for b in bodies)
    groups = [[r["subject"] for r in body] for body in bodies]
    support = [r["subject"] for r in rows if r["team"] == "support"]
    billing = [r["subject"] for r in rows if r["team"] == "billing"]
    assert groups == [support[:2], billing[:2], billing[2:], support[2:]]
    assert all(len({r["team"] for r in body}) == 1 for body in bodies)


def test_max_bytes_never_exceeds_its_budget(linked: tuple[Sandbox, Store, Path]) -> None:
    sandbox, store, home = linked
    rows = _tickets(sandbox, 12, _mailbox(sandbox))
    for i, row in enumerate(rows):
        row["body"] += " x" * (i * 7)  # records of growing size
    source = _jsonl(home / "sized.jsonl", rows)
    budget = 600
    config = _manual(source, batch_size=50, grouping="max_bytes", max_bytes=budget, wrap="tickets")
    dest.create(store, "sized", config)
    since = _last_id(sandbox)
    dest.deliver(store, "sized")
    posts = _journal(sandbox, "groove-helpdesk", "POST", since)
    assert len(posts) > 2, "the budget splits the records over several requests"
    assert all(0 < p["body_bytes"] <= budget for p in posts)
    sent = [r["subject"] for p in posts for r in json.loads(p["body"])["tickets"]]
    assert sent == [r["subject"] for r in rows]  # each record once, in order
    # a full request could not have taken the next record
    assert any(p["body_bytes"] > budget - 200 for p in posts)


def test_a_record_bigger_than_the_budget_is_rejected_locally(linked: tuple[Sandbox, Store, Path]) -> None:
    sandbox, store, home = linked
    rows = _tickets(sandbox, 2, _mailbox(sandbox))
    rows[1]["body"] = "y" * 500
    config = _manual(_jsonl(home / "big.jsonl", rows), batch_size=5, grouping="max_bytes", max_bytes=300)
    dest.create(store, "big", config)
    since = _last_id(sandbox)
    result = dest.deliver(store, "big")
    assert (result.counts["rejected_locally"], result.counts["sent"]) == (1, 1)
    assert all(p["body_bytes"] <= 300 for p in _journal(sandbox, "groove-helpdesk", "POST", since))
    reasons = [r.reason for r in store.rejects("groove-helpdesk", "destination:big")]
    assert "line 2: record is 628 bytes as a request body, over the max_bytes budget of 300" in reasons


# -- templates for every API -------------------------------------------------------------------------
def test_a_template_destination_for_each_of_the_four_apis(linked: tuple[Sandbox, Store, Path]) -> None:
    sandbox, store, home = linked
    creds = sandbox.credentials()
    cases = {
        "helpdesk": (
            "groove-helpdesk",
            "create_ticket",
            [{"body": "Hello", "from": "a1@form.example", "mailbox": _mailbox(sandbox), "subject": "Hi"}],
            {},
        ),
        "genius": (
            "growthgenius",
            "create_contact",
            [{"email": f"dest{i}@analytical.example", "first_name": f"Ada{i}"} for i in range(2)],
            {},
        ),
        "sales": (
            "groove-sales",
            "add_person_to_flow",
            [{"salesforceId": sf, "flowId": "70003"} for sf in creds["groove-sales"]["samples"]["salesforce_ids"]],
            {"batch_size": 10},
        ),
        "texts": (
            "volt",
            "send_message",
            [
                {
                    "to": creds["volt"]["samples"]["contact_phones"][0],
                    "from": creds["volt"]["primary_phone"],
                    "body": "hi",
                }
            ],
            {},
        ),
    }
    for name, (connection, template, rows, options) in cases.items():
        source = _jsonl(home / f"{name}.jsonl", rows)
        config = dest.apply_options(
            None, {"connection": connection, "source": source, "template": template, "responses": True, **options}
        )
        dest.create(store, name, config)
        since = _last_id(sandbox)
        result = dest.deliver(store, name)
        assert (result.counts["done"], result.counts["rejected"]) == (len(rows), 0), (name, result.to_dict())
        calls = _journal(sandbox, connection, since=since)
        assert calls and {c["status"] for c in calls} <= {200, 201}, (name, calls)
        if name == "sales":  # one aliased request for the batch (after one aliased lookup)
            mutations = [c for c in calls if "addPersonToFlow" in (c["body"] or "")]
            assert len(mutations) == 1 and mutations[0]["body"].count("addPersonToFlow(") == 3
        responses = list(storage.responses(store, name))
        assert len(responses) == len(calls)  # one row per call


def test_seed_002_sample_payload_through_the_template_and_an_equivalent_manual_configuration(
    linked: tuple[Sandbox, Store, Path],
) -> None:
    """Create a Ticket's minimum (body, from, mailbox) plus a subject, verbatim, both ways."""
    sandbox, store, home = linked
    mailbox = _mailbox(sandbox)
    payload = {
        "body": "Form submitted: refund request",
        "from": "lead@form.example",
        "mailbox": mailbox,
        "subject": "Refund",
    }
    source = _jsonl(home / "seed.jsonl", [payload])
    dest.create(
        store,
        "by_template",
        dest.apply_options(None, {"connection": "groove-helpdesk", "source": source, "template": "create_ticket"}),
    )
    dest.create(store, "by_hand", _manual(source, format="json"))
    shown = [dest.preview(store, name, limit=1)["requests"][0] for name in ("by_template", "by_hand")]
    since = _last_id(sandbox)
    for name in ("by_template", "by_hand"):
        assert dest.deliver(store, name).counts["done"] == 1
    posts = _journal(sandbox, "groove-helpdesk", "POST", since)
    assert [json.loads(p["body"]) for p in posts] == [payload, payload]
    assert [p["body"] for p in posts] == [r["body"] for r in shown]
    tickets = httpx.get(
        f"{sandbox.url}/groove-helpdesk/v1/tickets",
        params={"customer": "lead@form.example"},
        headers={"Authorization": f"Bearer {sandbox.credentials()['groove-helpdesk']['token']}"},
    ).json()["tickets"]
    assert len(tickets) == 2
    same = ("title", "summary", "mailbox_id", "state", "message_count", "tags")
    assert next({k: t[k] for k in same} for t in tickets) == [{k: t[k] for k in same} for t in tickets][1]
    assert tickets[0]["title"] == "Refund" and tickets[0]["mailbox_id"] == mailbox


# -- responses -----------------------------------------------------------------------------------------
def test_the_response_source_has_one_row_per_call_and_the_webhook_is_delivered_signed(
    linked: tuple[Sandbox, Store, Path],
) -> None:
    sandbox, store, home = linked
    rows = _tickets(sandbox, 3, _mailbox(sandbox))
    sink = f"{sandbox.url}/_sandbox/sink/responses"
    config = _manual(
        _jsonl(home / "r.jsonl", rows),
        exclude=["internal_id", "team"],
        responses_url=sink,
        response_headers=["location"],
    )
    _, secret = dest.create(store, "replies", config)
    result = dest.deliver(store, "replies")
    assert (result.responses, result.webhooks_delivered) == (3, 3)
    table = store.execute(
        'SELECT record_key, status, headers, run_id, webhook_status FROM "replies"."responses" ORDER BY id'
    )
    assert [(r[1], r[3], r[4]) for r in table] == [(201, result.run_id, "delivered")] * 3
    assert all(
        json.loads(r[2])["location"].endswith("/tickets/" + str(json.loads(r[2])["location"]).rsplit("/", 1)[1])
        for r in table
    )
    keys = {r[0] for r in table}
    assert len(keys) == 3
    received = httpx.get(sink).json()["received"]
    assert len(received) == 3
    for item in received:
        assert standard([secret], item["headers"], item["raw"].encode()) is None  # what `listen` checks
        assert item["body"]["data"]["record_key"] in keys and item["body"]["data"]["status"] == 201
    assert standard(["whsec_" + "A" * 32], received[0]["headers"], received[0]["raw"].encode()) is not None
    # a second run calls nothing: no new rows, nothing forwarded again
    again = dest.deliver(store, "replies")
    assert (again.responses, again.webhooks_delivered, len(httpx.get(sink).json()["received"])) == (0, 0, 3)


# -- preview and test ----------------------------------------------------------------------------------
def test_preview_follows_every_setting_and_is_what_is_sent(linked: tuple[Sandbox, Store, Path]) -> None:
    sandbox, store, home = linked
    rows = _tickets(sandbox, 4, _mailbox(sandbox))
    config = _manual(_jsonl(home / "p.jsonl", rows), format="json")
    dest.create(store, "shown", config)
    first = dest.preview(store, "shown", limit=2)["requests"]
    assert [json.loads(r["body"])["internal_id"] for r in first] == ["crm-t0", "crm-t1"]
    assert first[0]["headers"]["authorization"] == "[redacted]"
    token = sandbox.credentials()["groove-helpdesk"]["token"]
    assert token not in json.dumps(first)
    dest.edit(store, "shown", dest.apply_options(dest.find(store, "shown").config, {"exclude": ["internal_id"]}))
    second = dest.preview(store, "shown", limit=2)["requests"]
    assert "internal_id" not in second[0]["body"]
    dest.edit(store, "shown", dest.apply_options(dest.find(store, "shown").config, {"format": "xml"}))
    third = dest.preview(store, "shown", limit=2)["requests"]
    assert third[0]["headers"]["content-type"] == "application/xml"
    assert third[0]["body"].startswith('<?xml version="1.0" encoding="UTF-8"?><record><body>Form submitted t0</body>')
    dest.edit(store, "shown", dest.apply_options(dest.find(store, "shown").config, {"format": "json", "batch_size": 3}))
    batched = dest.preview(store, "shown", limit=5)["requests"]
    assert [r["records"] for r in batched] == [3, 1] and batched[0]["body"].startswith("[{")
    since = _last_id(sandbox)
    dest.deliver(store, "shown")
    sent = _journal(sandbox, "groove-helpdesk", "POST", since)
    assert [p["body"] for p in sent] == [r["body"] for r in batched]
    assert [p["body_bytes"] for p in sent] == [r["body_bytes"] for r in batched]
    assert dest.find(store, "shown").version == 4


def test_an_edited_test_send_is_not_a_delivery_and_an_unedited_one_is(linked: tuple[Sandbox, Store, Path]) -> None:
    sandbox, store, home = linked
    rows = _tickets(sandbox, 3, _mailbox(sandbox))
    dest.create(store, "tried", _manual(_jsonl(home / "t.jsonl", rows), exclude=["internal_id", "team"]))
    edited = {**rows[0], "subject": "Edited in the sample window"}
    since = _last_id(sandbox)
    answer = dest.test_send(store, "tried", payload=edited)
    assert answer["edited"] and answer["response"]["status"] == 201
    assert json.loads(answer["request"]["body"])["subject"] == "Edited in the sample window"
    assert store.ledger_counts("groove-helpdesk", "destination:tried") == {}
    plain = dest.test_send(store, "tried")  # the first record, as it is: a delivery
    assert not plain["edited"] and plain["line"] == 1 and plain["response"]["status"] == 201
    result = dest.deliver(store, "tried")
    assert (result.counts["done"], result.counts["skipped"]) == (2, 1)
    subjects = [json.loads(p["body"])["subject"] for p in _journal(sandbox, "groove-helpdesk", "POST", since)]
    assert subjects == ["Edited in the sample window", "Request t0", "Request t1", "Request t2"]
    kinds = [r.kind for r in dest.runs(store, "tried")]
    assert kinds == ["run", "test", "test"]


# -- activation -----------------------------------------------------------------------------------------
def test_a_deactivated_destination_sends_nothing_and_an_active_one_delivers(
    linked: tuple[Sandbox, Store, Path],
) -> None:
    sandbox, store, home = linked
    path = str(home / "store.duckdb")
    rows = _tickets(sandbox, 2, _mailbox(sandbox))
    dest.create(store, "sched", _manual(_jsonl(home / "s.jsonl", rows), exclude=["internal_id", "team"]))
    store.close()
    logs: list[str] = []
    since = _last_id(sandbox)
    dest.Worker(path, logs.append).run(once=True)  # saved, never activated ("activate later")
    with Store(path) as db:
        dest.activate(db, "sched", every=3600)
        dest.deactivate(db, "sched")
    dest.Worker(path, logs.append).run(once=True)
    assert _journal(sandbox, "groove-helpdesk", "POST", since) == []
    assert not [line for line in logs if line.startswith("delivered")]
    with Store(path) as db:
        dest.activate(db, "sched")
    dest.Worker(path, logs.append).run(once=True)
    assert len(_journal(sandbox, "groove-helpdesk", "POST", since)) == 2
    assert [line.split(" run=")[0] for line in logs if line.startswith("delivered")] == ["delivered sched"]
    dest.Worker(path, logs.append).run(once=True)  # not due again for an hour
    assert len([line for line in logs if line.startswith("delivered")]) == 1


def test_a_stop_request_ends_the_run_after_the_current_window_and_the_next_run_finishes(
    linked: tuple[Sandbox, Store, Path],
) -> None:
    """SIGTERM in `engagesync run` = ``Worker.stop()``: the window in flight is committed, the rest waits."""
    sandbox, store, home = linked
    path = str(home / "store.duckdb")
    rows = _tickets(sandbox, 5, _mailbox(sandbox))
    dest.create(store, "halt", _manual(_jsonl(home / "h.jsonl", rows), exclude=["internal_id", "team"]))
    dest.activate(store, "halt", every=0.1)
    store.close()
    logs: list[str] = []
    worker = dest.Worker(path, logs.append)

    def progress(_: str, counts: dict[str, Any]) -> None:
        if counts["read"] == 2:
            worker.stop()  # what the SIGTERM handler does

    worker.progress = progress
    since = _last_id(sandbox)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ENGAGESYNC_COMMIT_RECORDS", "1")
        worker.run()
    assert next(line for line in logs if line.startswith("delivered")).startswith(
        "delivered halt run=1 status=stopped read=2"
    )
    assert logs[-1] == "worker stopped"
    assert len(_journal(sandbox, "groove-helpdesk", "POST", since)) == 2
    with Store(path) as db:
        assert dest.deliver(db, "halt").counts["done"] == 3
        assert [r.status for r in dest.runs(db, "halt")] == ["ok", "stopped"]
    subjects = [json.loads(p["body"])["subject"] for p in _journal(sandbox, "groove-helpdesk", "POST", since)]
    assert subjects == [r["subject"] for r in rows]  # the rest, once


# -- configuration errors ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"grouping": "by_attribute"}, "destination: batching.group_by: the by_attribute grouping needs the attribute"),
        (
            {"headers": {"Authorization": "Bearer x"}},
            "endpoint.manual.headers: Authorization is sent by the connection",
        ),
        (
            {"url": "https://evil.example/tickets"},
            "endpoint.manual.url: https://evil.example is not the connection's host",
        ),
        ({"format": "form", "batch_size": 5}, "destination: batching: the form format carries one record per request"),
        ({"url": "tickets/{number}/messages", "batch_size": 5}, "batching: a batch goes to one URL"),
        ({"method": "FETCH"}, "endpoint.manual.method: Input should be 'GET', 'POST', 'PUT', 'PATCH' or 'DELETE'"),
    ],
)
def test_a_configuration_that_cannot_work_is_refused_in_one_line_naming_the_field(
    linked: tuple[Sandbox, Store, Path], options: dict[str, Any], message: str
) -> None:
    _, store, home = linked
    with pytest.raises(ConfigError) as caught:
        dest.create(store, "bad", _manual(str(home / "x.jsonl"), **options))
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_template_errors_name_the_template_and_batching(linked: tuple[Sandbox, Store, Path]) -> None:
    _, store, home = linked
    base = {"connection": "groove-helpdesk", "source": str(home / "x.jsonl")}
    with pytest.raises(ConfigError, match=r"endpoint\.template: 'create_tiket' is not a template"):
        dest.create(store, "bad", dest.apply_options(None, {**base, "template": "create_tiket"}))
    with pytest.raises(ConfigError, match="the create_ticket template sends one record per request"):
        dest.create(store, "bad", dest.apply_options(None, {**base, "template": "create_ticket", "batch_size": 10}))
    assert dest.list_all(store) == []


def test_yaml_round_trip_and_unknown_settings(linked: tuple[Sandbox, Store, Path]) -> None:
    _, _store, home = linked
    config = _manual(str(home / "x.jsonl"), format="xml", batch_size=10, wrap="tickets", exclude=["a"])
    assert dest.from_yaml(config.to_yaml()) == config
    with pytest.raises(ConfigError, match=r"^f.yaml: batching.sise: unknown setting$"):
        dest.from_yaml(config.to_yaml().replace("size:", "sise:"), "f.yaml")


def test_a_credential_like_header_is_shown_redacted_and_a_shown_config_saves_back_unchanged(
    linked: tuple[Sandbox, Store, Path],
) -> None:
    _, store, home = linked
    headers = {"X-Api-Key": "k-123", "X-Session-Id": "s-9", "X-Source": "nexla"}
    config = _manual(str(home / "x.jsonl"), headers=headers)
    shown = config.to_yaml()
    assert "k-123" not in shown and "s-9" not in shown and "nexla" in shown
    dest.create(store, "keys", config)
    edited = dest.edit(store, "keys", dest.from_yaml(shown.replace("nexla", "nexla-2")))
    assert edited.config.endpoint.manual is not None
    assert edited.config.endpoint.manual.headers == {**headers, "X-Source": "nexla-2"}
    unsaved = shown.replace("X-Source: nexla", "X-Token: '[redacted]'")
    with pytest.raises(ConfigError, match=r"^header X-Token: \[redacted\] stands for a saved value, and none is saved"):
        dest.edit(store, "keys", dest.from_yaml(unsaved))
