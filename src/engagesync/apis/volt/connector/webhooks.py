"""Volt webhooks for the receiver: RSA-signed bodies, the published key, ``registerWebhook`` and friends.

Volt signs the raw body (RSA PKCS#1 v1.5, SHA-256) in ``X-Respond-Flow-Signature`` and publishes the key
at ``callbacks.respondflow.com/id_rsa.pub``; no timestamp is signed, so replays are stopped by the signed
event ``id``. Every registered URL gets every ``message.*`` event: Volt has no per-event subscription.
"""

from __future__ import annotations

from typing import Any

import httpx

from ....client.connector import WebhookScheme
from ....client.http import ApiClient
from .. import contract
from .client import gql

SCHEME = WebhookScheme(
    kind="rsa-sha256",
    signature_header=contract.SIGNATURE_HEADER,
    id_field="id",
    type_path=("payload", "event_type"),
    columns={
        "created_at": ("TIMESTAMP", ("created_at",)),
        "message_id": ("VARCHAR", ("payload", "id")),
        "direction": ("VARCHAR", ("payload", "direction")),
        "status": ("VARCHAR", ("payload", "status")),
        "from_number": ("VARCHAR", ("payload", "from_number")),
        "to_number": ("VARCHAR", ("payload", "to_number")),
        "text": ("VARCHAR", ("payload", "text")),
    },
)


def public_key_url(graphql_url: str) -> str:
    """Where the key of the Volt at ``graphql_url`` is published (the real one, or a sandbox's)."""
    base = graphql_url.rstrip("/")
    if base == contract.REAL_GRAPHQL_URL:
        return contract.REAL_PUBLIC_KEY_URL
    if base.endswith(contract.GRAPHQL_PATH):
        base = base[: -len(contract.GRAPHQL_PATH)]
    return base + contract.PUBLIC_KEY_PATH


def signing_key(client: ApiClient, timeout: float = 10.0) -> str:
    """Volt's published public key as PEM (checked to be an RSA key). No credential is sent with it."""
    response = httpx.get(public_key_url(client.base_url), timeout=timeout, follow_redirects=True)
    response.raise_for_status()
    return contract.pem_key_text(response.text)


def register(client: ApiClient, url: str, events: list[str] | None) -> list[str]:
    if events:
        raise ValueError(f"Volt sends every event ({', '.join(contract.WEBHOOK_EVENTS)}) to a webhook; drop --events")
    hook = gql(client).query("mutation Register($url: String!) { registerWebhook(url: $url) { id } }", {"url": url})
    return [str(hook["registerWebhook"]["id"])]


def list_all(client: ApiClient) -> list[dict[str, Any]]:
    hooks = gql(client).query("query Hooks { webhooks { id url } }")["webhooks"] or []
    return [{"id": str(h["id"]), "url": h["url"], "event": "message.*"} for h in hooks]


def delete(client: ApiClient, webhook_id: str) -> None:
    gql(client).query("mutation Delete($id: ID!) { deleteWebhook(id: $id) { id } }", {"id": webhook_id})
