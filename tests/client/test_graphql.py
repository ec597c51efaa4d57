"""client/graphql.py against the Groove sales sandbox: local validation, typed errors, partial data, Relay."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from engagesync.apis.groove_sales.contract import sdl
from engagesync.client.auth import BearerToken
from engagesync.client.errors import GraphQLRequestError, InvalidQuery
from engagesync.client.graphql import GraphQLClient, relay_pages
from engagesync.client.http import ApiClient
from engagesync.sandbox.app import Sandbox
from tests.transports import Passthrough

STEPS = (
    "query Steps($id: ID!, $first: Int, $after: String) { flow(id: $id) { steps(first: $first, after: $after) "
    "{ nodes { id name } pageInfo { hasNextPage endCursor } } } }"
)


@pytest.fixture
def creds(sandbox: Sandbox) -> dict[str, Any]:
    return sandbox.credentials()["groove-sales"]


@pytest.fixture
def gql(sandbox: Sandbox, creds: dict[str, Any]) -> Iterator[GraphQLClient]:
    with sandbox.client() as admin:
        pair = admin.post(creds["mint_token_url"].replace("http://sandbox", ""), json={}).json()
    api = ApiClient(
        creds["graphql_url"], auth=BearerToken(pair["access_token"]), transport=Passthrough(sandbox.transport())
    )
    with api:
        yield GraphQLClient(api, sdl())


def journal(sandbox: Sandbox) -> list[Any]:
    return [e for e in sandbox.ctx.journal.entries(api="groove-sales", limit=10_000) if e.path.endswith("graphql")]


@pytest.mark.parametrize(
    ("query", "problem"),
    [
        ("{ flows { id nmae } }", "Cannot query field 'nmae' on type 'Flow'. Did you mean 'name'?"),
        ('{ flow(id: 1) { steps(first: "ten") { nodes { id } } } }', 'Int cannot represent non-integer value: "ten"'),
        ("{ flows { id }", "Syntax Error"),
        ("mutation { addPersonToFlow(input: {flowId: 1}) { personFlow { createdAt } } }", "personId"),
    ],
)
def test_a_bad_operation_is_refused_locally_and_never_sent(
    sandbox: Sandbox, gql: GraphQLClient, query: str, problem: str
) -> None:
    before = len(journal(sandbox))
    with pytest.raises(InvalidQuery) as caught:
        gql.execute(query)
    assert problem in str(caught.value) and "not sent" in str(caught.value)
    assert len(journal(sandbox)) == before
    assert gql.api.stats["requests"] == 0


def test_partial_data_returns_what_arrived_with_each_error_at_its_alias(
    sandbox: Sandbox, gql: GraphQLClient, creds: dict[str, Any]
) -> None:
    free = creds["samples"]["queries"]["addPersonToFlow"]["variables"]["input"]
    query = (
        "mutation ($a: AddPersonToFlowInput!, $b: AddPersonToFlowInput!) { "
        "ok: addPersonToFlow(input: $a) { personFlow { person { id } } } "
        "bad: addPersonToFlow(input: $b) { personFlow { person { id } } } }"
    )
    result = gql.execute(query, {"a": free, "b": {"flowId": "1", "personId": free["personId"]}})
    assert result.partial
    assert result.data is not None and result.data["ok"]["personFlow"]["person"]["id"] == free["personId"]
    assert result.data["bad"] is None
    [error] = result.errors_for("bad")
    assert (error.message, error.path, error.code) == ("Couldn't find Flow with 'id'=1", ("bad",), "NOT_FOUND")
    assert result.errors_for("ok") == []


def test_errors_without_data_raise_with_the_servers_message(gql: GraphQLClient) -> None:
    with pytest.raises(GraphQLRequestError, match=r"\$id"):
        gql.execute("query ($id: ID!) { flow(id: $id) { id } }", {})


def test_relay_pages_follow_end_cursors_and_resume_from_any_cursor(gql: GraphQLClient, creds: dict[str, Any]) -> None:
    flow = creds["samples"]["flow_ids"][0]
    [whole] = list(relay_pages(gql, STEPS, {"id": flow}, ("flow", "steps"), first=100))
    assert not whole.has_next and len(whole.nodes) == 6
    pages = list(relay_pages(gql, STEPS, {"id": flow}, ("flow", "steps"), first=4))
    assert [len(p.nodes) for p in pages] == [4, 2] and [p.has_next for p in pages] == [True, False]
    assert [n for p in pages for n in p.nodes] == whole.nodes
    resumed = list(relay_pages(gql, STEPS, {"id": flow}, ("flow", "steps"), first=4, after=pages[0].end_cursor))
    assert [n for p in resumed for n in p.nodes] == whole.nodes[4:]


def test_a_missing_parent_ends_the_connection(gql: GraphQLClient) -> None:
    pages = list(relay_pages(gql, STEPS, {"id": "999999"}, ("flow", "steps")))
    assert [(p.nodes, p.has_next) for p in pages] == [([], False)]
