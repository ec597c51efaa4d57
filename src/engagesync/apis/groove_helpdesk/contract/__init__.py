"""What both sides agree on about Groove's helpdesk API v1: enums, fields and validation rules.

The emulator enforces these rules on requests; the connector checks records against the same rules
before sending, so a bad row is rejected locally with the same reason the server would give. This
module holds the general ones (ticket states, paging, emails, booleans, dates, envelopes); the rest
sit beside it by subject:

- ``fields``: name/title lengths, article states, http(s) URLs, knowledge-base subdomain/host/language;
- ``settings``: the widget and knowledge-base setting tables (name -> kind) and the check for each kind;
- ``text``: how a message body becomes ``plain_text_body`` and a ticket's summary;
- ``webhooks``: the documented events, the names integrations use for them, and canonicalisation.
"""

from __future__ import annotations

import re
from email.utils import parsedate_to_datetime
from typing import Any

from ....timefmt import to_epoch
from .webhooks import WEBHOOK_EVENTS as WEBHOOK_EVENTS  # the events are part of the API's vocabulary

TICKET_STATES = ("unread", "opened", "pending", "closed", "spam")
DEFAULT_STATE = "unread"
PRIORITIES = ("low", "medium", "high", "urgent")
MAX_PER_PAGE = 50
DEFAULT_PER_PAGE = 25

#: Attributes accepted in a customer hash (ticket ``from``/``to``) and on customer update.
CUSTOMER_FIELDS = (
    "email",
    "name",
    "about",
    "twitter_username",
    "title",
    "company_name",
    "phone_number",
    "location",
    "linkedin_username",
)


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


def strict_bool(value: Any) -> bool | None:
    """A JSON boolean or the strings "true"/"false" (form bodies); ``None`` for anything else.

    Stricter than ``parse_bool`` on purpose: settings are configuration, and a stray ``1`` or
    ``"yes"`` is more likely a mapped wrong column than an intended switch.
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


def unwrap(body: dict[str, Any], envelope: str) -> dict[str, Any]:
    """Accept ``{"settings": {...}}`` as well as the bare object: mapping tools produce both."""
    inner = body.get(envelope)
    if isinstance(inner, dict) and all(k == envelope for k in body):
        return inner
    return body


def parse_sent_at(value: Any) -> float | None:
    """``sent_at``: RFC-822 preferred, ISO-8601 accepted; epoch seconds, or ``None`` if unparseable."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    try:
        return parsedate_to_datetime(text).timestamp()
    except (TypeError, ValueError, IndexError):
        return to_epoch(text)
