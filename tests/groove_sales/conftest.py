"""Fixtures for the Groove sales sandbox: credentials, a token got through the real OAuth flow, clients."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from engagesync.sandbox.app import Sandbox

PREFIX = "/groove-sales"
GRAPHQL = f"{PREFIX}/api/public/v1/graphql"


def query_of(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def authorize(client: httpx.Client, creds: dict[str, Any], **params: str) -> httpx.Response:
    """GET the authorize URL as the document's step 1 does (auto-approve answers 302)."""
    query = {
        "client_id": creds["client_id"],
        "redirect_uri": creds["redirect_uri"],
        "scope": "first-scope second-scope",
        "state": "st-123",
        **params,
    }
    return client.get(f"{PREFIX}/oauth/authorize", params=query)


def code_for(client: httpx.Client, creds: dict[str, Any], **params: str) -> str:
    response = authorize(client, creds, **params)
    assert response.status_code == 302, response.text
    return query_of(response.headers["location"])["code"]


def exchange(
    client: httpx.Client, creds: dict[str, Any], code: str, path: str = "/oauth/token", **extra: str
) -> httpx.Response:
    body = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": creds["redirect_uri"],
        "client_id": creds["client_id"],
        "client_secret": creds["client_secret"],
        **extra,
    }
    return client.post(f"{PREFIX}{path}", json=body)


def refresh(
    client: httpx.Client, creds: dict[str, Any], refresh_token: str, path: str = "/oauth/token", **extra: str
) -> httpx.Response:
    body = {
        "grant_type": "refresh_token",
        "refresh_token": refresh_token,
        "redirect_url": creds["redirect_uri"],
        "client_id": creds["client_id"],
        "client_secret": creds["client_secret"],
        **extra,
    }
    return client.post(f"{PREFIX}{path}", json=body)


def token_pair(client: httpx.Client, creds: dict[str, Any]) -> dict[str, Any]:
    """Access + refresh token through the real authorization code flow."""
    response = exchange(client, creds, code_for(client, creds))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def gql(
    client: httpx.Client, token: str, query: str, variables: dict[str, Any] | None = None, **kwargs: Any
) -> httpx.Response:
    return client.post(
        GRAPHQL,
        json={"query": query, "variables": variables or {}},
        headers={"Authorization": f"Bearer {token}"},
        **kwargs,
    )


@pytest.fixture
def creds(sandbox: Sandbox) -> dict[str, Any]:
    return sandbox.credentials()["groove-sales"]


@pytest.fixture
def http(sandbox: Sandbox) -> Iterator[httpx.Client]:
    with sandbox.client() as client:
        yield client


@pytest.fixture
def token(http: httpx.Client, creds: dict[str, Any]) -> str:
    return str(token_pair(http, creds)["access_token"])


@pytest.fixture(params=["in-process", "loopback"])
def any_http(request: pytest.FixtureRequest, sandbox: Sandbox) -> Iterator[httpx.Client]:
    """An httpx client at the sandbox's root, in-process (ASGI) and over real loopback HTTP (uvicorn)."""
    client = sandbox.client() if request.param == "in-process" else httpx.Client(base_url=sandbox.serve())
    with client:
        yield client
