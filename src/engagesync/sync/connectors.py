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
from ..client.oauth import OAuthApp, authorize_interactively, authorize_without_browser
from ..client.streams import Stream
from .connections import Connection, ConnectionStore, ConnectionTokens


def client_for(
    connection: Connection, on_wait: WaitListener | None = None, store: ConnectionStore | None = None, **kwargs: Any
) -> ApiClient:
    """A client for ``connection``. Tuning, lowest precedence first: the connector's defaults, the
    connection's settings (``window_seconds``, ``timeout`` and those the connector names in
    ``CONNECTION_SETTINGS``), then ``ENGAGESYNC_WINDOW_SECONDS`` and
    ``ENGAGESYNC_TIMEOUT`` from the environment.

    A connector whose tokens rotate (``PERSISTS_TOKENS``, OAuth) gets an ``on_rotate`` that writes each
    refreshed pair into the connection file (``store``, default the user's), atomically and 0600."""
    module = registry.connector(connection.api)
    if getattr(module, "PERSISTS_TOKENS", False):
        kwargs.setdefault("on_rotate", _persister(connection, store or ConnectionStore()))
    settings = dict(connection.settings)
    for key, env in (("window_seconds", "ENGAGESYNC_WINDOW_SECONDS"), ("timeout", "ENGAGESYNC_TIMEOUT")):
        value = os.environ.get(env) or settings.get(key)
        if value is not None:
            kwargs.setdefault(key, float(value))
    for key in getattr(module, "CONNECTION_SETTINGS", ()):  # e.g. GrowthGenius's user_id
        if settings.get(key) is not None:
            kwargs.setdefault(key, settings[key])
    client: ApiClient = module.make_client(connection.base_url, on_wait=on_wait, **connection.secrets, **kwargs)
    return client


def _persister(connection: Connection, store: ConnectionStore) -> ConnectionTokens:
    """The connection's tokens in its file: the OAuth holder refreshes under the connection's lock,
    adopts a pair another process wrote, and writes each new pair (atomically, 0600) before use."""
    return ConnectionTokens(connection, store)


def streams_for(connection: Connection) -> Mapping[str, Stream]:
    """The connector's streams, given the connection settings it names in ``STREAM_SETTINGS``."""
    module = registry.connector(connection.api)
    options = {
        k: connection.settings[k]
        for k in getattr(module, "STREAM_SETTINGS", ())
        if connection.settings.get(k) is not None
    }
    result: Mapping[str, Stream] = module.streams(**options)
    return result


def actions_for(connection: Connection) -> Mapping[str, ActionSpec]:
    result: Mapping[str, ActionSpec] = registry.connector(connection.api).actions()
    return result


def check(connection: Connection, client: ApiClient) -> dict[str, Any]:
    result: dict[str, Any] = registry.connector(connection.api).check(client)
    return result


def from_sandbox(
    api: str,
    creds: dict[str, Any],
    transport: httpx.BaseTransport | None = None,
) -> tuple[str, dict[str, str], dict[str, Any]]:
    """(base_url, secrets, settings) for an API from a sandbox's ``/_sandbox/credentials`` entry.

    Groove sales runs the real authorization-code flow against the sandbox's auto-approving authorize
    URL (GET it, take the code from the redirect, check ``state``, exchange the code)."""
    if api == "groove-sales":
        app = OAuthApp(
            creds["token_url"],
            creds["client_id"],
            creds["client_secret"],
            authorize_url=creds["authorize_url"],
            redirect_uri=creds["redirect_uri"],
            scope=creds.get("scope") or "",
        )
        http = httpx.Client(transport=transport, timeout=30.0)
        try:
            tokens = authorize_without_browser(app, http)
        finally:
            if transport is None:  # a caller's transport (an in-process sandbox) stays open
                http.close()
        settings = {
            "client_id": app.client_id,
            "token_url": app.token_url,
            "authorize_url": app.authorize_url,
            "redirect_uri": app.redirect_uri,
        }
        return creds["graphql_url"], {"client_secret": app.client_secret, **tokens.as_secrets()}, settings
    if api == "groove-helpdesk":
        return creds["base_url"], {"token": creds["token"]}, {}
    if api == "growthgenius":
        return creds["base_url"], {"api_key": creds["api_key"]}, {"user_id": creds["user_id"]}
    if api == "volt":
        return creds["graphql_url"], {"token": creds["token"]}, {"primary_phone": creds["primary_phone"]}
    raise KeyError(f"engagesync has no connector for {api!r} yet")


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
    module = registry.connector(api)
    if not hasattr(module, "oauth_endpoints"):
        raise KeyError(f"{api} does not authenticate with OAuth; use --token")
    base_url = (graphql_url or module.DEFAULT_BASE_URL).rstrip("/")
    endpoints = module.oauth_endpoints(base_url)
    app = OAuthApp(
        token_url or endpoints["token_url"],
        client_id,
        client_secret,
        authorize_url=authorize_url or endpoints["authorize_url"],
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
