"""Groove helpdesk connector: client methods, source streams and destination actions.

- ``make_client(base_url, token, **kwargs)`` and ``check(client)``;
- ``GrooveHelpdesk(client)``: one method per endpoint;
- ``streams()``: source streams by name, in pull order;
- ``actions()``: destination actions (Nexla's templates, plus tags and mailbox moves) by name;
- ``follow_next_page``: the page/per_page next-URL paginator (API-neutral; bound for ``client/``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from ....client.connector import Connector, SandboxLink, Setting, WebhookScheme
from ....client.http import ApiClient
from ....client.paginate import PaginationLoop, follow_next_page, page_of
from .actions import actions
from .client import WINDOW_SECONDS, GrooveHelpdesk, check, make_client
from .reconcile import (
    reconcile_article,
    reconcile_group,
    reconcile_knowledge_base,
    reconcile_message,
    reconcile_ticket,
    reconcile_webhook,
)
from .streams import streams
from .webhooks import SCHEME as WEBHOOK_SCHEME
from .webhooks import delete as delete_webhook
from .webhooks import list_all as list_webhooks
from .webhooks import register as register_webhook

__all__ = [
    "WINDOW_SECONDS",
    "GrooveHelpdesk",
    "PaginationLoop",
    "actions",
    "check",
    "follow_next_page",
    "make_client",
    "page_of",
    "reconcile_article",
    "reconcile_group",
    "reconcile_knowledge_base",
    "reconcile_message",
    "reconcile_ticket",
    "reconcile_webhook",
    "streams",
]


class GrooveHelpdeskConnector(Connector):
    """Groove helpdesk REST v1: a bearer token per connection."""

    api = "groove-helpdesk"
    default_base_url = "https://api.groovehq.com/v1"
    window_seconds = WINDOW_SECONDS
    settings = (Setting("token", secret=True, required=True, description="Groove API token (Settings > API)"),)

    def from_sandbox(self, creds: Mapping[str, Any], transport: httpx.BaseTransport | None = None) -> SandboxLink:
        return SandboxLink(creds["base_url"], {"token": creds["token"]})

    def webhook_scheme(self) -> WebhookScheme:
        return WEBHOOK_SCHEME

    def register_webhook(self, client: ApiClient, url: str, events: list[str] | None) -> list[str]:
        return register_webhook(client, url, events)

    def list_webhooks(self, client: ApiClient) -> list[dict[str, Any]]:
        return list_webhooks(client)

    def delete_webhook(self, client: ApiClient, webhook_id: str) -> None:
        delete_webhook(client, webhook_id)


CONNECTOR = GrooveHelpdeskConnector(make_client=make_client, streams=streams, actions=actions, check=check)
