"""The Groove sales GraphQL endpoint: standard errors, GET/POST, SDL, mutation rules, clock, faults."""

from __future__ import annotations

import json
from typing import Any

import httpx

from engagesync.apis.groove_sales.contract import salesforce_18, sdl

from .conftest import GRAPHQL, gql

ADD = """mutation($input: AddPersonToFlowInput!) { addPersonToFlow(input: $input) {
    personFlow { createdAt flow { id } person { id } } } }"""


def test_a_syntax_error_is_a_standard_graphql_error(http: httpx.Client, token: str) -> None:
    response = gql(http, token, "{ flows { id ")
    assert response.status_code == 200
    (error,) = response.json()["errors"]
    assert error["message"].startswith("Syntax Error") and error["locations"] == [{"line": 1, "column": 14}]
    assert "data" not in response.json()


def test_an_unknown_field_is_a_validation_error(http: httpx.Client, token: str) -> None:
    body = gql(http, token, "{ flows { id secret } }").json()
    assert body["errors"][0]["message"] == "Cannot query field 'secret' on type 'Flow'."
    assert "data" not in body


def test_a_missing_required_argument_is_a_validation_error(http: httpx.Client, token: str) -> None:
    body = gql(http, token, "{ flow { id } }").json()
    message = body["errors"][0]["message"]
    assert "'ID!' is required, but it was not provided" in message and "data" not in body


def test_no_query_at_all(http: httpx.Client, token: str) -> None:
    response = http.post(GRAPHQL, json={}, headers={"Authorization": f"Bearer {token}"})
    assert response.json() == {"errors": [{"message": "No query string was present"}]}


def test_a_body_that_is_not_json_is_400(http: httpx.Client, token: str) -> None:
    response = http.post(
        GRAPHQL, content=b"query=nope", headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    )
    assert response.status_code == 400 and response.json()["errors"][0]["message"]


def test_get_runs_queries_but_not_mutations(http: httpx.Client, token: str, creds: dict[str, Any]) -> None:
    auth = {"Authorization": f"Bearer {token}"}
    ok = http.get(
        GRAPHQL,
        params={
            "query": "query($id: ID!) { flow(id: $id) { id } }",
            "variables": f'{{"id": "{creds["samples"]["flow_ids"][0]}"}}',
        },
        headers=auth,
    )
    assert ok.json()["data"]["flow"]["id"] == creds["samples"]["flow_ids"][0]
    variables = creds["samples"]["queries"]["addPersonToFlow"]["variables"]
    refused = http.get(GRAPHQL, params={"query": ADD, "variables": json.dumps(variables)}, headers=auth)
    assert refused.status_code == 405
    again = gql(http, token, ADD, variables)  # nothing was added by the GET
    assert "errors" not in again.json()


def test_the_sdl_is_served_without_a_token(http: httpx.Client) -> None:
    response = http.get(f"{GRAPHQL}/schema.graphql")
    assert response.status_code == 200 and response.text == sdl()
    assert "addPersonToFlow(input: AddPersonToFlowInput!): AddPersonToFlowPayload" in response.text


def test_a_missing_flow_or_person_is_null(http: httpx.Client, token: str) -> None:
    body = gql(
        http, token, '{ flow(id: "999999") { id } findPersonBySalesforceId(salesforceId: "003000000000000") { id } }'
    ).json()
    assert body == {"data": {"flow": None, "findPersonBySalesforceId": None}}


def test_salesforce_ids_match_in_15_and_18_character_forms(
    http: httpx.Client, token: str, creds: dict[str, Any]
) -> None:
    """18-character ids are case-insensitive; 15-character ones are case-sensitive (Salesforce's rule)."""
    sf18 = creds["samples"]["salesforce_ids"][0]
    assert salesforce_18(sf18[:15]) == sf18 and sf18[:15] != sf18[:15].lower()

    def find(form: str) -> Any:
        return gql(
            http, token, "query($s: String!) { findPersonBySalesforceId(salesforceId: $s) { id } }", {"s": form}
        ).json()["data"]["findPersonBySalesforceId"]

    for form in (sf18, sf18[:15], sf18.lower()):
        assert find(form) == {"id": creds["samples"]["person_ids"][0]}, form
    assert find(sf18[:15].lower()) is None
    assert find("not-an-id") is None


def test_adding_a_person_twice_is_an_error(http: httpx.Client, token: str, creds: dict[str, Any]) -> None:
    variables = creds["samples"]["queries"]["addPersonToFlow"]["variables"]
    assert "errors" not in gql(http, token, ADD, variables).json()
    body = gql(http, token, ADD, variables).json()
    assert body["data"] == {"addPersonToFlow": None}
    (error,) = body["errors"]
    assert error["message"] == "Validation failed: Person is already in this Flow"
    assert error["path"] == ["addPersonToFlow"] and error["locations"]
    assert error["extensions"] == {"code": "ALREADY_IN_FLOW"}


