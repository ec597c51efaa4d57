"""Groove sales connector: OAuth 2.0 client, GraphQL streams and the batched add-to-flow action.

- ``make_client(graphql_url, access_token, refresh_token, client_id, client_secret, ...)`` and ``check``;
- ``streams()``: flows, steps and label_instances (per flow, Relay pages), people (by Salesforce id);
- ``actions()``: add_person_to_flow, many per request with GraphQL aliases.
"""

from __future__ import annotations

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
