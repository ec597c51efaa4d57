"""Volt client: ``make_client`` (bearer token + rate budget), ``gql`` and ``check``.

The connection's base URL is the GraphQL endpoint itself (``https://api.respondflow.com/graphql``, or the
sandbox's ``<sandbox>/volt/graphql``); every operation is validated against the published SDL first.
"""

from __future__ import annotations

from typing import Any

from ....client.auth import BearerToken
from ....client.budget import RateBudget
from ....client.graphql import GraphQLClient, runner_for
from ....client.http import ApiClient
from ..contract import RATE_LIMIT, RATE_WINDOW, REAL_GRAPHQL_URL, sdl

#: Volt's limit is undocumented; the sandbox emulates 100 requests per token per 60 s window.
WINDOW_SECONDS = RATE_WINDOW
RATE_LIMIT_PER_WINDOW = RATE_LIMIT
#: Settings of a connection passed to ``streams()``: the account number conversations are read from.
STREAM_SETTINGS = ("primary_phone", "list_names", "wave_ids")
#: The real API's GraphQL URL (``engagesync connect`` default).
DEFAULT_BASE_URL = REAL_GRAPHQL_URL


def make_client(base_url: str, token: str | None = None, **kwargs: Any) -> ApiClient:
    """An ``ApiClient`` on the GraphQL endpoint sending ``Authorization: Bearer <token>``.

    ``window_seconds``, ``rate_limit`` and ``on_wait`` shape the rate budget (default: the emulated 100
    requests per 60 s) unless a ``budget`` is given; other keywords
    go to ``ApiClient`` (``transport``, ``retry``, ``timeout``...).
    """
    if not token:
        raise ValueError("a Volt connection needs its access token (Settings > Developers): --token")
    window = float(kwargs.pop("window_seconds", WINDOW_SECONDS))
    on_wait = kwargs.pop("on_wait", None)
    limit = int(kwargs.pop("rate_limit", RATE_LIMIT_PER_WINDOW))
    budget = kwargs.pop("budget", None) or RateBudget(window_seconds=window, limit=limit, on_wait=on_wait)
    for name in STREAM_SETTINGS:  # stream settings, not the client's
        kwargs.pop(name, None)
    return ApiClient(base_url.rstrip("/"), auth=BearerToken(token), budget=budget, **kwargs)


def gql(client: ApiClient) -> GraphQLClient:
    """The GraphQL runner of ``client`` (one per client: its validated operations are cached)."""
    return runner_for(client, sdl())


def check(client: ApiClient) -> dict[str, Any]:
    """Test the token with one cheap query (``webhooks``); raises ``AuthError`` when refused."""
    hooks = gql(client).query("query Check { webhooks { id } }")["webhooks"] or []
    return {"ok": True, "graphql_url": client.base_url, "webhooks": len(hooks)}