def test_a_seeded_membership_is_already_in_its_flow(http: httpx.Client, token: str, creds: dict[str, Any]) -> None:
    body = gql(http, token, ADD, {"input": creds["samples"]["person_in_flow"]}).json()
    assert body["errors"][0]["extensions"]["code"] == "ALREADY_IN_FLOW"


def test_adding_to_a_missing_flow_or_a_missing_person(http: httpx.Client, token: str, creds: dict[str, Any]) -> None:
    person, flow = creds["samples"]["person_ids"][0], creds["samples"]["flow_ids"][0]
    no_flow = gql(http, token, ADD, {"input": {"flowId": "1", "personId": person}}).json()
    assert no_flow["data"] == {"addPersonToFlow": None}
    assert no_flow["errors"][0]["message"] == "Couldn't find Flow with 'id'=1"
    assert no_flow["errors"][0]["extensions"] == {"code": "NOT_FOUND"}
    no_person = gql(http, token, ADD, {"input": {"flowId": flow, "personId": "abc"}}).json()
    assert no_person["errors"][0]["message"] == "Couldn't find Person with 'id'=abc"


def test_a_missing_input_field_is_a_variable_error(http: httpx.Client, token: str) -> None:
    body = gql(http, token, ADD, {"input": {"flowId": "1"}}).json()
    assert "personId" in body["errors"][0]["message"] and "data" not in body


def test_person_flow_created_at_follows_the_virtual_clock(
    http: httpx.Client, admin: httpx.Client, token: str, creds: dict[str, Any]
) -> None:
    admin.post("clock/freeze")
    at = admin.post("clock/advance", json={"seconds": 3600}).json()
    body = gql(http, token, ADD, creds["samples"]["queries"]["addPersonToFlow"]["variables"]).json()
    assert body["data"]["addPersonToFlow"]["personFlow"]["createdAt"] == at["now"]


def test_an_invalid_cursor_is_a_graphql_error(http: httpx.Client, token: str) -> None:
    bad_cursor = gql(http, token, '{ flows { steps(after: "!!!") { nodes { id } } } }').json()
    assert bad_cursor["errors"][0]["message"] == 'Invalid cursor: "!!!"'


def test_fault_rules_match_a_graphql_operation(
    http: httpx.Client, admin: httpx.Client, token: str, creds: dict[str, Any]
) -> None:
    """An ``after`` fault on the mutation lets it commit, then loses the response (the reconcile case)."""
    admin.put(
        "faults",
        json={
            "rules": [
                {
                    "match": {"api": "groove-sales", "operation": "addPersonToFlow"},
                    "effect": {"status": 503},
                    "after": True,
                    "times": 1,
                }
            ]
        },
    )
    assert gql(http, token, "{ flows { id } }").status_code == 200  # another operation: untouched
    variables = creds["samples"]["queries"]["addPersonToFlow"]["variables"]
    lost = gql(http, token, ADD, variables)
    assert lost.status_code == 503 and lost.json() == {"errors": [{"message": "Service Unavailable"}]}
    again = gql(http, token, ADD, variables).json()
    assert again["errors"][0]["extensions"]["code"] == "ALREADY_IN_FLOW"  # the first one did happen
    journal = admin.get("requests", params={"api": "groove-sales"}).json()["requests"]
    assert [e["operation"] for e in journal if e["operation"]][-2:] == ["addPersonToFlow", "addPersonToFlow"]


def test_a_repeated_document_answers_the_same_as_a_fresh_one(
    http: httpx.Client, token: str, creds: dict[str, Any]
) -> None:
    """The server caches parsed and validated documents by text (a push repeats one aliased mutation):
    the same text must still run with each request's own variables, and a bad one fail every time."""
    query = "query F($id: ID!) { flow(id: $id) { id } }"
    first, second = creds["samples"]["flow_ids"][:2]
    assert gql(http, token, query, {"id": first}).json() == {"data": {"flow": {"id": first}}}
    assert gql(http, token, query, {"id": second}).json() == {"data": {"flow": {"id": second}}}
    bad = [gql(http, token, "{ flows { id secret } }").json() for _ in range(2)]
    assert bad[0] == bad[1] and "data" not in bad[1]
    broken = [gql(http, token, "{ flows { id ").json() for _ in range(2)]
    assert broken[0] == broken[1] and broken[1]["errors"][0]["message"].startswith("Syntax Error")
