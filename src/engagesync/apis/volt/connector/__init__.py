"""Volt connector: bearer-token GraphQL client, before-cursor streams, send/upsert actions.

- ``make_client(graphql_url, token, ...)`` and ``check``;
- ``streams(primary_phone, list_names, wave_ids)``: conversations (the inbox), contacts, messages (per
  conversation), webhooks, and the lists and waves the connection names;
- ``actions()``: send_message (createMessage, reconciled by conversation lookup), upsert_contact, and
  (``campaigns``) create_or_update_list, schedule_message, schedule_wave, register_webhook, delete_webhook.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from ....client.actions import ActionSpec
from ....client.connector import Connector, SandboxLink, Setting, WebhookScheme
from ....client.http import ApiClient
from .actions import actions as messaging_actions
from .actions import field_of, reconcile_send, send_messages, upsert_contacts
from .campaigns import campaign_actions
from .client import DEFAULT_BASE_URL, STREAM_SETTINGS, WINDOW_SECONDS, check, gql, make_client
from .streams import streams
from .webhooks import SCHEME as WEBHOOK_SCHEME
from .webhooks import delete as delete_webhook
from .webhooks import list_all as list_webhooks
from .webhooks import register as register_webhook
from .webhooks import signing_key

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


def actions() -> dict[str, ActionSpec]:
    """Every Volt template: texting and contacts, then lists, schedules and webhooks."""
    return {**messaging_actions(), **{a.name: a for a in campaign_actions()}}


class VoltConnector(Connector):
    """Volt SMS GraphQL: a bearer token; conversations are read for the account's primary number."""

    api = "volt"
    default_base_url = DEFAULT_BASE_URL
    window_seconds = WINDOW_SECONDS
    settings = (
        Setting("token", secret=True, required=True, description="Volt API token (Settings > Developers)"),
        Setting("primary_phone", client=False, streams=True, description="the E.164 number whose inbox is read"),
        Setting("list_names", object, client=False, streams=True, description="lists to read by name (a,b or @file)"),
        Setting("wave_ids", object, client=False, streams=True, description="waves to read by id (1,2 or @file)"),
    )

    def from_sandbox(self, creds: Mapping[str, Any], transport: httpx.BaseTransport | None = None) -> SandboxLink:
        return SandboxLink(creds["graphql_url"], {"token": creds["token"]}, {"primary_phone": creds["primary_phone"]})

    def webhook_scheme(self) -> WebhookScheme:
        return WEBHOOK_SCHEME

    def webhook_signing_key(self, client: ApiClient) -> str | None:
        return signing_key(client)

    def register_webhook(self, client: ApiClient, url: str, events: list[str] | None) -> list[str]:
        return register_webhook(client, url, events)

    def list_webhooks(self, client: ApiClient) -> list[dict[str, Any]]:
        return list_webhooks(client)

    def delete_webhook(self, client: ApiClient, webhook_id: str) -> None:
        delete_webhook(client, webhook_id)


CONNECTOR = VoltConnector(make_client=make_client, streams=streams, actions=actions, check=check)
