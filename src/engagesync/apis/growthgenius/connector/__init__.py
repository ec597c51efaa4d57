"""GrowthGenius connector: client methods, source streams and destination actions.

- ``make_client(base_url, api_key, user_id, **kwargs)`` and ``check(client)``;
- ``GrowthGenius(client)``: one method per endpoint;
- ``streams()``: users, contacts and messages (the last two incremental on ``updated_at`` windows);
- ``actions()``: create/update/delete contact and message, and upsert contact by email.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from ....client.connector import Connector, SandboxLink, Setting
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


class GrowthGeniusConnector(Connector):
    """GrowthGenius integrations v1: an API key plus the acting team member's ``user_id``."""

    api = "growthgenius"
    default_base_url = "https://api.growthgenius.com/integrations/v1"
    window_seconds = WINDOW_SECONDS
    settings = (
        Setting("api_key", secret=True, required=True, description="GrowthGenius API key"),
        Setting("user_id", int, required=True, description="a team member with integrations enabled"),
    )

    def from_sandbox(self, creds: Mapping[str, Any], transport: httpx.BaseTransport | None = None) -> SandboxLink:
        return SandboxLink(creds["base_url"], {"api_key": creds["api_key"]}, {"user_id": creds["user_id"]})


CONNECTOR = GrowthGeniusConnector(make_client=make_client, streams=streams, actions=actions, check=check)
