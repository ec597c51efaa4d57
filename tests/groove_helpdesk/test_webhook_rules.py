"""Webhook registration rules both sides share: receiver URLs an HTTP client can address, and seed
002's ``ticket.state_changed`` standing for the Groove events a state change fires."""

from __future__ import annotations

import httpx
import pytest

from engagesync.apis.groove_helpdesk.connector.actions import reconcile_webhook
from engagesync.apis.groove_helpdesk.contract.webhooks import canonical_events
from engagesync.client.http import ApiClient
from engagesync.sandbox.app import Sandbox

from .test_connector_actions import ACTIONS, client, send  # noqa: F401  (client is a fixture)

#: Seed 002, Create Webhook: "event_types: An array of event types to subscribe to (e.g., ticket.created,
#: ticket.state_changed)".
SEED_002_SAMPLE = {
    "webhook_url": "https://hooks.example/groove",
    "event_types": ["ticket.created", "ticket.state_changed"],
}

UNADDRESSABLE = [
    "https://\U0009d302zz",  # not valid IDNA: httpx.InvalidURL when a delivery is built
    "https://\u2100.example/hook",  # likewise (a compatibility character IDNA refuses)
    "https://hooks.example/a\x00b",  # a control character
    "https://hooks .example/h",  # a space in the host
]


def test_state_changed_stands_for_opened_and_closed() -> None:
    assert canonical_events("ticket.state_changed") == ("ticket_opened", "ticket_closed")
    assert canonical_events("Ticket-Created") == ("ticket_started",)
    assert canonical_events("ticket.updated") == ()


def test_seed_002_sample_registers_one_webhook_per_event(groove: httpx.Client) -> None:
    response = groove.post("webhooks", json=SEED_002_SAMPLE)
    assert response.status_code == 201, response.text
    hooks = response.json()["webhooks"]
    assert [h["event"] for h in hooks] == ["ticket_started", "ticket_opened", "ticket_closed"]
    assert {h["url"] for h in hooks} == {"https://hooks.example/groove"}
    # a single-event registration is Groove's own shape: the alias names two events, so it is refused
    single = groove.post("webhooks", json={"event": "ticket.state_changed", "url": "https://hooks.example/s"})
    assert single.status_code == 422
    assert "did you mean ticket_opened, ticket_closed" in single.json()["errors"][0]


def test_seed_002_sample_goes_verbatim_through_the_create_webhook_action(client: ApiClient) -> None:  # noqa: F811
    created = send(client, "create_webhook", dict(SEED_002_SAMPLE))
    assert created is not None
    assert [h["event"] for h in created["webhooks"]] == ["ticket_started", "ticket_opened", "ticket_closed"]
    found = reconcile_webhook(client, dict(SEED_002_SAMPLE))  # a retry finds it instead of re-sending
    assert found is not None and [h["id"] for h in found["webhooks"]] == [h["id"] for h in created["webhooks"]]


@pytest.mark.parametrize("url", UNADDRESSABLE, ids=["idna", "idna-compat", "control", "space"])
def test_an_unaddressable_receiver_url_is_a_422_naming_it(sandbox: Sandbox, groove: httpx.Client, url: str) -> None:
    for body, field in (
        ({"event": "ticket_started", "url": url}, "url"),
        ({"event_types": ["ticket.created"], "webhook_url": url}, "webhook_url"),
    ):
        response = groove.post("webhooks", json=body)
        assert response.status_code == 422, response.text
        assert response.json()["errors"] == [f"{field} must be an http(s) URL (got {url!r})"]
        assert ACTIONS["create_webhook"].validate(body) == [(field, f"must be an http(s) URL (got {url!r})")]
    assert groove.get("webhooks").json() == {"webhooks": []}
    # nothing stored, so nothing to deliver: a ticket still opens and flush settles
    assert groove.post(
        "webhooks", json={"event": "ticket_started", "url": "http://sandbox/_sandbox/sink/ok"}
    ).is_success
    opened = groove.post("tickets", json={"body": "hi", "from": "a@customer.example", "to": "support@x.example"})
    assert opened.status_code == 201, opened.text
    with sandbox.client() as admin:
        assert admin.post("/_sandbox/webhooks/flush").status_code == 200
        assert len(admin.get("/_sandbox/sink/ok").json()["received"]) == 1
