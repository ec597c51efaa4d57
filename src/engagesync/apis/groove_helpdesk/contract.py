"""What both sides agree on about Groove's helpdesk API v1: enums, fields and validation rules.

The emulator enforces these rules on requests; the connector checks records against the same rules
before sending, so a bad row is rejected locally with the same reason the server would give.
"""

from __future__ import annotations

import re
from email.utils import parsedate_to_datetime
from typing import Any

TICKET_STATES = ("unread", "opened", "pending", "closed", "spam")
DEFAULT_STATE = "unread"
PRIORITIES = ("low", "medium", "high", "urgent")
MAX_PER_PAGE = 50
DEFAULT_PER_PAGE = 25

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

#: Attributes accepted in a customer hash (ticket ``from``/``to``) and on customer update.
CUSTOMER_FIELDS = ("email", "name", "about", "twitter_username", "title", "company_name", "phone_number",
                   "location", "linkedin_username")

TICKET_CREATE_FIELDS = ("body", "from", "to", "mailbox", "assigned_group", "assignee", "sent_at", "note",
                        "send_copy_to_customer", "state", "subject", "tags", "starred", "skip_notifications")

_EMAIL = re.compile(r"^[^@\s<>(),;:\"\[\]]+@[^@\s<>(),;:\"\[\]]+\.[^@\s<>(),;:\"\[\]]+$")


def is_email(value: Any) -> bool:
    return isinstance(value, str) and bool(_EMAIL.match(value.strip()))


def parse_bool(value: Any) -> bool | None:
    """Booleans as JSON or form values; ``None`` when the value is not a boolean at all."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "1", "yes", "false", "0", "no", ""):
        return value.strip().lower() in ("true", "1", "yes")
    return None


def parse_sent_at(value: Any) -> float | None:
    """``sent_at``: RFC-822 preferred, ISO-8601 accepted; epoch seconds, or ``None`` if unparseable."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    try:
        return parsedate_to_datetime(text).timestamp()
    except (TypeError, ValueError, IndexError):
        pass
    from datetime import UTC, datetime
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def check_state(value: Any) -> str | None:
    """Error message for an invalid ticket state, or ``None``."""
    if value not in TICKET_STATES:
        return f"state must be one of {', '.join(TICKET_STATES)} (got {value!r})"
    return None
