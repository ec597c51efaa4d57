"""The Groove helpdesk destination actions against the sandbox: Nexla payloads, local validation that
names the same fields as the emulator's 422, and reconciliation of creates."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from engagesync.apis.groove_helpdesk.connector import GrooveHelpdesk, actions, make_client
from engagesync.client.actions import ActionSpec, Request
from engagesync.client.errors import RejectedError
from engagesync.client.http import ApiClient
from engagesync.sandbox.app import Sandbox
from tests.transports import Passthrough

ACTIONS = actions()


@pytest.fixture
def client(sandbox: Sandbox) -> Iterator[ApiClient]:
    cred = sandbox.credentials()["groove-helpdesk"]
    with make_client(cred["base_url"], cred["token"], transport=Passthrough(sandbox.transport())) as c:
        yield c


@pytest.fixture
def api(client: ApiClient) -> GrooveHelpdesk:
    return GrooveHelpdesk(client)


def send(client: ApiClient, name: str, record: dict[str, Any]) -> dict[str, Any] | None:
    """What the push engine does with one record: prepare, validate, build, send."""
    spec = ACTIONS[name]
    prepared = spec.prepare(record)
    assert spec.validate(prepared) == [], f"{name}: {spec.validate(prepared)}"
    request = spec.build(prepared)
    idempotent = bool(spec.extra.get("idempotent")) or None
    response = client.request(request.method, request.path, json=request.json, idempotent=idempotent)
    return response.json() if response.content else None


def dig(body: Any, path: str) -> Any:
    for part in path.split("."):
        body = body[part]
    return body


def test_every_template_is_declared_with_described_fields() -> None:
    assert set(ACTIONS) == {
        "create_ticket",
        "update_ticket_state",
        "update_ticket_assignee",
        "update_ticket_assigned_group",
        "create_message",
        "create_webhook",
        "create_group",
        "update_group",
        "create_knowledge_base",
        "update_knowledge_base",
        "update_knowledge_base_settings",
        "create_article",
        "update_article",
        "update_widget",
        "update_widget_settings",
        "add_tags",
        "replace_tags",
        "change_mailbox",
    }
    for spec in ACTIONS.values():
        assert all(fs.description for fs in spec.fields), spec.name
        declared_path = {fs.name for fs in spec.fields if fs.path}
        assert declared_path == set(spec.path_fields), spec.name
        if spec.creates:
            assert spec.reconcile is not None and spec.id_path, spec.name
    ticket = {fs.name: fs for fs in ACTIONS["create_ticket"].fields}
    assert ticket["body"].required and ticket["from"].required and not ticket["mailbox"].required


def test_builds_the_exact_requests() -> None:
    state = ACTIONS["update_ticket_state"]
    record = state.prepare({"number": "12", "state": "Open"})
    assert state.validate(record) == []
    assert state.build(record) == Request("PUT", "tickets/12/state", {"state": "opened"})
    move = ACTIONS["change_mailbox"]
    assert move.build(move.prepare({"number": 3, "mailbox_id": "4000000009"})) == Request(
        "POST", "tickets/3/change_mailbox/4000000009", {}
    )
    ticket = ACTIONS["create_ticket"]
    built = ticket.build(
        ticket.prepare(
            {
                "body": "b",
                "from": "c@x.example",
                "mailbox": "m@x.example",
                "note": "",
                "tags": "a, b",
                "starred": "true",
            }
        )
    )
    assert built == Request(
        "POST",
        "tickets",
        {"body": "b", "from": "c@x.example", "mailbox": "m@x.example", "tags": ["a", "b"], "starred": True},
    )
    assignee = ACTIONS["update_ticket_assignee"]
    assert assignee.build(assignee.prepare({"number": 1, "agent_id": "4000000002"})).json == {"assignee": "4000000002"}


# -- every template with its documented Nexla payload ------------------------------------------------
def test_ticket_templates(api: GrooveHelpdesk, client: ApiClient) -> None:
    mailbox = api.list_mailboxes()["mailboxes"][0]
    created = send(
        client,
        "create_ticket",
        {"body": "Form submitted", "from": "lead@form.example", "mailbox": mailbox["email"], "subject": "Refund"},
    )
    assert created is not None
    number = dig(created, ACTIONS["create_ticket"].id_path or "")
    assert api.get_ticket(number)["ticket"]["mailbox_id"] == mailbox["id"]
    for state in ("open", "closed", "pending"):
        assert send(client, "update_ticket_state", {"number": number, "state": state}) is None
        assert api.get_ticket_state(number) == ("opened" if state == "open" else state)
    agent = api.list_agents()["agents"][1]
    send(client, "update_ticket_assignee", {"number": number, "assignee": agent["id"]})
    assert (api.get_ticket_assignee(number) or {})["email"] == agent["email"]
    group = api.list_groups()["groups"][0]
    send(client, "update_ticket_assigned_group", {"number": number, "group": group["id"]})
    assert api.get_ticket(number)["ticket"]["assigned_group"] == group["name"]
    tagged = send(client, "add_tags", {"number": number, "tags": ["vip", "new"]})
    assert tagged is not None and dig(tagged, "ticket.number") == number
    send(client, "replace_tags", {"number": number, "tags": "only"})
    assert api.get_ticket(number)["ticket"]["tags"] == ["only"]
    other = api.list_mailboxes()["mailboxes"][-1]
    send(client, "change_mailbox", {"number": number, "mailbox_id": other["id"]})
    assert api.get_ticket(number)["ticket"]["mailbox_id"] == other["id"]


def test_message_template_reply_and_note(api: GrooveHelpdesk, client: ApiClient) -> None:
    before = api.get_ticket(6)["ticket"]["message_count"]
    reply = send(client, "create_message", {"number": 6, "body": "status update"})
    note = send(client, "create_message", {"number": 6, "body": "internal", "note": "true"})
    assert reply is not None and note is not None
    assert dig(note, "message.note") is True and dig(reply, "message.note") is False
    assert api.get_ticket(6)["ticket"]["message_count"] == before + 2


def test_webhook_template_both_shapes(api: GrooveHelpdesk, client: ApiClient) -> None:
    groove = send(client, "create_webhook", {"event": "ticket_started", "url": "https://hooks.example/a"})
    assert groove is not None and dig(groove, "webhook.event") == "ticket_started"
    nexla = send(
        client,
        "create_webhook",
        {"webhook_url": "https://hooks.example/n", "event_types": ["ticket.created", "ticket.closed"]},
    )
    assert nexla is not None and {h["event"] for h in nexla["webhooks"]} == {"ticket_started", "ticket_closed"}
    assert len(api.list_webhooks()["webhooks"]) == 3


def test_group_templates(api: GrooveHelpdesk, client: ApiClient) -> None:
    agents = api.list_agents()["agents"]
    created = send(client, "create_group", {"name": "Tier 2", "agent_ids": [agents[0]["id"], agents[1]["id"]]})
    assert created is not None
    gid = dig(created, "group.id")
    assert dig(created, "group.agent_ids") == [agents[0]["id"], agents[1]["id"]]
    updated = send(client, "update_group", {"id": gid, "name": "Tier II", "agent_ids": agents[2]["id"]})
    assert updated is not None and dig(updated, "group.agent_ids") == [agents[2]["id"]]
    assert any(g["name"] == "Tier II" for g in api.list_groups()["groups"])


def test_knowledge_base_and_article_templates(api: GrooveHelpdesk, client: ApiClient) -> None:
    kb = send(client, "create_knowledge_base", {"name": "Partner Help", "language": "en"})
    assert kb is not None
    kb_id = dig(kb, "knowledge_base.id")
    send(client, "update_knowledge_base", {"id": kb_id, "title": "Partner Center", "language": "fr"})
    assert api.get_knowledge_base(kb_id)["knowledge_base"]["title"] == "Partner Center"
    settings = send(
        client, "update_knowledge_base_settings", {"id": kb_id, "primary_color": "#123456", "ratings_enabled": "false"}
    )
    assert settings is not None and settings["settings"]["ratings_enabled"] is False
    article = send(
        client,
        "create_article",
        {"kb_id": kb_id, "title": "Getting started", "body": "<p>Welcome</p>", "state": "published"},
    )
    assert article is not None
    aid = dig(article, "article.id")
    send(
        client, "update_article", {"kb_id": kb_id, "article_id": aid, "title": "Getting started fast", "state": "draft"}
    )
    found = api.search_articles(kb_id, "fast")["articles"]
    assert [(a["id"], a["state"]) for a in found] == [(aid, "draft")]


def test_widget_templates(api: GrooveHelpdesk, client: ApiClient) -> None:
    widget = api.list_widgets()["widgets"][0]
    send(client, "update_widget", {"id": widget["id"], "name": "Support chat", "enabled": "false"})
    assert api.get_widget(widget["id"])["widget"]["name"] == "Support chat"
    out = send(
        client,
        "update_widget_settings",
        {"id": widget["id"], "icon_position": "left", "kb.enabled": "true", "published": True},
    )
    assert out is not None and out["settings"]["icon_position"] == "left" and out["settings"]["published"] is True


# -- local validation names the fields the emulator names ------------------------------------------
def _bad_rows(api: GrooveHelpdesk) -> list[tuple[str, dict[str, Any]]]:
    mailbox = api.list_mailboxes()["mailboxes"][0]["email"]
    kb = api.list_knowledge_bases()["knowledge_bases"][0]["id"]
    widget = api.list_widgets()["widgets"][0]["id"]
    ok = {"body": "x", "from": "c@d.example", "mailbox": mailbox}
    return [
        ("create_ticket", {"from": "c@d.example", "mailbox": mailbox}),
        ("create_ticket", {**ok, "from": "not-an-email"}),
        ("create_ticket", {**ok, "from": {"name": "No Email"}}),
        ("create_ticket", {"body": "x", "from": "c@d.example"}),
        ("create_ticket", {**ok, "state": "resolved"}),
        ("create_ticket", {**ok, "sent_at": "last tuesday"}),
        ("create_ticket", {**ok, "note": "perhaps"}),
        ("update_ticket_state", {"number": 1, "state": "resolved"}),
        ("update_ticket_state", {"number": 1}),
        ("update_ticket_assignee", {"number": 1}),
        ("update_ticket_assigned_group", {"number": 1}),
        ("create_message", {"number": 1, "body": "hi", "note": "maybe"}),
        ("create_message", {"number": 1}),
        ("create_webhook", {"event": "ticket_started", "url": "ftp://x.example"}),
        ("create_webhook", {"event": "nope", "url": "https://x.example/h"}),
        ("create_webhook", {"webhook_url": "https://x.example/h", "event_types": ["ticket.exploded"]}),
        ("create_webhook", {"event_types": ["ticket.created"]}),
        ("create_group", {"description": "no name"}),
        ("create_group", {"name": "Both", "agents": ["a@x.example"], "agent_ids": ["b"]}),
        ("create_knowledge_base", {"title": "T", "subdomain": "-bad-"}),
        ("create_knowledge_base", {"title": "T", "language": "english!!"}),
        ("create_knowledge_base", {"language": "en"}),
        ("update_knowledge_base_settings", {"id": kb, "ratings_type": "stars"}),
        ("update_knowledge_base_settings", {"id": kb, "colour": "red"}),
        ("update_knowledge_base_settings", {"id": kb, "ip_addresses": ["10.0.0.300"]}),
        ("create_article", {"kb_id": kb, "title": "T", "state": "archived"}),
        ("create_article", {"kb_id": kb, "body": "untitled"}),
        ("update_widget", {"id": widget, "enabled": "maybe"}),
        ("update_widget_settings", {"id": widget, "icon_position": "top"}),
        ("update_widget_settings", {"id": widget, "bogus.key": True}),
        ("update_widget_settings", {"id": widget, "primary_color": "blue"}),
        ("add_tags", {"number": 1}),
        ("replace_tags", {"number": 1}),
    ]


def test_local_validation_names_the_same_fields_as_the_emulator(api: GrooveHelpdesk, client: ApiClient) -> None:
    for name, row in _bad_rows(api):
        spec: ActionSpec = ACTIONS[name]
        local = spec.validate(spec.prepare(row))
        assert local, f"{name} {row}: accepted locally"
        request = spec.build(row)  # the raw row, as a client without local checks would send it
        with pytest.raises(RejectedError) as refused:
            client.request(request.method, request.path, json=request.json, idempotent=True)
        assert refused.value.status == 422, (name, row, refused.value)
        server_fields = {m.split(" ", 1)[0] for m in refused.value.messages}
        assert {field for field, _ in local} == server_fields, (name, row, local, refused.value.messages)


def test_setting_checks_give_the_servers_exact_messages(api: GrooveHelpdesk, client: ApiClient) -> None:
    """Both sides run ``contract.settings``: the local problems read exactly as the emulator's 422."""
    kb = api.list_knowledge_bases()["knowledge_bases"][0]["id"]
    widget = api.list_widgets()["widgets"][0]["id"]
    rows = [
        ("update_knowledge_base_settings", {"id": kb, "meta_robots": "INDEX,MAYBE"}),
        ("update_knowledge_base_settings", {"id": kb, "custom_css": "x" * 5001, "logo_url": "ftp://x"}),
        ("update_knowledge_base_settings", {"id": kb, "ip_addresses": "10.0.0.1, 10.0.0.300"}),
        ("update_knowledge_base_settings", {"id": kb, "primary_color": "#12345", "ratings_type": "stars"}),
        ("update_widget_settings", {"id": widget, "icon_text": "x" * 256, "icon": 5}),
        ("update_widget_settings", {"id": widget, "z_index": "-1", "primary_color_rgb": "300, 0, 0"}),
        ("update_widget_settings", {"id": widget, "kb": {"enabled": "maybe"}, "primary_color": "teal"}),
    ]
    for name, row in rows:
        spec: ActionSpec = ACTIONS[name]
        local = [f"{field} {message}" for field, message in spec.validate(spec.prepare(row))]
        request = spec.build(row)
        with pytest.raises(RejectedError) as refused:
            client.request(request.method, request.path, json=request.json, idempotent=True)
        assert local == refused.value.messages, (name, row)


