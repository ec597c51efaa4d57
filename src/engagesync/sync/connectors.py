"""From a named connection to a ready client, its streams and its actions (via the API registry)."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from ..apis import registry
from ..client.actions import ActionSpec
from ..client.budget import WaitListener
from ..client.http import ApiClient
from ..client.oauth import OAuthApp
from ..client.oauth_flow import authorize_interactively
from ..client.streams import Stream
from .connections import Connection, ConnectionStore, ConnectionTokens


def client_for(
    connection: Connection, on_wait: WaitListener | None = None, store: ConnectionStore | None = None, **kwargs: Any
) -> ApiClient:
    """A client for ``connection``. Tuning, lowest precedence first: the connector's defaults, the
    connection's settings (``window_seconds``, ``timeout`` and those the connector marks for its
    client), then ``ENGAGESYNC_WINDOW_SECONDS`` and ``ENGAGESYNC_TIMEOUT`` from the environment.

    A connector whose tokens rotate (``persists_tokens``, OAuth) gets an ``on_rotate`` that writes each
    refreshed pair into the connection file (``store``, default the user's), atomically and 0600."""
    connector = registry.connector(connection.api)
    if connector.persists_tokens:
        kwargs.setdefault("on_rotate", _persister(connection, store or ConnectionStore()))
    settings = dict(connection.settings)
    for key, env in (("window_seconds", "ENGAGESYNC_WINDOW_SECONDS"), ("timeout", "ENGAGESYNC_TIMEOUT")):
        value = os.environ.get(env) or settings.get(key)
        if value is not None:
            kwargs.setdefault(key, float(value))
    client = connector.client(connection.base_url, connection.secrets, settings, on_wait=on_wait, **kwargs)
    recorded = settings.get("rate_limit")  # by `connect --sandbox`: the limit, or 0 for none enforced
    if recorded == 0:
        client.budget.limit = None  # nothing to budget but what the server's headers say
    elif recorded and client.budget.limit is None:
        client.budget.limit = int(recorded)
    return client


def _persister(connection: Connection, store: ConnectionStore) -> ConnectionTokens:
    """The connection's tokens in its file: the OAuth holder refreshes under the connection's lock,
    adopts a pair another process wrote, and writes each new pair (atomically, 0600) before use."""
    return ConnectionTokens(connection, store)


def streams_for(connection: Connection) -> Mapping[str, Stream]:
    """The connector's streams, given the connection settings it marks for streams."""
    return registry.connector(connection.api).streams_for(connection.settings)


def actions_for(connection: Connection) -> Mapping[str, ActionSpec]:
    return registry.connector(connection.api).actions()


def check(connection: Connection, client: ApiClient) -> dict[str, Any]:
    return registry.connector(connection.api).check(client)


def from_sandbox(
    api: str, creds: dict[str, Any], transport: httpx.BaseTransport | None = None
) -> tuple[str, dict[str, str], dict[str, Any]]:
    """(base_url, secrets, settings) for an API from a sandbox's ``/_sandbox/credentials`` entry
    (an OAuth API runs its real authorization-code flow against the sandbox)."""
    link = registry.connector(api).from_sandbox(creds, transport)
    settings, rule = dict(link.settings), creds.get("rate_limit")
    if isinstance(rule, dict) and rule.get("window_seconds"):  # the configured limit: no window to learn
        settings.update(window_seconds=float(rule["window_seconds"]), rate_limit=int(rule["limit"]))
    elif "rate_limit" in creds and rule is None:  # the sandbox enforces no limit: the client budgets none
        settings["rate_limit"] = 0
    return link.base_url, link.secrets, settings


def connections_from_sandbox(url: str, prefix: str | None = None, timeout: float | None = None) -> list[Connection]:
    """One connection per API a running sandbox serves, named by its API id (``<prefix>-<api>``).

    ``connect --sandbox`` and the console's "connect to a running sandbox" both call this."""
    from ..errors import UserError

    try:
        creds = httpx.get(f"{url.rstrip('/')}/_sandbox/credentials", timeout=timeout or 10).json()
    except (httpx.HTTPError, ValueError) as exc:
        raise UserError(
            f"no sandbox answering at {url} ({type(exc).__name__}); start one with `engagesync sandbox serve`"
        ) from None
    made: list[Connection] = []
    for api_id, values in creds.items():
        if api_id == "tenant":
            continue
        try:
            base_url, secrets, settings = from_sandbox(api_id, values)
        except KeyError:
            continue
        made.append(Connection(api_id if prefix is None else f"{prefix}-{api_id}", api_id, base_url, secrets, settings))
    return made


def default_oauth_api() -> str:
    """The API ``connect --client-id`` means when ``--api`` is not given: the one that uses OAuth."""
    found = [c.api for c in registry.connectors().values() if c.oauth]
    if len(found) != 1:
        raise KeyError(f"say which API to authorize with --api (OAuth APIs: {', '.join(found) or 'none'})")
    return found[0]


def connect_oauth(
    api: str,
    client_id: str,
    client_secret: str,
    *,
    say: Callable[[str], None],
    graphql_url: str | None = None,
    authorize_url: str | None = None,
    token_url: str | None = None,
    redirect_uri: str | None = None,
    scope: str = "",
    open_browser: Callable[[str], object] | None = None,
    paste: Callable[[str], str] | None = None,
    timeout: float = 300.0,
) -> tuple[str, dict[str, str], dict[str, Any]]:
    """(base_url, secrets, settings) of an OAuth API after a person authorized engagesync in a browser
    (a loopback listener catches the redirect; with ``paste``, the redirect URL is pasted back)."""
    connector = registry.connector(api)
    default = graphql_url or connector.default_base_url
    endpoints = connector.oauth_endpoints(default or "")
    if endpoints is None or default is None:
        raise KeyError(f"{api} does not authenticate with OAuth; use --token")
    base_url = default.rstrip("/")
    app = OAuthApp(
        token_url or endpoints.token_url,
        client_id,
        client_secret,
        authorize_url=authorize_url or endpoints.authorize_url,
        redirect_uri=redirect_uri or "http://127.0.0.1:0/callback",
        scope=scope,
    )
    tokens, used = authorize_interactively(app, say=say, open_browser=open_browser, paste=paste, timeout=timeout)
    settings = {
        "client_id": client_id,
        "token_url": app.token_url,
        "authorize_url": app.authorize_url,
        "redirect_uri": used,
    }
    if scope:
        settings["scope"] = scope
    return base_url, {"client_secret": client_secret, **tokens.as_secrets()}, settings
