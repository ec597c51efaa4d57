"""GrowthGenius connector: client methods, source streams and destination actions.

- ``make_client(base_url, api_key, user_id, **kwargs)`` and ``check(client)``;
- ``GrowthGenius(client)``: one method per endpoint;
- ``streams()``: users, contacts and messages (the last two incremental on ``updated_at`` windows);
- ``actions()``: create/update/delete contact and message, and upsert contact by email.
"""

from __future__ import annotations

from .actions import actions, reconcile_contact, reconcile_message, resolve_upsert
from .client import CONNECTION_SETTINGS, WINDOW_SECONDS, GrowthGenius, check, make_client, server_now_ms
from .streams import streams

__all__ = [
    "CONNECTION_SETTINGS",
    "WINDOW_SECONDS",
    "GrowthGenius",
    "actions",
    "check",
    "make_client",
    "reconcile_contact",
    "reconcile_message",
    "resolve_upsert",
    "server_now_ms",
    "streams",
]