def test_nexla_open_is_accepted_locally_and_by_groove() -> None:
    spec = ACTIONS["update_ticket_state"]
    assert spec.validate(spec.prepare({"number": 1, "state": "open"})) == []
    problems = spec.validate(spec.prepare({"number": 1, "state": "resolved"}))
    assert problems and problems[0][0] == "state" and "opened" in problems[0][1]


# -- reconcile -------------------------------------------------------------------------------------
def test_reconcile_finds_a_created_ticket_and_nothing_for_one_never_created(
    api: GrooveHelpdesk, client: ApiClient
) -> None:
    spec = ACTIONS["create_ticket"]
    assert spec.reconcile is not None
    mailbox = api.list_mailboxes()["mailboxes"][0]["email"]
    long_body = "Order 1234 arrived broken.\n" + "The box was crushed and the glass inside shattered. " * 4
    record = spec.prepare({"body": long_body, "from": "Buyer@Shop.example", "mailbox": mailbox, "subject": "Broken"})
    began = time.time()
    assert spec.reconcile(client, record) is None
    created = send(client, "create_ticket", record)
    assert created is not None
    found = spec.reconcile(client, record)
    assert found is not None and dig(found, spec.id_path or "") == created["ticket"]["number"]
    assert spec.reconcile(client, {**record, "subject": "Other"}) is None
    # only the first 100 characters are visible in a list: a difference after them cannot be told apart
    assert spec.reconcile(client, {**record, "body": long_body + " Extra tail."}) is not None
    assert spec.reconcile(client, {**record, "body": long_body.replace("glass", "vase")}) is None
    assert spec.reconcile(client, {**record, "body": "Order 1234 arrived broken."}) is None
    from engagesync.apis.groove_helpdesk.connector import reconcile_ticket

    assert reconcile_ticket(client, record, since=began - 5) is not None
    assert reconcile_ticket(client, record, since=began + 3600) is None
    html = spec.prepare({"body": "<p>Hello<br>there</p>", "from": "html@shop.example", "mailbox": mailbox})
    made = send(client, "create_ticket", html)
    found_html = spec.reconcile(client, html)
    assert made is not None and found_html is not None
    assert found_html["ticket"]["number"] == made["ticket"]["number"]


