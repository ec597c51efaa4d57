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

#: Names integrations use for a family of documented events: seed 002's Create Webhook offers
#: ``ticket.state_changed``, and Groove reports a state change as opened or closed (its only state events).
EVENT_GROUPS: dict[str, tuple[str, ...]] = {"ticket_state_changed": ("ticket_opened", "ticket_closed")}


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


def canonical_events(value: Any) -> tuple[str, ...]:
    """Every Groove event a name stands for: one for an event or alias, several for a group, none if unknown."""
    if isinstance(value, str) and event_key(value) in EVENT_GROUPS:
        return EVENT_GROUPS[event_key(value)]
    event = canonical_event(value)
    return (event,) if event else ()
