"""Groove sales client: ``make_client`` (OAuth holder + rate budget), ``check``, and the GraphQL calls.

The connection's base URL is the GraphQL endpoint itself; tokens come from the OAuth server next to
it (``https://auth.grooveapp.com/oauth/token`` for the real API, ``<sandbox>/groove-sales/oauth/token``
for the sandbox) unless the connection names its ``token_url``.
"""

from __future__ import annotations

from typing import Any

from ....client.budget import RateBudget
from ....client.graphql import GraphQLClient, runner_for
from ....client.http import ApiClient
from ....client.oauth import DEFAULT_MARGIN, OAuthApp, RotateListener, TokenSet, shared_holder
from ..contract import GRAPHQL_PATH, RATE_WINDOW, REAL_AUTH_BASE, REAL_GRAPHQL_URL, TOKEN_PATH, sdl

#: "100 API requests, per minute, per OAuth token".
WINDOW_SECONDS = RATE_WINDOW
#: Settings of a connection passed to ``make_client`` (besides its secrets).
CONNECTION_SETTINGS = ("client_id", "token_url", "redirect_uri", "scope")
#: Settings of a connection passed to ``streams()``.
STREAM_SETTINGS = ("salesforce_ids",)
#: ``make_client`` takes ``on_rotate``: the connection store persists refreshed tokens through it.
PERSISTS_TOKENS = True

#: The real API's GraphQL URL (``engagesync connect`` default).
DEFAULT_BASE_URL = REAL_GRAPHQL_URL


def auth_base_for(graphql_url: str) -> str:
    """Where the OAuth endpoints of a GraphQL URL live (the real auth host, or the sandbox's prefix)."""
    url = graphql_url.rstrip("/")
    if url.startswith(REAL_GRAPHQL_URL) or "grooveapp.com" in url or "groove.com" in url:
        return REAL_AUTH_BASE
    return url[: -len(GRAPHQL_PATH)] if url.endswith(GRAPHQL_PATH) else url


def token_url_for(graphql_url: str) -> str:
    return auth_base_for(graphql_url) + TOKEN_PATH


def oauth_endpoints(graphql_url: str) -> dict[str, str]:
    """The authorize and token URLs that go with a GraphQL URL (``engagesync connect`` defaults)."""
    from ..contract import AUTHORIZE_PATH

    base = auth_base_for(graphql_url)
    return {"authorize_url": base + AUTHORIZE_PATH, "token_url": base + TOKEN_PATH}


def make_client(
    base_url: str,
    access_token: str | None = None,
    refresh_token: str | None = None,
    client_id: str | None = None,
    client_secret: str | None = None,
    token_url: str | None = None,
    token_expires_at: str | float | None = None,
    redirect_uri: str | None = None,
    scope: str = "",
    on_rotate: RotateListener | None = None,
    token: str | None = None,
    margin: float = DEFAULT_MARGIN,
    **kwargs: Any,
) -> ApiClient:
    """An ``ApiClient`` on the GraphQL endpoint, authenticated by one shared ``OAuthHolder``.

    Without a refresh token (``--token`` only) the access token is used until it expires. ``on_rotate``
    receives every refreshed pair (the connection store writes it, 0600, atomically).
    ``window_seconds`` and ``on_wait`` shape the rate budget; other keywords go to ``ApiClient``
    (``transport`` is used for the token endpoint too).
    """
    access = access_token or token
    if not access:
        raise ValueError(
            "a Groove sales connection needs an access token: run `engagesync connect groove-sales "
            "--client-id ... --client-secret ...` to authorize"
        )
    if refresh_token and not (client_id and client_secret):
        raise ValueError("refreshing a Groove sales token needs the app's client_id and client_secret")
    expires = float(token_expires_at) if token_expires_at not in (None, "") else None
    app = OAuthApp(
        token_url or token_url_for(base_url),
        client_id or "",
        client_secret or "",
        redirect_uri=redirect_uri,
        scope=scope,
    )
    holder = shared_holder(
        app,
        TokenSet(access, refresh_token, expires, scope),
        transport=kwargs.get("transport"),
        on_rotate=on_rotate,
        margin=margin,
    )
    window = float(kwargs.pop("window_seconds", WINDOW_SECONDS))
    on_wait = kwargs.pop("on_wait", None)
    budget = kwargs.pop("budget", None) or RateBudget(window_seconds=window, on_wait=on_wait)
    return ApiClient(base_url, auth=holder, budget=budget, **kwargs)


def gql(client: ApiClient) -> GraphQLClient:
    """The GraphQL runner of ``client`` (one per client: its validated operations are cached)."""
    return runner_for(client, sdl())


def check(client: ApiClient) -> dict[str, Any]:
    """Test the credential with one cheap query; raises ``AuthError`` when refused (after one refresh)."""
    flows = gql(client).query("query Check { flows { id } }")["flows"] or []
    return {"ok": True, "graphql_url": client.base_url, "flows": len(flows)}
