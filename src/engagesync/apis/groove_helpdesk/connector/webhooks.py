"""Groove helpdesk webhooks for the receiver: one Groove webhook per event, nothing signed.

Groove's requests carry no signature and no delivery id: the unguessable secret in the URL is what
authenticates them, ``X-Groove-Event`` names the event, and the body (the bare resource) is hashed with
the event name to recognise a redelivery.
"""

from __future__ import annotations

from typing import Any

from ....client.connector import WebhookScheme
from ....client.http import ApiClient
from ..contract.webhooks import WEBHOOK_EVENTS, canonical_event
from .client import GrooveHelpdesk

EVENT_HEADER = "X-Groove-Event"

SCHEME = WebhookScheme(
    kind="url-secret",
    event_header=EVENT_HEADER,
    columns={
        "number": ("BIGINT", ("number",)),
        "state": ("VARCHAR", ("state",)),
        "title": ("VARCHAR", ("title",)),
        "email": ("VARCHAR", ("email",)),
        "updated_at": ("TIMESTAMP", ("updated_at",)),
    },
)


def register(client: ApiClient, url: str, events: list[str] | None) -> list[str]:
    """``POST /webhooks`` per event (default: every documented event); returns the webhook ids."""
    names: list[str] = []
    for raw in events or list(WEBHOOK_EVENTS):
        name = canonical_event(raw)
        if name is None:
            raise ValueError(f"{raw!r} is not a Groove helpdesk webhook event; known: {', '.join(WEBHOOK_EVENTS)}")
        names.append(name)
    api = GrooveHelpdesk(client)
    ids = []
    for name in dict.fromkeys(names):
        created = api.create_webhook(name, url) or {}
        ids.append(str(created["webhook"]["id"]))
    return ids


def list_all(client: ApiClient) -> list[dict[str, Any]]:
    hooks = GrooveHelpdesk(client).list_webhooks().get("webhooks", [])
    return [{"id": str(h["id"]), "url": h["url"], "event": h["event"]} for h in hooks]


def delete(client: ApiClient, webhook_id: str) -> None:
    GrooveHelpdesk(client).delete_webhook(webhook_id)
