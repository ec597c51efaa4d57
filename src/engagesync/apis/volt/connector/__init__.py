"""Volt connector: bearer-token GraphQL client, before-cursor streams, send/upsert actions.

- ``make_client(graphql_url, token, ...)`` and ``check``;
- ``streams(primary_phone)``: conversations (the inbox), contacts, messages (per conversation), webhooks;
- ``actions()``: send_message (createMessage, reconciled by conversation lookup), upsert_contact.
"""

from __future__ import annotations

from .actions import actions, field_of, reconcile_send, send_messages, upsert_contacts
from .client import DEFAULT_BASE_URL, STREAM_SETTINGS, WINDOW_SECONDS, check, gql, make_client
from .streams import streams

__all__ = [
    "DEFAULT_BASE_URL",
    "STREAM_SETTINGS",
    "WINDOW_SECONDS",
    "actions",
    "check",
    "field_of",
    "gql",
    "make_client",
    "reconcile_send",
    "send_messages",
    "streams",
    "upsert_contacts",
]
