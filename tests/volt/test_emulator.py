"""The Volt sandbox around the operations: auth, the emulated rate limit, tenants, credentials, seeding,
contacts and query-defined lists, the SDL, and operation-aware journal and faults."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest

from engagesync.sandbox.app import Sandbox
from engagesync.testing import make_sandbox

from .conftest import GRAPHQL, PRIMARY, WILE, Volt, send

WINDOW_START = 1_800_000_000 - 1_800_000_000 % 60 + 60


# -- auth ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "missing access token: send Authorization: Bearer <token>"),
        ({"Authorization": "Bearer nope"}, "invalid or expired access token"),
        ({"Authorization": "Token abc"}, "invalid or expired access token"),
    ],
)
def test_a_call_without_a_valid_bearer_token_is_a_401(
    http: httpx.Client, headers: dict[str, str], message: str
) -> None:
    response = http.post(GRAPHQL, json={"query": "{ webhooks { id } }"}, headers=headers)
    assert response.status_code == 401
    assert response.json() == {
        "errors": [{"message": message, "extensions": {"code": "UNAUTHENTICATED"}}],
        "data": None,
    }


def test_the_token_is_a_jwt_naming_the_organization(creds: dict[str, Any], volt: Volt) -> None:
    header, payload, _signature = creds["token"].split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert json.loads(base64.urlsafe_b64decode(header + "==")) == {"alg": "HS256", "typ": "JWT"}
    assert set(claims) == {"exp", "iat", "org", "per"} and claims["exp"] > claims["iat"]
    assert "write:messages" in claims["per"].split(";")
    org = volt.data('{ contact(primaryPhone: "+15555554321", phoneNumber: "+15555556893") { organization { id } } }')
    assert org["contact"]["organization"]["id"] == str(claims["org"])


def test_the_sdl_and_the_public_key_need_no_token(http: httpx.Client, creds: dict[str, Any]) -> None:
    sdl = http.get(creds["schema_url"])
    assert sdl.status_code == 200 and "type Query" in sdl.text and "registerWebhook(" in sdl.text
    assert http.get(creds["public_key_url"]).status_code == 200


def test_introspection_answers(volt: Volt) -> None:
    types = volt.data('{ __type(name: "PageInfo") { fields { name } } }')["__type"]["fields"]
    assert [f["name"] for f in types] == ["totalItems", "nextPage", "hasNextPage"]


# -- rate limit ----------------------------------------------------------------------------------
@pytest.fixture
def limited() -> Any:
    """A sandbox with the shipped limits, its clock frozen at the start of a minute."""
    with make_sandbox() as sb, sb.client() as http, sb.client() as admin:
        admin.base_url = httpx.URL("http://sandbox/_sandbox/")
        admin.post("clock/freeze")
        admin.post("clock/set", json={"epoch": WINDOW_START})
        yield sb, http, admin


def test_the_emulated_limit_is_100_a_minute_per_token_with_headers_and_an_empty_429(limited: Any) -> None:
    sb, http, admin = limited
    volt = Volt(http, sb.credentials()["volt"]["token"])
    remaining = [int(volt.gql("{ webhooks { id } }").headers["x-ratelimit-remaining"]) for _ in range(100)]
    assert remaining == list(range(99, -1, -1))
    refused = volt.gql("{ webhooks { id } }")
    assert refused.status_code == 429 and refused.content == b""
    assert refused.headers["x-ratelimit-limit"] == "100"
    assert int(refused.headers["x-ratelimit-reset"]) > WINDOW_START
    other = sb.ctx.create_tenant("other")
    assert Volt(http, sb.credentials(other.name)["volt"]["token"]).gql("{ webhooks { id } }").status_code == 200
    admin.post("clock/advance", json={"seconds": 120})
    assert volt.gql("{ webhooks { id } }").status_code == 200


def test_the_limit_is_configurable(limited: Any) -> None:
    sb, http, admin = limited
    volt = Volt(http, sb.credentials()["volt"]["token"])
    assert admin.put("rate-limits/volt", json={"limit": 2, "window_seconds": 10}).status_code == 200
    assert [volt.gql("{ webhooks { id } }").status_code for _ in range(3)] == [200, 200, 429]
    admin.delete("rate-limits/volt")
    response = volt.gql("{ webhooks { id } }")
    assert response.status_code == 200 and "x-ratelimit-limit" not in response.headers


# -- tenants -------------------------------------------------------------------------------------
def test_tenants_share_numbers_but_never_data(sandbox: Sandbox, http: httpx.Client, admin: httpx.Client) -> None:
    mine = Volt(http, sandbox.credentials()["volt"]["token"])
    theirs_creds = admin.post("tenants", json={"name": "globex", "seed": 7}).json()["volt"]
    theirs = Volt(http, theirs_creds["token"])
    assert theirs_creds["primary_phone"] == PRIMARY  # every organization starts with the document's account
    message = send(mine, "+15557770042", "only mine")
    for query, variables in [
        ("query m($id: ID!) { message(id: $id) { id } }", {"id": message["id"]}),
        ("query m($id: ID!) { legacyMessage(id: $id) { id } }", {"id": message["legacyId"]}),
        ('query { contact(primaryPhone: "+15555554321", phoneNumber: "+15557770042") { id } }', None),
    ]:
        assert list(theirs.data(query, variables).values()) == [None]
    convo = theirs.data('{ conversation(to: "+15557770042", from: "+15555554321") { pageInfo { totalItems } } }')
    assert convo["conversation"]["pageInfo"]["totalItems"] == 0
    admin.post("volt/inbound", json={"from": "+15557770043", "to": PRIMARY, "body": "to globex", "tenant": "globex"})
    inbox = mine.data('{ inbox(from: "+15555554321") { items { contact { phoneNumber } } } }')["inbox"]["items"]
    assert "+15557770043" not in [i["contact"]["phoneNumber"] for i in inbox]
    hook = theirs.data('mutation { registerWebhook(url: "http://sandbox/_sandbox/sink/globex") { id } }')
    assert mine.data("{ webhooks { id } }") == {"webhooks": []}
    assert mine.error("mutation d($id: ID!) { deleteWebhook(id: $id) { id } }", {"id": hook["registerWebhook"]["id"]})[
        "message"
    ].endswith("not found")


# -- credentials and seeding -----------------------------------------------------------------------
def test_credentials_carry_what_a_client_needs(admin: httpx.Client) -> None:
    volt = admin.get("credentials").json()["volt"]
    assert {"graphql_url", "token", "primary_phone", "public_key_url", "samples"} <= set(volt)
    assert volt["graphql_url"] == "http://sandbox/volt/graphql"
    assert volt["public_key_url"] == "http://sandbox/volt/callbacks/id_rsa.pub"
    samples = volt["samples"]
    assert samples["primary_phone"] == PRIMARY
    assert samples["account_numbers"][:3] == [PRIMARY, "+15555551234", "+15555556894"]
    assert WILE in samples["contact_phones"]


def test_every_sample_query_runs(volt: Volt, creds: dict[str, Any]) -> None:
    for name, sample in creds["samples"]["queries"].items():
        data = volt.data(sample["query"], sample["variables"])
        assert data[name] is not None


def test_seeding_is_deterministic_and_sized_by_counts(admin: httpx.Client, volt: Volt) -> None:
    query = (
        '{ inbox(from: "+15555554321") { items { contact { name phoneNumber customFields { key value } } '
        "lastMessage lastMessageTime } pageInfo { totalItems } } }"
    )
    first = admin.post("reset", json={"seed": 3}).json()["volt"]
    before = Volt(volt.http, first["token"]).data(query)
    again = admin.post("reset", json={"seed": 3}).json()["volt"]
    assert again["token"] == first["token"]
    assert Volt(volt.http, again["token"]).data(query) == before
    other = admin.post("reset", json={"seed": 4}).json()["volt"]
    assert Volt(volt.http, other["token"]).data(query) != before
    sized = admin.post("reset", json={"seed": 3, "counts": {"volt.messages": 0, "volt.accounts": 4}}).json()["volt"]
    assert len([n for n in sized["samples"]["account_numbers"]]) == 3 + 3  # Tulsa's primary + pool, 3 others
    assert Volt(volt.http, sized["token"]).data(query)["inbox"]["pageInfo"]["totalItems"] == 0
    refused = admin.post("reset", json={"counts": {"volt.phones": 3}})
    assert refused.status_code == 400 and "unknown volt count" in refused.json()["error"]


def test_a_large_seed_is_quick_enough_to_page(admin: httpx.Client, volt: Volt) -> None:
    creds = admin.post("reset", json={"counts": {"volt.contacts": 20000, "volt.messages": 50000}}).json()["volt"]
    inbox = Volt(volt.http, creds["token"]).data('{ inbox(from: "+15555554321") { pageInfo { totalItems } } }')
    assert inbox["inbox"]["pageInfo"]["totalItems"] > 1000


# -- contacts and lists ----------------------------------------------------------------------------
UPSERT = (
    "mutation c($name: String!, $phone: String!, $fields: [ContactCustomFieldInput]!, $blocked: Boolean!) { "
    'createOrUpdateContact(name: $name, phoneNumber: $phone, accountPhone: "+15555554321", '
    "customFields: $fields, blocked: $blocked) { id name blocked createdAt lastUpdatedAt "
    "customFields { key type value } lists { name } } }"
)


def test_create_or_update_contact_is_an_upsert_that_merges_custom_fields(volt: Volt, admin: httpx.Client) -> None:
    admin.post("clock/freeze")
    phone = "+15557770100"
    fields = [{"key": "purchases", "value": "9"}, {"key": "favorite_seed", "value": "bird"}]
    made = volt.data(UPSERT, {"name": "Road Runner", "phone": phone, "blocked": False, "fields": fields})
    made = made["createOrUpdateContact"]
    assert made["customFields"] == [
        {"key": "purchases", "type": "number", "value": "9"},
        {"key": "favorite_seed", "type": "string", "value": "bird"},
    ]
    assert [lst["name"] for lst in made["lists"]] == ["Loyal Customers", "All"]
    admin.post("clock/advance", json={"seconds": 60})
    same = volt.data(UPSERT, {"name": "Road Runner", "phone": phone, "blocked": False, "fields": [None]})
    assert same["createOrUpdateContact"] == made  # nothing changed: lastUpdatedAt stays
    changed = volt.data(
        UPSERT,
        {"name": "Road Runner Jr.", "phone": phone, "blocked": True, "fields": [{"key": "purchases", "value": "1"}]},
    )["createOrUpdateContact"]
    assert (changed["id"], changed["createdAt"]) == (made["id"], made["createdAt"])
    assert changed["lastUpdatedAt"] > made["lastUpdatedAt"]
    assert (changed["name"], changed["blocked"]) == ("Road Runner Jr.", True)
    assert {"key": "favorite_seed", "type": "string", "value": "bird"} in changed["customFields"]
    assert "Loyal Customers" not in {lst["name"] for lst in changed["lists"]}  # lists follow their queries


def test_a_list_is_its_query_evaluated_now(volt: Volt) -> None:
    mutation = (
        'mutation l($q: ListQuery!) { createOrUpdateList(primaryPhone: "+15555554321", listQuery: $q) '
        "{ id name size querySourceListName queryNameSearchTerm queryCustomFields { field operator "
        "queryValue } } }"
    )
    made = volt.data(
        mutation,
        {
            "q": {
                "listName": "Coyote shoppers",
                "querySourceListName": "Coyotes",
                "queryNameSearchTerm": "coyote",
                "queryCustomFields": [{"field": "purchases", "operator": "gte", "queryValue": "5"}],
            }
        },
    )["createOrUpdateList"]
    assert (made["querySourceListName"], made["queryNameSearchTerm"]) == ("Coyotes", "coyote")
    assert made["size"] == 1  # Wile E. Coyote: a Canis, 5 purchases
    volt.data(
        UPSERT,
        {
            "name": "Calamity Coyote",
            "phone": "+15557770200",
            "blocked": False,
            "fields": [{"key": "species", "value": "Canis latrans"}, {"key": "purchases", "value": "7"}],
        },
    )
    query = '{ list(primaryPhone: "+15555554321", listName: "Coyote shoppers") { id size } }'
    assert volt.data(query)["list"] == {"id": made["id"], "size": 2}
    renamed = volt.data(
        mutation,
        {
            "q": {
                "listName": "Coyote shoppers",
                "queryCustomFields": [{"field": "last_visit", "operator": "bf", "queryValue": '"1990-01-01"'}],
            }
        },
    )["createOrUpdateList"]
    assert (renamed["id"], renamed["size"], renamed["querySourceListName"]) == (made["id"], 0, "All")


# -- journal and faults ------------------------------------------------------------------------------
def test_the_journal_and_fault_rules_see_operation_names(volt: Volt, admin: httpx.Client) -> None:
    rule = {
        "match": {"api": "volt", "operation": "createMessage"},
        "effect": {"status": 503, "body": "vendor"},
        "next": 1,
    }
    assert admin.post("faults", json=rule).status_code == 200
    refused = volt.gql(
        'mutation createMessage { createMessage(to: "+15555556893", from: "+15555554321", body: "x") { id } }'
    )
    assert refused.status_code == 503
    assert refused.json() == {"errors": [{"message": "service unavailable"}], "data": None}
    assert volt.data("{ webhooks { id } }") == {"webhooks": []}
    operations = [r["operation"] for r in admin.get("requests", params={"api": "volt"}).json()["requests"]]
    assert operations[-2:] == ["createMessage", "webhooks"]


def test_unknown_paths_answer_in_the_vendor_shape(http: httpx.Client, creds: dict[str, Any]) -> None:
    response = http.get("/volt/v2/graphql", headers={"Authorization": f"Bearer {creds['token']}"})
    assert response.status_code == 404
    assert response.json() == {"errors": [{"message": "not found"}], "data": None}
