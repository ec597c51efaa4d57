"""Seed 000 (Groove sales-engagement API): every documented request, response and schema entry.

Each test quotes the part of the document it checks. The OAuth steps and the authenticated call run
both in-process and over loopback HTTP.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
from graphql import build_client_schema, get_introspection_query, is_object_type

from engagesync.testing import make_sandbox

from .conftest import GRAPHQL, PREFIX, authorize, code_for, exchange, gql, query_of, refresh, token_pair

CONNECTION_ARGS = {"after": "String", "before": "String", "first": "Int", "last": "Int"}

#: The document's "Query", "Mutation", "Objects" and "Inputs" tables: field -> (type, {arg: type}).
DOCUMENTED: dict[str, dict[str, tuple[str, dict[str, str]]]] = {
    "Query": {
        "findPersonBySalesforceId": ("Person", {"salesforceId": "String!"}),
        "flow": ("Flow", {"id": "ID!"}),
        "flows": ("[Flow!]", {}),
    },
    "Mutation": {"addPersonToFlow": ("AddPersonToFlowPayload", {"input": "AddPersonToFlowInput!"})},
    "AddPersonToFlowPayload": {"personFlow": ("PersonFlow!", {})},
    "Flow": {
        "autoImportAssignOwner": ("Boolean", {}),
        "autoImportId": ("String", {}),
        "description": ("String", {}),
        "finalized": ("Boolean", {}),
        "id": ("ID!", {}),
        "isMasterFlow": ("Boolean", {}),
        "labelInstances": ("LabelInstanceConnection!", CONNECTION_ARGS),
        "name": ("String!", {}),
        "removePersonAfterBounce": ("Boolean", {}),
        "removePersonAfterReply": ("Boolean", {}),
        "sfdcCampaignId": ("String", {}),
        "steps": ("StepConnection!", CONNECTION_ARGS),
        "userId": ("ID", {}),
    },
    "LabelInstance": {"id": ("ID!", {})},
    "LabelInstanceConnection": {
        "edges": ("[LabelInstanceEdge]", {}),
        "nodes": ("[LabelInstance]", {}),
        "pageInfo": ("PageInfo!", {}),
    },
    "LabelInstanceEdge": {"cursor": ("String!", {}), "node": ("LabelInstance", {})},
    "PageInfo": {
        "endCursor": ("String", {}),
        "hasNextPage": ("Boolean!", {}),
        "hasPreviousPage": ("Boolean!", {}),
        "startCursor": ("String", {}),
    },
    "Person": {"emailAddress": ("String!", {}), "id": ("ID!", {}), "name": ("String!", {})},
    "PersonFlow": {"createdAt": ("ISO8601DateTime!", {}), "flow": ("Flow!", {}), "person": ("Person!", {})},
    "Step": {"dayNumber": ("String!", {}), "id": ("ID!", {}), "name": ("String!", {})},
    "StepConnection": {"edges": ("[StepEdge]", {}), "nodes": ("[Step]", {}), "pageInfo": ("PageInfo!", {})},
    "StepEdge": {"cursor": ("String!", {}), "node": ("Step", {})},
}
DOCUMENTED_INPUTS = {"AddPersonToFlowInput": {"flowId": "ID!", "personId": "ID!"}}
DOCUMENTED_SCALARS = {"Boolean", "ID", "ISO8601DateTime", "Int", "String"}


# -- Authentication: OAuth Flow ------------------------------------------------------------------
def test_step1_redirect_users_then_step2_redirect_carries_code_and_state(
    any_http: httpx.Client, creds: dict[str, Any]
) -> None:
    """Step 1: client_id, redirect_uri, scope (space separated), state. Step 2: back to redirect_uri with
    a temporary ``code`` and the previously passed ``state``."""
    response = authorize(any_http, creds, scope="first-scope second-scope", state="SomeState")
    assert response.status_code == 302
    location = response.headers["location"]
    assert location.startswith(creds["redirect_uri"] + "?")
    params = query_of(location)
    assert params["state"] == "SomeState"
    assert len(params["code"]) >= 32


def test_state_is_optional_and_then_not_passed_back(http: httpx.Client, creds: dict[str, Any]) -> None:
    """'state: an optional string to be passed back upon completion'."""
    response = http.get(
        f"{PREFIX}/oauth/authorize",
        params={"client_id": creds["client_id"], "redirect_uri": creds["redirect_uri"], "scope": ""},
    )
    assert response.status_code == 302
    assert set(query_of(response.headers["location"])) == {"code"}


def test_step3_the_curl_example_exchanges_the_code(any_http: httpx.Client, creds: dict[str, Any]) -> None:
    """The curl example: POST .../oauth/authorize, JSON body with ``redirect_url``; the returned JSON has
    access_token, created_at (a Unix timestamp), token_type "Bearer", expires_in 7200, refresh_token, scope."""
    code = code_for(any_http, creds, scope="first-scope second-scope")
    response = any_http.post(
        f"{PREFIX}/oauth/authorize",
        headers={"Content-Type": "application/json"},
        json={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_url": creds["redirect_uri"],
            "client_id": creds["client_id"],
            "client_secret": creds["client_secret"],
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert list(body) == ["access_token", "created_at", "token_type", "expires_in", "refresh_token", "scope"]
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 7200
    assert body["scope"] == "first-scope second-scope"
    assert re.fullmatch(r"\d{9,10}", body["created_at"])  # "created_at": "685238400"
    assert body["access_token"] != body["refresh_token"]
    assert response.headers["cache-control"] == "no-store"


def test_step3_the_prose_path_and_the_table_spelling_redirect_uri(http: httpx.Client, creds: dict[str, Any]) -> None:
    """The prose: 'Make a POST request to .../oauth/authorize/token'; the table names ``redirect_uri``."""
    response = exchange(http, creds, code_for(http, creds), path="/oauth/authorize/token")
    assert response.status_code == 200
    assert response.json()["token_type"] == "Bearer"


def test_making_authenticated_api_calls_with_the_bearer_header(any_http: httpx.Client, creds: dict[str, Any]) -> None:
    """'Authorization: Bearer {YOUR_ACCESS_TOKEN}' on a JSON POST to .../api/public/v1/graphql."""
    token = token_pair(any_http, creds)["access_token"]
    response = any_http.post(
        GRAPHQL,
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
        json={"query": "{ flows { id name } }"},
    )
    assert response.status_code == 200
    flows = response.json()["data"]["flows"]
    assert [f["id"] for f in flows][:3] == creds["samples"]["flow_ids"]


def test_access_token_expiration_refresh_with_the_curl_example(any_http: httpx.Client, creds: dict[str, Any]) -> None:
    """'use the refresh token ... to make a POST request to /oauth/token' (curl body with redirect_url)."""
    pair = token_pair(any_http, creds)
    response = any_http.post(
        f"{PREFIX}/oauth/token",
        headers={"Content-Type": "application/json"},
        json={
            "grant_type": "refresh_token",
            "refresh_token": pair["refresh_token"],
            "redirect_url": creds["redirect_uri"],
            "client_id": creds["client_id"],
            "client_secret": creds["client_secret"],
        },
    )
    assert response.status_code == 200
    fresh = response.json()
    assert fresh["expires_in"] == 7200 and fresh["token_type"] == "Bearer"
    assert fresh["access_token"] != pair["access_token"]
    assert gql(any_http, fresh["access_token"], "{ flows { id } }").status_code == 200


def test_the_older_documents_refresh_path(http: httpx.Client, creds: dict[str, Any]) -> None:
    pair = token_pair(http, creds)
    assert refresh(http, creds, pair["refresh_token"], path="/oauth/token/refresh").status_code == 200


def test_an_access_token_expires_two_hours_after_creation(
    http: httpx.Client, admin: httpx.Client, creds: dict[str, Any]
) -> None:
    """'An access token expires 2 hours after creation.'"""
    token = token_pair(http, creds)["access_token"]
    admin.post("clock/advance", json={"seconds": 7199})
    assert gql(http, token, "{ flows { id } }").status_code == 200
    admin.post("clock/advance", json={"seconds": 1})
    expired = gql(http, token, "{ flows { id } }")
    assert expired.status_code == 401
    assert 'error="invalid_token"' in expired.headers["www-authenticate"]


def test_codes_may_only_be_exchanged_once(http: httpx.Client, creds: dict[str, Any]) -> None:
    """'These authorization codes may only be exchanged once'."""
    code = code_for(http, creds)
    assert exchange(http, creds, code).status_code == 200
    again = exchange(http, creds, code)
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"


def test_codes_expire_after_ten_minutes(http: httpx.Client, admin: httpx.Client, creds: dict[str, Any]) -> None:
    """'... and will expire after 10 minutes.'"""
    fresh, stale = code_for(http, creds), code_for(http, creds)
    admin.post("clock/advance", json={"seconds": 599})
    assert exchange(http, creds, fresh).status_code == 200
    admin.post("clock/advance", json={"seconds": 1})
    late = exchange(http, creds, stale)
    assert late.status_code == 400 and late.json()["error"] == "invalid_grant"


# -- Rate Limiting -------------------------------------------------------------------------------
def test_every_response_carries_the_rate_limit_headers() -> None:
    """'For every request made, these response headers will be returned' (100 per minute per token)."""
    with make_sandbox() as sb, sb.client() as http:  # the default limit, as shipped
        sb.ctx.clock.freeze()  # at the start of a minute: no window boundary between the calls
        sb.ctx.clock.set(1_800_000_000 - 1_800_000_000 % 60 + 60)
        creds = sb.credentials()["groove-sales"]
        token = token_pair(http, creds)["access_token"]
        response = gql(http, token, "{ flows { id } }")
        assert response.headers["x-ratelimit-limit"] == "100"
        assert response.headers["x-ratelimit-remaining"] == "99"
        assert int(response.headers["x-ratelimit-reset"]) > 0
        bad = gql(http, token, "{ nope }")  # a GraphQL error is still a counted API call
        assert bad.headers["x-ratelimit-remaining"] == "98"


# -- API: the schema, field by field -------------------------------------------------------------
def _type_str(t: Any) -> str:
    return str(t)


def test_introspection_matches_every_documented_type_field_and_argument(http: httpx.Client, token: str) -> None:
    """'Another benefit of GraphQL is its statically-generated schema that allows introspection'."""
    response = gql(http, token, get_introspection_query())
    assert response.status_code == 200 and "errors" not in response.json()
    schema = build_client_schema(response.json()["data"])
    for type_name, fields in DOCUMENTED.items():
        gtype = schema.get_type(type_name)
        assert gtype is not None and is_object_type(gtype), type_name
        actual = {
            name: (_type_str(f.type), {a: _type_str(arg.type) for a, arg in f.args.items()})
            for name, f in gtype.fields.items()
        }  # type: ignore[union-attr]
        assert actual == fields, type_name
    for type_name, input_fields in DOCUMENTED_INPUTS.items():
        itype = schema.get_type(type_name)
        assert {n: _type_str(f.type) for n, f in itype.fields.items()} == input_fields  # type: ignore[union-attr]
    assert set(schema.type_map) >= DOCUMENTED_SCALARS
    assert schema.query_type.name == "Query" and schema.mutation_type.name == "Mutation"  # type: ignore[union-attr]


def test_query_find_person_by_salesforce_id(any_http: httpx.Client, creds: dict[str, Any]) -> None:
    token = token_pair(any_http, creds)["access_token"]
    sf_id = creds["samples"]["salesforce_ids"][0]
    response = gql(
        any_http,
        token,
        "query($sf: String!) { findPersonBySalesforceId(salesforceId: $sf) { emailAddress id name } }",
        {"sf": sf_id},
    )
    person = response.json()["data"]["findPersonBySalesforceId"]
    assert person["id"] == creds["samples"]["person_ids"][0]
    assert "@" in person["emailAddress"] and person["name"]


def test_query_flow_by_id_with_every_field(http: httpx.Client, token: str, creds: dict[str, Any]) -> None:
    fid = creds["samples"]["flow_ids"][0]
    response = gql(
        http,
        token,
        """query($id: ID!) { flow(id: $id) {
        autoImportAssignOwner autoImportId description finalized id isMasterFlow name
        removePersonAfterBounce removePersonAfterReply sfdcCampaignId userId
        labelInstances(first: 2) { edges { cursor node { id } } nodes { id }
                                   pageInfo { endCursor hasNextPage hasPreviousPage startCursor } }
        steps(first: 2) { edges { cursor node { dayNumber id name } } nodes { dayNumber id name }
                          pageInfo { endCursor hasNextPage hasPreviousPage startCursor } } } }""",
        {"id": fid},
    )
    body = response.json()
    assert "errors" not in body
    flow = body["data"]["flow"]
    assert flow["id"] == fid and isinstance(flow["name"], str)
    for key in (
        "autoImportAssignOwner",
        "finalized",
        "isMasterFlow",
        "removePersonAfterBounce",
        "removePersonAfterReply",
    ):
        assert flow[key] is None or isinstance(flow[key], bool)
    steps = flow["steps"]
    assert [e["node"] for e in steps["edges"]] == steps["nodes"]
    assert all(isinstance(n["dayNumber"], str) for n in steps["nodes"])
    assert steps["pageInfo"]["startCursor"] == steps["edges"][0]["cursor"]
    assert steps["pageInfo"]["endCursor"] == steps["edges"][-1]["cursor"]
    assert steps["pageInfo"]["hasNextPage"] is True and steps["pageInfo"]["hasPreviousPage"] is False
    assert flow["labelInstances"]["nodes"] == [e["node"] for e in flow["labelInstances"]["edges"]]


def test_query_flows_lists_every_flow(http: httpx.Client, token: str) -> None:
    flows = gql(http, token, "{ flows { id name } }").json()["data"]["flows"]
    assert len(flows) == 8  # the default seed
    assert len({f["id"] for f in flows}) == 8


def test_mutation_add_person_to_flow_returns_the_person_flow(
    http: httpx.Client, token: str, creds: dict[str, Any]
) -> None:
    variables = creds["samples"]["queries"]["addPersonToFlow"]["variables"]
    response = gql(
        http,
        token,
        """mutation($input: AddPersonToFlowInput!) { addPersonToFlow(input: $input) {
        personFlow { createdAt flow { id name } person { id name emailAddress } } } }""",
        variables,
    )
    body = response.json()
    assert "errors" not in body, body
    person_flow = body["data"]["addPersonToFlow"]["personFlow"]
    assert person_flow["flow"]["id"] == variables["input"]["flowId"]
    assert person_flow["person"]["id"] == variables["input"]["personId"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", person_flow["createdAt"])


def test_ids_are_accepted_as_strings_or_integers(http: httpx.Client, token: str, creds: dict[str, Any]) -> None:
    """The ID scalar: 'any string (such as "4") or integer (such as 4) input value will be accepted'."""
    fid = creds["samples"]["flow_ids"][0]
    response = gql(http, token, f"{{ flow(id: {fid}) {{ id }} }}")
    assert response.json()["data"]["flow"]["id"] == fid
