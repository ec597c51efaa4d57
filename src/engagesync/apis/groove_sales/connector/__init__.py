"""Groove sales connector: OAuth 2.0 client, GraphQL streams and the batched add-to-flow action.

- ``make_client(graphql_url, access_token, refresh_token, client_id, client_secret, ...)`` and ``check``;
- ``streams()``: flows, steps and label_instances (per flow, Relay pages), people (by Salesforce id);
- ``actions()``: add_person_to_flow, many per request with GraphQL aliases.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from ....client.connector import Connector, OAuthEndpoints, SandboxLink, Setting
from ....client.oauth import OAuthApp
from ....client.oauth_flow import authorize_without_browser
from .actions import actions, mutation, reconcile, send_batch
from .client import (
    CONNECTION_SETTINGS,
    DEFAULT_BASE_URL,
    PERSISTS_TOKENS,
    STREAM_SETTINGS,
    WINDOW_SECONDS,
    auth_base_for,
    check,
    gql,
    make_client,
    oauth_endpoints,
    token_url_for,
)
from .streams import parse_salesforce_ids, streams

__all__ = [
    "CONNECTION_SETTINGS",
    "DEFAULT_BASE_URL",
    "PERSISTS_TOKENS",
    "STREAM_SETTINGS",
    "WINDOW_SECONDS",
    "actions",
    "auth_base_for",
    "check",
    "gql",
    "make_client",
    "mutation",
    "oauth_endpoints",
    "parse_salesforce_ids",
    "reconcile",
    "send_batch",
    "streams",
    "token_url_for",
]


class GrooveSalesConnector(Connector):
    """Groove sales GraphQL with OAuth 2.0: rotating refresh tokens persisted by the engine."""

    api = "groove-sales"
    default_base_url = DEFAULT_BASE_URL
    window_seconds = WINDOW_SECONDS
    persists_tokens = True
    oauth = True
    settings = (
        Setting("access_token", secret=True, required=True, description="OAuth access token"),
        Setting("refresh_token", secret=True, description="OAuth refresh token (rotates)"),
        Setting("token_expires_at", secret=True, description="access token expiry, epoch seconds"),
        Setting("client_secret", secret=True, description="the OAuth app's secret"),
        Setting("client_id", description="the OAuth app's id"),
        Setting("token_url", description="OAuth token endpoint"),
        Setting("authorize_url", client=False, description="OAuth authorize endpoint"),
        Setting("redirect_uri", description="the redirect URI the app registered"),
        Setting("scope", description="granted OAuth scopes"),
        Setting("salesforce_ids", object, client=False, streams=True, description="people to read by Salesforce id"),
    )

    def oauth_endpoints(self, base_url: str) -> OAuthEndpoints:
        urls = oauth_endpoints(base_url)
        return OAuthEndpoints(urls["authorize_url"], urls["token_url"])

    def from_sandbox(self, creds: Mapping[str, Any], transport: httpx.BaseTransport | None = None) -> SandboxLink:
        """The real authorization-code flow against the sandbox's auto-approving authorize URL (GET
        it, take the code from the redirect, check ``state``, exchange the code)."""
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
        return SandboxLink(creds["graphql_url"], {"client_secret": app.client_secret, **tokens.as_secrets()}, settings)


CONNECTOR = GrooveSalesConnector(make_client=make_client, streams=streams, actions=actions, check=check)
