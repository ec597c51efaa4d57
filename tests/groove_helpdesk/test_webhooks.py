"""Webhooks: registration (Groove's shape and Nexla's template shape) and delivery of all 14 events.

Deliveries go to the sandbox's own receiver (``/_sandbox/sink/<name>``), which records what arrives;
the outbox journal (``/_sandbox/webhooks/deliveries``) records every attempt.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from engagesync.apis.groove_helpdesk.contract import WEBHOOK_EVENTS
from engagesync.sandbox.app import Sandbox

SINK = "http://sandbox/_sandbox/sink"


def samples(sandbox: Sandbox) -> dict[str, Any]:
    found: dict[str, Any] = sandbox.credentials()["groove-helpdesk"]["samples"]
    return found


def register(client: httpx.Client, event: str, name: str) -> dict[str, Any]:
    response = client.post("webhooks", json={"event": event, "url": f"{SINK}/{name}"})
    assert response.status_code == 201, response.text
    hook: dict[str, Any] = response.json()["webhook"]
    return hook


def received(admin: httpx.Client, name: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = admin.get(f"sink/{name}").json()["received"]
    return items


# -- registration ------------------------------------------------------------------------------
def test_create_webhook_documented_shape(groove_any: httpx.Client) -> None:
    response = groove_any.post(
        "webhooks", json={"event": "ticket_started", "url": "https://www.mysite.com/mywebhook_url"}
    )
    assert response.status_code == 201
    hook = response.json()["webhook"]
    assert (hook["event"], hook["url"], hook["state"]) == (
        "ticket_started",
        "https://www.mysite.com/mywebhook_url",
        "active",
    )
    assert hook["id"] and hook["created_at"].endswith("Z")
    assert response.headers["location"] == hook["href"]
    assert hook["href"] == f"{str(groove_any.base_url).rstrip('/')}/webhooks/{hook['id']}"


def test_delete_webhook_204(groove_any: httpx.Client) -> None:
    hook = register(groove_any, "ticket_closed", "deleted")
    response = groove_any.delete(f"webhooks/{hook['id']}")
    assert response.status_code == 204 and response.content == b""
    again = groove_any.delete(f"webhooks/{hook['id']}")
    assert (again.status_code, again.json()) == (404, {"errors": ["Webhook not found"]})


def test_webhook_validation(groove: httpx.Client) -> None:
    response = groove.post("webhooks", json={})
    assert response.status_code == 422
    assert set(response.json()["errors"]) == {"url can't be blank", "event can't be blank"}
    response = groove.post("webhooks", json={"event": "ticket_exploded", "url": "ftp://x.example/hook"})
    found = response.json()["errors"]
    assert any(e.startswith("url must be an http(s) URL") for e in found)
    assert any(e.startswith("event is not a webhook event: 'ticket_exploded'") for e in found)


def test_same_registration_twice_is_one_webhook(groove: httpx.Client) -> None:
    first = register(groove, "ticket_started", "twice")
    second = register(groove, "ticket_started", "twice")
    assert first["id"] == second["id"]
    assert len(groove.get("webhooks").json()["webhooks"]) == 1


def test_nexla_template_shape_creates_one_webhook_per_event(groove_any: httpx.Client) -> None:
    """Seed 002: {webhook_url, event_types}, with dotted names such as ticket.created."""
    response = groove_any.post(
        "webhooks",
        json={
            "webhook_url": "https://hooks.example/groove",
            "event_types": ["ticket.created", "ticket.closed", "customer_replied"],
        },
    )
    assert response.status_code == 201, response.text
    hooks = response.json()["webhooks"]
    assert [h["event"] for h in hooks] == ["ticket_started", "ticket_closed", "customer_replied"]
    assert {h["url"] for h in hooks} == {"https://hooks.example/groove"}
    listed = {h["id"] for h in groove_any.get("webhooks").json()["webhooks"]}
    assert {h["id"] for h in hooks} <= listed


def test_nexla_unknown_event_types_are_named(groove: httpx.Client) -> None:
    response = groove.post(
        "webhooks",
        json={
            "webhook_url": "https://hooks.example/g",
            "event_types": ["ticket.created", "ticket.updated"],
        },
    )
    assert response.status_code == 422
    [message] = response.json()["errors"]
    assert message.startswith("event_types contains unknown event(s) 'ticket.updated'")
    assert "ticket_opened, ticket_closed" in message
    assert groove.get("webhooks").json() == {"webhooks": []}  # nothing half-registered
    empty = groove.post("webhooks", json={"webhook_url": "https://hooks.example/g", "event_types": []})
    assert empty.status_code == 422 and empty.json()["errors"][0].startswith("event_types can't be blank")


# -- delivery of every event -------------------------------------------------------------------
Trigger = Callable[[httpx.Client, httpx.Client, Sandbox], str]


def _new_ticket(groove: httpx.Client, **extra: Any) -> int:
    payload = {
        "body": "hello",
        "from": "hook@customer.example",
        "to": "support@acme-support.example",
        **extra,
    }
    response = groove.post("tickets", json=payload)
    assert response.status_code == 201, response.text
    number: int = response.json()["ticket"]["number"]
    return number


def _ticket(n: int) -> str:
    return f"tickets/{n}"


def started(g: httpx.Client, a: httpx.Client, s: Sandbox) -> str:
    return _ticket(_new_ticket(g))


def opened(g: httpx.Client, a: httpx.Client, s: Sandbox) -> str:
    n = _new_ticket(g)
    assert g.put(f"tickets/{n}/state", json={"state": "opened"}).status_code == 204
    return _ticket(n)


def closed(g: httpx.Client, a: httpx.Client, s: Sandbox) -> str:
    assert g.put("tickets/1/state", json={"state": "closed"}).status_code == 204
    return _ticket(1)


def assigned(g: httpx.Client, a: httpx.Client, s: Sandbox) -> str:
    n = _new_ticket(g)
    assert g.put(f"tickets/{n}/assignee", json={"assignee": samples(s)["agent_emails"][1]}).status_code == 204
    return _ticket(n)


def priority(g: httpx.Client, a: httpx.Client, s: Sandbox) -> str:
    n = _new_ticket(g)
    assert g.put(f"tickets/{n}/priority", json={"priority": "urgent"}).status_code == 204
    return _ticket(n)


def deleted(g: httpx.Client, a: httpx.Client, s: Sandbox) -> str:
    assert a.delete("groove-helpdesk/tickets/2").status_code == 204
    return ""


def tagged(g: httpx.Client, a: httpx.Client, s: Sandbox) -> str:
    assert g.post("tickets/3/tags", json={"tags": ["escalated"]}).status_code == 201
    return _ticket(3)


def moved(g: httpx.Client, a: httpx.Client, s: Sandbox) -> str:
    n = _new_ticket(g)
    assert g.post(f"tickets/{n}/change_mailbox/{samples(s)['mailbox_ids'][1]}").status_code == 204
    return _ticket(n)


def customer_replied(g: httpx.Client, a: httpx.Client, s: Sandbox) -> str:
    n = _new_ticket(g)
    response = g.post(f"tickets/{n}/messages", json={"body": "me again", "author": "hook@customer.example"})
    return f"messages/{response.json()['message']['id']}"


def customer_added(g: httpx.Client, a: httpx.Client, s: Sandbox) -> str:
    _new_ticket(g, **{"from": {"email": "brand-new@customer.example", "name": "Brand New"}})
    return "customers/brand-new@customer.example"


def agent_invited(g: httpx.Client, a: httpx.Client, s: Sandbox) -> str:
    assert a.post("groove-helpdesk/agents", json={"email": "invitee@acme-support.example"}).status_code == 201
    return "agents/invitee@acme-support.example"


def agent_archived(g: httpx.Client, a: httpx.Client, s: Sandbox) -> str:
    email = samples(s)["agent_emails"][2]
    assert a.post(f"groove-helpdesk/agents/{email}/archive").status_code == 200
    return f"agents/{email}"


def note_added(g: httpx.Client, a: httpx.Client, s: Sandbox) -> str:
    response = g.post("tickets/4/messages", json={"body": "internal", "note": True})
    return f"messages/{response.json()['message']['id']}"


def agent_replied(g: httpx.Client, a: httpx.Client, s: Sandbox) -> str:
    response = g.post("tickets/5/messages", json={"body": "answer"})
    return f"messages/{response.json()['message']['id']}"


TRIGGERS: dict[str, Trigger] = {
    "ticket_started": started,
    "ticket_opened": opened,
    "ticket_closed": closed,
    "ticket_assigned": assigned,
    "ticket_priority_changed": priority,
    "ticket_deleted": deleted,
    "ticket_tagged": tagged,
    "ticket_moved": moved,
    "customer_replied": customer_replied,
    "customer_added": customer_added,
    "agent_invited": agent_invited,
    "agent_archived": agent_archived,
    "note_added": note_added,
    "agent_replied": agent_replied,
}


def test_every_documented_event_has_a_trigger() -> None:
    assert set(TRIGGERS) == set(WEBHOOK_EVENTS)


@pytest.mark.parametrize("event", list(WEBHOOK_EVENTS))
def test_event_is_delivered_as_the_raw_resource(
    event: str, groove: httpx.Client, admin: httpx.Client, sandbox: Sandbox
) -> None:
    register(groove, event, event)
    resource = TRIGGERS[event](groove, admin, sandbox)
    [delivery] = received(admin, event)
    body, headers = delivery["body"], delivery["headers"]
    assert headers["content-type"] == "application/json"
    assert headers["x-groove-event"] == event
    assert not any("signature" in h for h in headers)  # Groove signs nothing
    kind = WEBHOOK_EVENTS[event]
    if resource:
        current = groove.get(resource).json()[
            {"ticket": "ticket", "message": "message", "customer": "customer", "agent": "agent"}[kind]
        ]
        assert body == current  # the resource itself, no envelope
    else:
        assert body["number"] == 2 and "links" in body  # the deleted ticket, as it was
    journal = admin.get("webhooks/deliveries", params={"event": event}).json()["deliveries"]
    assert [(d["status"], d["url"], len(d["attempts"])) for d in journal] == [("delivered", f"{SINK}/{event}", 1)]
    assert journal[0]["attempts"][0]["status_code"] == 200
    assert journal[0]["payload"] == body


def test_only_subscribed_events_are_delivered(groove: httpx.Client, admin: httpx.Client) -> None:
    register(groove, "ticket_closed", "only-closed")
    groove.put("tickets/6/state", json={"state": "pending"})
    groove.put("tickets/6/priority", json={"priority": "low"})
    assert received(admin, "only-closed") == []
    groove.put("tickets/6/state", json={"state": "closed"})
    assert [d["body"]["number"] for d in received(admin, "only-closed")] == [6]


def test_deleted_webhook_stops_deliveries(groove: httpx.Client, admin: httpx.Client) -> None:
    hook = register(groove, "ticket_tagged", "stopped")
    groove.post("tickets/7/tags", json={"tags": ["one"]})
    groove.delete(f"webhooks/{hook['id']}")
    groove.post("tickets/7/tags", json={"tags": ["two"]})
    [delivery] = received(admin, "stopped")
    assert "one" in delivery["body"]["tags"] and "two" not in delivery["body"]["tags"]


def test_webhooks_belong_to_their_tenant(groove: httpx.Client, admin: httpx.Client) -> None:
    register(groove, "ticket_started", "tenant-one")
    token = admin.post("tenants", json={"name": "two"}).json()["groove-helpdesk"]["token"]
    response = groove.post(
        "tickets",
        headers={"Authorization": f"Bearer {token}"},
        json={"body": "x", "from": "a@b.example", "to": "support@acme-support.example"},
    )
    assert response.status_code == 201
    assert received(admin, "tenant-one") == []


def test_failed_delivery_is_retried_on_the_virtual_clock(groove: httpx.Client, admin: httpx.Client) -> None:
    groove.post("webhooks", json={"event": "ticket_started", "url": f"{SINK}/flaky?status=500"})
    _new_ticket(groove)
    [delivery] = admin.get("webhooks/deliveries").json()["deliveries"]
    assert delivery["status"] == "pending" and delivery["attempts"][0]["status_code"] == 500
    admin.post("clock/advance", json={"seconds": 31})
    [delivery] = admin.get("webhooks/deliveries").json()["deliveries"]
    assert len(delivery["attempts"]) == 2


def test_delivery_over_loopback(groove_any: httpx.Client, admin: httpx.Client) -> None:
    register(groove_any, "ticket_started", "loop")
    number = _new_ticket(groove_any)
    deadline = time.monotonic() + 5
    while not received(admin, "loop") and time.monotonic() < deadline:
        time.sleep(0.02)  # over a socket the delivery runs just after the response is sent
    [delivery] = received(admin, "loop")
    assert delivery["body"]["number"] == number
    assert delivery["body"]["href"] == f"{str(groove_any.base_url).rstrip('/')}/tickets/{number}"


def test_malformed_urls_are_422_not_a_crash(groove: httpx.Client) -> None:
    for url in ("http://[", "http://host:99999/x", "https://", "mailto:a@b.example"):
        response = groove.post("webhooks", json={"event": "ticket_started", "url": url})
        assert response.status_code == 422, url
        assert response.json()["errors"][0].startswith("url must be an http(s) URL")
    response = groove.post("webhooks", json={"event_types": ["ticket.started"], "webhook_url": "http://["})
    assert response.status_code == 422 and response.json()["errors"][0].startswith("webhook_url ")