def test_reconcile_an_agent_ticket_by_its_customer(api: GrooveHelpdesk, client: ApiClient) -> None:
    agent = next(a for a in api.list_agents()["agents"] if a["state"] == "active")
    record = {"body": "Following up on your call", "from": agent["email"], "to": "callee@cust.example"}
    created = send(client, "create_ticket", record)
    found = ACTIONS["create_ticket"].reconcile(client, record)  # type: ignore[misc]
    assert created is not None and found is not None and found["ticket"]["number"] == created["ticket"]["number"]


def test_reconcile_messages(client: ApiClient) -> None:
    spec = ACTIONS["create_message"]
    assert spec.reconcile is not None
    record = spec.prepare({"number": 5, "body": "We shipped a fix.\nPlease retry.", "note": "false"})
    assert spec.reconcile(client, record) is None
    created = send(client, "create_message", record)
    assert created is not None
    found = spec.reconcile(client, record)
    assert found is not None and found["message"]["id"] == created["message"]["id"]
    assert spec.reconcile(client, {**record, "note": True}) is None
    assert spec.reconcile(client, {**record, "number": 6}) is None


def test_reconcile_groups_webhooks_knowledge_bases_and_articles(api: GrooveHelpdesk, client: ApiClient) -> None:
    kb_id = api.list_knowledge_bases()["knowledge_bases"][0]["id"]
    cases = [
        ("create_group", {"name": "Night shift"}, "group.id"),
        ("create_webhook", {"event": "ticket_closed", "url": "https://hooks.example/r"}, "webhook.id"),
        ("create_knowledge_base", {"title": "Reconciled KB", "subdomain": "reconciled"}, "knowledge_base.id"),
        ("create_knowledge_base", {"title": "Untitled domain"}, "knowledge_base.id"),
        ("create_article", {"kb_id": kb_id, "title": "How to reconcile", "body": "x"}, "article.id"),
    ]
    for name, record, id_path in cases:
        spec = ACTIONS[name]
        assert spec.reconcile is not None and spec.id_path == id_path
        assert spec.reconcile(client, record) is None, name
        created = send(client, name, record)
        found = spec.reconcile(client, record)
        assert created is not None and found is not None, name
        assert dig(found, id_path) == dig(created, id_path), name
    nexla = {"webhook_url": "https://hooks.example/n", "event_types": ["ticket.created", "agent_replied"]}
    reconcile = ACTIONS["create_webhook"].reconcile
    assert reconcile is not None and reconcile(client, nexla) is None
    made = send(client, "create_webhook", nexla)
    found = reconcile(client, nexla)
    assert made is not None and found is not None
    assert {h["id"] for h in found["webhooks"]} == {h["id"] for h in made["webhooks"]}
