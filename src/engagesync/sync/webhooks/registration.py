"""Creating, listing and deleting an API's webhooks through its connector, and the endpoints behind them.

The endpoint (token, and for signed APIs the sender's public key, pinned) is saved BEFORE the API is
asked to register the URL: Volt sends a signed test request during ``registerWebhook`` and the running
receiver must already accept it. A published key that differs from the pinned one is refused until the
user accepts it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ...apis import registry
from ...client.connector import WebhooksUnsupported
from ...client.errors import AuthError, EngageSyncError, TransportError
from ...client.streams import StreamSpec
from ...errors import UserError
from ..connections import Connection
from ..connectors import client_for
from . import verify
from .endpoints import Endpoint, EndpointFile, check_name, new_token
from .storage import BASE_COLUMNS, TABLE


@dataclass
class Registered:
    url: str
    ids: list[str]
    key_changed: bool = False


def _unsupported(connection: Connection, exc: Exception) -> UserError:
    return UserError(
        f"connection {connection.name!r}: {exc}; receive its events with a generic endpoint "
        f"(`engagesync webhooks endpoint add NAME --scheme standard`) if it sends Standard Webhooks"
    )


def register(
    connection: Connection,
    public_url: str,
    events: list[str] | None = None,
    accept_new_key: bool = False,
    endpoints: EndpointFile | None = None,
) -> Registered:
    """Create the API's webhook(s) posting to ``public_url`` + ``/hooks/<name>/<token>``."""
    if not public_url.startswith(("http://", "https://")):
        raise UserError(f"--url {public_url!r} must be the http(s) address where `engagesync listen` is reachable")
    file = endpoints or EndpointFile()
    connector = registry.connector(connection.api)
    scheme = connector.webhook_scheme()
    existing = file.get(connection.name)
    if existing is not None and existing.connection != connection.name:
        raise UserError(
            f"a webhook endpoint named {connection.name!r} already exists and is not this connection's; remove it "
            f"(`engagesync webhooks endpoint remove {connection.name}`) or name the connection differently"
        )
    endpoint = existing or Endpoint(connection.name, scheme.kind, new_token(), connection.name, connection.api)
    changed = False
    with client_for(connection) as client:
        try:
            if scheme.kind == "rsa-sha256":
                key = connector.webhook_signing_key(client)
                if key is None:
                    raise UserError(f"{connection.api} publishes no webhook key; cannot verify its events")
                changed = endpoint.public_key is not None and endpoint.public_key != key
                if changed and not accept_new_key:
                    raise UserError(
                        f"{connection.api}'s published webhook key changed since it was pinned for "
                        f"{connection.name!r}; events signed with the new key are refused. Check the key with "
                        f"{connection.api} and rerun with --accept-new-key to pin it"
                    )
                endpoint.public_key = key
            file.put(endpoint)
            url = public_url.rstrip("/") + endpoint.path()
            ids = connector.register_webhook(client, url, events)
        except WebhooksUnsupported as exc:
            if existing is None:
                file.remove(connection.name)
            raise _unsupported(connection, exc) from None
        except ValueError as exc:
            raise UserError(f"connection {connection.name!r}: {exc}") from None
        except (AuthError, TransportError):
            raise
        except EngageSyncError as exc:
            raise UserError(
                f"{connection.api} did not register the webhook ({exc}); is `engagesync listen` running and "
                f"reachable at {public_url}?"
            ) from None
    events_of = {h["id"]: h for h in endpoint.hooks}
    for hook_id in ids:
        events_of[hook_id] = {"id": hook_id, "event": ",".join(events or []) or "*"}
    endpoint.hooks = list(events_of.values())
    file.put(endpoint)
    return Registered(url, ids, changed)


def list_hooks(connection: Connection, endpoints: EndpointFile | None = None) -> list[dict[str, Any]]:
    """The API's webhooks, URLs masked; ``ours`` tells which post to this connection's endpoint."""
    endpoint = (endpoints or EndpointFile()).get(connection.name)
    with client_for(connection) as client:
        try:
            hooks = registry.connector(connection.api).list_webhooks(client)
        except WebhooksUnsupported as exc:
            raise _unsupported(connection, exc) from None
    out = []
    for hook in hooks:
        url = str(hook.get("url", ""))
        ours = endpoint is not None and endpoint.path() in url
        if endpoint is not None:
            url = url.replace(endpoint.token, "***")
        out.append({"id": hook["id"], "event": hook.get("event"), "url": url, "ours": ours})
    return out


def delete_hook(connection: Connection, hook_id: str, endpoints: EndpointFile | None = None) -> None:
    file = endpoints or EndpointFile()
    with client_for(connection) as client:
        try:
            registry.connector(connection.api).delete_webhook(client, hook_id)
        except WebhooksUnsupported as exc:
            raise _unsupported(connection, exc) from None
    endpoint = file.get(connection.name)
    if endpoint is not None:
        endpoint.hooks = [h for h in endpoint.hooks if h["id"] != hook_id]
        file.put(endpoint)


def add_standard(name: str, secrets: list[str], endpoints: EndpointFile | None = None) -> tuple[Endpoint, str | None]:
    """A generic Standard Webhooks endpoint (e.g. a destination's response webhook); a secret is made if
    none is given (returned once, to hand to the sender)."""
    check_name(name)
    made = None
    if not secrets:
        made = verify.new_hmac_secret()
        secrets = [made]
    for secret in secrets:
        try:
            verify.check_secret(secret)
        except verify.BadSecret as exc:
            raise UserError(f"--secret for endpoint {name!r}: {exc}") from None
    file = endpoints or EndpointFile()
    existing = file.get(name)
    if existing is not None and existing.connection is not None:
        raise UserError(f"endpoint {name!r} belongs to connection {existing.connection!r}; choose another name")
    endpoint = Endpoint(name, "standard", existing.token if existing else new_token(), secrets=list(secrets))
    file.put(endpoint)
    return endpoint, made


def event_stream(connection: Connection, endpoints: EndpointFile | None = None) -> StreamSpec | None:
    """The ``webhook_events`` stream of a connection that has an endpoint (for ``streams NAME``)."""
    if (endpoints or EndpointFile()).get(connection.name) is None:
        return None
    scheme = registry.connector(connection.api).webhook_scheme()
    columns = {**BASE_COLUMNS, **{c: t for c, (t, _) in scheme.columns.items()}}
    return StreamSpec(TABLE, ("id",), columns, description="events received by `engagesync listen`", parent="webhook")
