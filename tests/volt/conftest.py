"""Fixtures for the Volt sandbox: credentials, GraphQL clients (in-process and loopback), admin."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from engagesync.sandbox.app import Sandbox

GRAPHQL = "/volt/graphql"
PRIMARY = "+15555554321"  # the document's account number (every tenant's first account)
WILE = "+15555556893"  # the document's contact


class Volt:
    """A Volt GraphQL caller: ``gql(query, variables)`` -> the response; ``data(...)`` insists on no errors."""

    def __init__(self, http: httpx.Client, token: str) -> None:
        self.http = http
        self.token = token

    def gql(self, query: str, variables: dict[str, Any] | None = None, token: str | None = None) -> httpx.Response:
        return self.http.post(
            GRAPHQL,
            json={"query": query, "variables": variables or {}},
            headers={"Authorization": f"Bearer {token or self.token}"},
        )

    def data(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = self.gql(query, variables)
        assert response.status_code == 200, response.text
        body = response.json()
        assert "errors" not in body, body
        return dict(body["data"])

    def error(self, query: str, variables: dict[str, Any] | None = None, status: int = 200) -> dict[str, Any]:
        """The first error of a refused operation (and that the status is ``status``)."""
        response = self.gql(query, variables)
        assert response.status_code == status, response.text
        body = response.json()
        assert body.get("errors"), body
        return dict(body["errors"][0])


@pytest.fixture
def creds(sandbox: Sandbox) -> dict[str, Any]:
    return dict(sandbox.credentials()["volt"])


@pytest.fixture
def http(sandbox: Sandbox) -> Iterator[httpx.Client]:
    with sandbox.client() as client:
        yield client


@pytest.fixture
def volt(http: httpx.Client, creds: dict[str, Any]) -> Volt:
    return Volt(http, creds["token"])


@pytest.fixture(params=["in-process", "loopback"])
def volt_any(request: pytest.FixtureRequest, sandbox: Sandbox, creds: dict[str, Any]) -> Iterator[Volt]:
    """The same Volt caller in-process (ASGI) and over real loopback HTTP (uvicorn)."""
    client = sandbox.client() if request.param == "in-process" else httpx.Client(base_url=sandbox.serve())
    with client:
        yield Volt(client, creds["token"])


def send(volt: Volt, to: str, body: str = "hello", sender: str = PRIMARY) -> dict[str, Any]:
    data = volt.data(
        "mutation s($to: String!, $from: String!, $body: String!) { createMessage(to: $to, from: $from, "
        "body: $body) { id legacyId status statusDescription toNumber fromNumber sentAt confirmedAt "
        "body } }",
        {"to": to, "from": sender, "body": body},
    )
    return dict(data["createMessage"])
