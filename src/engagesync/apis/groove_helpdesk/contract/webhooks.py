"""Webhook events: the documented names, the names integrations use for them, and how one is read."""

from __future__ import annotations

from typing import Any

#: The 14 documented webhook events and the resource each one carries.
WEBHOOK_EVENTS: dict[str, str] = {
    "ticket_started": "ticket",
    "ticket_opened": "ticket",
    "ticket_closed": "ticket",
    "ticket_assigned": "ticket",
    "ticket_priority_changed": "ticket",
    "ticket_deleted": "ticket",
    "ticket_tagged": "ticket",
    "ticket_moved": "ticket",
    "customer_replied": "message",
    "customer_added": "customer",
    "agent_invited": "agent",
    "agent_archived": "agent",
    "note_added": "message",
    "agent_replied": "message",
}

#: Names integrations use for a documented event (Nexla writes ``ticket.created``).
EVENT_ALIASES = {"ticket_created": "ticket_started", "ticket_new": "ticket_started"}


def event_key(value: str) -> str:
    """``Ticket.Started`` / ``ticket-started`` -> ``ticket_started`` (not yet checked against the events)."""
    return value.strip().lower().replace(".", "_").replace("-", "_")


def canonical_event(value: Any) -> str | None:
    """``ticket_started``, ``ticket.started``, ``Ticket-Started`` and ``ticket.created`` name one event."""
    if not isinstance(value, str):
        return None
    name = event_key(value)
    name = EVENT_ALIASES.get(name, name)
    return name if name in WEBHOOK_EVENTS else None
