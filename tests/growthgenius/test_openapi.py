"""The GrowthGenius emulator's OpenAPI document: valid, complete, and true of the running emulator.

1. The document served at ``/openapi.json`` is valid OpenAPI 3.0 and lists exactly the routes the
   emulator has, so a new route without documentation fails here.
2. A bounded schemathesis run sends generated requests, positive and negative, to the in-process app
   with the team's API key and ``user_id`` and checks every response against the document: no 5xx, a
   documented status code, content type, body schema and headers. Every operation starts from the same
   seeded state and generation is derandomized, so a run (or one operation, with ``-k``) is reproducible.
3. The inputs that run (and a review of the same code paths) found answered with a 500 or with a body
   the document does not allow, pinned so they are checked every time.

Path ids, body references (``contact_id``, ``user_id``, ``team_id``) and window bounds are swapped, as
often as not, for seeded values, so the success responses are exercised as well as the 404s and 422s.
"""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
import yaml
from hypothesis import given
from hypothesis import strategies as st
from schemathesis import GenerationMode

from engagesync.apis.growthgenius import API_ID, PREFIX
from engagesync.apis.growthgenius.openapi import SPEC
from engagesync.sandbox.app import Sandbox
from engagesync.sandbox.openapi import operations, served_operations, template
from engagesync.sandbox.ratelimit import RateLimit
from engagesync.testing import make_sandbox
from tests.schemathesis_settings import CHECKS, CONFIG, bounded, checks

DOCUMENT_PATH = f"{PREFIX}/openapi.json"

#: Every generated case is held to every schemathesis check (tests/schemathesis_settings.py). A
#: schema-valid request may still get a 422 for these rules about what the team holds, and only these:
ACCOUNT_RULES = [
    r"user_id -?\d+ is not a member of your team",
    r"team_id must be your team's id",
    r"contact_id -?\d+ is not a contact of your team",
    r"to must not be before from",  # two query parameters: JSON Schema cannot compare them
    r"email has already been taken",
]
GENERATED_CHECKS = checks(ACCOUNT_RULES)
BOUNDED = bounded(25)


# -- the app under test ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def served() -> Iterator[Sandbox]:
    """One fresh in-memory sandbox for the module, rate limits off."""
    sb = make_sandbox(limits=False)
    sb.ctx.set_rate_limit(API_ID, None)
    try:
        yield sb
    finally:
        sb.close()


@pytest.fixture(scope="module")
def creds(served: Sandbox) -> dict[str, Any]:
    value: dict[str, Any] = served.credentials()[API_ID]
    return value


@pytest.fixture(scope="module")
def auth(creds: dict[str, Any]) -> dict[str, Any]:
    """What every call carries: the bare key header and the caller's ``user_id``."""
    return {"headers": {"Authorization": creds["api_key"]}, "params": {"user_id": str(creds["user_id"])}}


@pytest.fixture(scope="module")
def known(creds: dict[str, Any]) -> dict[str, list[Any]]:
    """Seeded values, by the parameter or body field that takes them."""
    samples = creds["samples"]
    return {
        "contacts.id": samples["contact_ids"],
        "messages.id": samples["message_ids"],
        "contact_id": samples["contact_ids"],
        "user_id": samples["user_ids"][:3],  # the fourth has not enabled integrations
        "team_id": [samples["team_id"]],
        "email": [*samples["contact_emails"], "new.prospect@example.com"],
        "from": ["2025-01-01", "2025-06-01T00:00:00.000-04:00"],
        "to": ["2025-12-31T23:59:59.999-05:00"],
        "sent_at": ["2019-08-09T07:10:41.275-04:00", "2025-03-09T02:30:00"],
        "q_keywords": ["", "northwind", samples["contact_emails"][0]],
    }


def mixed(values: dict[str, Any], known: dict[str, list[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    """Each value a known-good one for its name or, about as often, the value as generated.

    The known branch comes first because Hypothesis leans towards earlier branches. A wrapped body
    (``{"contact": {...}}``) has its fields mixed the same way.
    """

    def one(name: str, value: Any) -> st.SearchStrategy[Any]:
        if name in ("contact", "message") and isinstance(value, dict):
            return mixed(value, known)
        return st.one_of(st.sampled_from(known[name]), st.just(value)) if known.get(name) else st.just(value)

    return st.fixed_dictionaries({name: one(name, value) for name, value in values.items()})


@pytest.fixture(scope="module")
def gg_schema(served: Sandbox, known: dict[str, list[Any]]) -> schemathesis.BaseSchema:
    """The served document, loaded by schemathesis from the app itself."""
    schema = schemathesis.openapi.from_asgi(DOCUMENT_PATH, served.app, config=CONFIG)

    @schema.hook
    def flatmap_path_parameters(context: Any, path_parameters: Any) -> Any:
        if not isinstance(path_parameters, dict):
            return st.just(path_parameters)
        resource = context.operation.path.strip("/").split("/")[0]  # contacts or messages
        return mixed(path_parameters, {"id": known[f"{resource}.id"]})

    @schema.hook
    def flatmap_query(context: Any, query: Any) -> Any:
        return mixed(query, known) if isinstance(query, dict) else st.just(query)

    @schema.hook
    def flatmap_body(context: Any, body: Any) -> Any:
        return mixed(body, known) if isinstance(body, dict) else st.just(body)

    return schema


# -- 1. the document ---------------------------------------------------------------------------------
DOCUMENT: dict[str, Any] = yaml.safe_load(SPEC.read_text())


@pytest.fixture(scope="module")
def served_document(served: Sandbox) -> dict[str, Any]:
    with served.client() as client:
        response = client.get(DOCUMENT_PATH)  # public: no key, no user_id
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    document: dict[str, Any] = response.json()
    return document


def test_document_is_valid_openapi(gg_schema: schemathesis.BaseSchema) -> None:
    gg_schema.validate()  # raises on any deviation from the OpenAPI 3.0 meta-schema
    assert gg_schema.raw_schema["openapi"] == "3.0.3"


def test_document_lists_every_route_and_no_other(served: Sandbox, served_document: dict[str, Any]) -> None:
    routes = served_operations(served.ctx.apis[API_ID].routes())
    documented = {(method, template(path)) for method, path in operations(served_document)}
    assert routes - documented == set(), "routes without documentation"
    assert documented - routes == set(), "documented operations the emulator does not have"
    assert {("GET", "/users/"), ("POST", "/contacts/search"), ("PUT", "/messages/{}")} <= documented


def test_served_document_is_the_yaml_file_with_the_callers_server(
    served: Sandbox, served_document: dict[str, Any]
) -> None:
    assert served_document["servers"] == [{"url": f"http://sandbox{PREFIX}"}]
    assert {k: v for k, v in served_document.items() if k != "servers"} == json.loads(json.dumps(DOCUMENT))
    url = served.serve()  # over loopback the server is the address the caller used
    loopback = httpx.get(f"{url}{DOCUMENT_PATH}").json()
    assert loopback["servers"] == [{"url": f"{url}{PREFIX}"}]


def test_auth_is_the_bare_key_header_and_the_user_id_query_parameter(served_document: dict[str, Any]) -> None:
    schemes = served_document["components"]["securitySchemes"]
    assert (schemes["apiKey"]["type"], schemes["apiKey"]["in"], schemes["apiKey"]["name"]) == (
        "apiKey",
        "header",
        "Authorization",
    )
    assert (schemes["userId"]["type"], schemes["userId"]["in"], schemes["userId"]["name"]) == (
        "apiKey",
        "query",
        "user_id",
    )
    assert served_document["security"] == [{"apiKey": [], "userId": []}]
    paths = served_document["paths"]
    assert paths["/openapi.json"]["get"]["security"] == []
    assert paths["/users"]["get"]["security"] == [{"apiKey": [], "userId": []}, {"apiKey": []}]
    for method, path in operations(served_document):
        statuses = set(paths[path][method.lower()]["responses"])
        assert ({"401", "403", "429"} <= statuses) == (path != "/openapi.json"), (method, path)


def test_bodies_document_the_wrapped_and_the_flat_form(served_document: dict[str, Any]) -> None:
    bodies = served_document["components"]["requestBodies"]
    for name, envelope in (("ContactCreate", "contact"), ("MessageUpdate", "message")):
        forms = bodies[name]["content"]["application/json"]["schema"]["anyOf"]
        wrapped = served_document["components"]["schemas"][forms[0]["$ref"].rsplit("/", 1)[1]]
        assert wrapped["required"] == [envelope]


def test_errors_and_the_documented_refusals_match_the_document(
    served: Sandbox, creds: dict[str, Any], gg_schema: schemathesis.BaseSchema
) -> None:
    contacts = gg_schema["/contacts"]["GET"]
    key = {"Authorization": creds["api_key"]}
    missing_key = contacts.Case(query={}).call_and_validate(params={"user_id": "1"}, checks=CHECKS)
    bearer = contacts.Case().call_and_validate(
        headers={"Authorization": f"Bearer {creds['api_key']}"}, params={"user_id": "1"}, checks=CHECKS
    )
    missing_user = contacts.Case().call_and_validate(headers=key, checks=CHECKS)
    stranger = contacts.Case().call_and_validate(headers=key, params={"user_id": "999"}, checks=CHECKS)
    team = gg_schema["/users"]["GET"].Case().call_and_validate(headers=key, checks=CHECKS)
    assert [r.status_code for r in (missing_key, bearer, missing_user, stranger, team)] == [401, 401, 401, 403, 200]
    assert stranger.json() == {"status": 403, "error": "user_id 999 is not a member of this API key's team"}
    invalid = (
        gg_schema["/contacts"]["POST"]
        .Case(body={"contact": {"email": "nope"}})
        .call_and_validate(headers=key, params={"user_id": str(creds["user_id"])}, checks=CHECKS)
    )
    assert invalid.status_code == 422
    assert invalid.json()["errors"] == {"email": ["is not a valid email address (got 'nope')"]}


def test_rate_limit_headers_and_the_empty_429_match_the_document(
    served: Sandbox, creds: dict[str, Any], auth: dict[str, Any], gg_schema: schemathesis.BaseSchema
) -> None:
    """The property run has rate limits off; here they are on (2 per minute) for this key."""
    key = creds["api_key"]
    served.ctx.set_rate_limit(API_ID, RateLimit(2, 60.0), credential=key)
    try:
        contacts = gg_schema["/contacts"]["GET"]
        answers = [contacts.Case().call_and_validate(**auth, checks=CHECKS) for _ in range(3)]
    finally:
        served.ctx.set_rate_limit(API_ID, None, credential=key)
    assert [r.status_code for r in answers] == [200, 200, 429]
    assert [r.headers["x-ratelimit-remaining"] for r in answers[:2]] == [["1"], ["0"]]
    assert answers[2].content == b""


# -- 2. the property run -----------------------------------------------------------------------------
#: The schema's own route is left out: schemathesis does not test the document it was loaded from, and
#: the tests above cover it.
FUZZED = [(method, path) for method, path in operations(DOCUMENT) if path != "/openapi.json"]


@pytest.mark.parametrize(("method", "path"), FUZZED, ids=[f"{m} {p}" for m, p in FUZZED])
def test_operation_conforms_to_document(
    method: str, path: str, served: Sandbox, auth: dict[str, Any], gg_schema: schemathesis.BaseSchema
) -> None:
    served.reset()
    operation = gg_schema[path][method]
    cases = st.one_of([operation.as_strategy(generation_mode=mode) for mode in GenerationMode])

    @BOUNDED
    @given(case=cases)
    def conforms(case: schemathesis.Case) -> None:
        case.call_and_validate(**auth, checks=GENERATED_CHECKS)

    conforms()


# -- 3. inputs that got a 500 or an undocumented body, pinned ------------------------------------------
HUGE = "9223372036854775808"  # 2**63: beyond a bigint id, and SQLite refused to look it up (500)
SUPERSCRIPT = "²"  # str.isdigit() says yes, int() says no (500)


@pytest.fixture
def gg_raw(served: Sandbox, creds: dict[str, Any]) -> Iterator[httpx.Client]:
    """A client of the reset sandbox carrying the key; ``user_id`` is set per request."""
    served.reset()
    with served.client(headers={"Authorization": creds["api_key"]}) as client:
        client.base_url = httpx.URL(f"http://sandbox{PREFIX}/")
        yield client


def conforming(response: httpx.Response, gg_schema: schemathesis.BaseSchema, method: str, path: str) -> httpx.Response:
    """The response, after checking it against the documented operation (status, headers, body)."""
    if not hasattr(response, "_elapsed"):  # the in-process transport hands the body over whole: no timing
        response.elapsed = datetime.timedelta(0)
    gg_schema[path][method].validate_response(response)
    return response


@pytest.mark.parametrize(
    ("path", "user_id", "status"),
    [
        (f"contacts/{HUGE}", "1", 404),
        (f"messages/{SUPERSCRIPT}", "1", 404),
        ("contacts/1102755", HUGE, 403),
        ("contacts/1102755", SUPERSCRIPT, 403),
    ],
    ids=["huge-path-id", "superscript-path-id", "huge-user-id", "superscript-user-id"],
)
def test_ids_that_are_not_bigint_digits_are_not_found_or_forbidden(
    gg_raw: httpx.Client, gg_schema: schemathesis.BaseSchema, path: str, user_id: str, status: int
) -> None:
    response = gg_raw.get(path, params={"user_id": user_id})
    assert response.status_code == status, response.text
    conforming(response, gg_schema, "GET", "/" + re.sub(r"/[^/]+$", "/{id}", path))


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ('{"email": "a@b.example", "city": NaN}', "NaN is not JSON"),
        ('{"email": "a@b.example", "city": 1e400}', "number out of range"),
        ('{"email": "a@b.example", "prospect_id": ' + "9" * 5000 + "}", "digits"),
    ],
    ids=["nan", "infinite-float", "5000-digit-integer"],
)
def test_bodies_no_json_answer_could_carry_back_are_bad_requests(
    gg_raw: httpx.Client, gg_schema: schemathesis.BaseSchema, raw: str, reason: str
) -> None:
    response = gg_raw.post(
        "contacts", params={"user_id": "1"}, content=raw, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400, response.text
    assert reason in response.json()["error"]
    conforming(response, gg_schema, "POST", "/contacts")


@pytest.mark.parametrize(
    ("fields", "errors"),
    [
        ({"prospect_id": "--5"}, {"prospect_id": ["must be a whole number (got '--5')"]}),
        ({"employee_count": SUPERSCRIPT}, {"employee_count": [f"must be a whole number (got '{SUPERSCRIPT}')"]}),
        ({"contact_account_id": int(HUGE)}, {"contact_account_id": [f"is out of range (got {HUGE})"]}),
        ({"annual_revenue": 10**400}, {"annual_revenue": [f"must be a number (got {10**400})"]}),
        ({"contact_account": {}}, {"contact_account": ["id can't be blank"]}),
        ({"contact_account": {"status": "cold"}}, {"contact_account": ["id can't be blank"]}),
        (
            {"contact_account": {"id": 7, "status": ["cold"]}},
            {"contact_account": ["status must be text (got ['cold'])"]},
        ),
    ],
    ids=[
        "double-minus",
        "superscript",
        "beyond-bigint",
        "beyond-double",
        "account-without-id",
        "account-status-only",
        "account-status-list",
    ],
)
def test_contact_fields_out_of_kind_or_range_are_named_in_a_422(
    gg_raw: httpx.Client, gg_schema: schemathesis.BaseSchema, fields: dict[str, Any], errors: dict[str, list[str]]
) -> None:
    response = gg_raw.post("contacts", params={"user_id": "1"}, json={"contact": {"email": "a@b.example", **fields}})
    assert response.status_code == 422, response.text
    assert response.json()["errors"] == errors
    conforming(response, gg_schema, "POST", "/contacts")


def test_numbers_sent_for_text_fields_come_back_as_text(
    gg_raw: httpx.Client, gg_schema: schemathesis.BaseSchema
) -> None:
    response = gg_raw.post(
        "contacts",
        params={"user_id": "1"},
        json={
            "contact": {"email": "a@b.example", "city": 5, "custom1": 2.5, "contact_account": {"id": "7", "status": 3}}
        },
    )
    assert response.status_code == 201, response.text
    contact = conforming(response, gg_schema, "POST", "/contacts").json()["contact"]
    assert (contact["city"], contact["custom1"], contact["contact_account"], contact["contact_account_id"]) == (
        "5",
        "2.5",
        {"id": 7, "status": "3"},
        7,
    )


@pytest.mark.parametrize(
    ("sent_at", "status", "rendered"),
    [
        ("0050-06-01T12:00:00Z", 201, "0050-06-01T08:00:00.000-04:00"),  # was rendered "50-06-01...": no date-time
        ("0001-01-01T00:00:00+14:00", 422, None),  # year 0 in US Eastern: rendering it crashed (500)
        ("9999-12-31T23:59:59-14:00", 422, None),  # year 10000 in UTC: rendering it crashed (500)
    ],
    ids=["year-50", "year-0", "year-10000"],
)
def test_sent_at_renders_with_a_four_digit_year_or_is_refused(
    gg_raw: httpx.Client,
    gg_schema: schemathesis.BaseSchema,
    creds: dict[str, Any],
    sent_at: str,
    status: int,
    rendered: str | None,
) -> None:
    contact_id = creds["samples"]["contact_ids"][0]
    response = gg_raw.post(
        "messages",
        params={"user_id": "1"},
        json={"message": {"contact_id": contact_id, "message_type": "email", "sent_at": sent_at}},
    )
    assert response.status_code == status, response.text
    body = conforming(response, gg_schema, "POST", "/messages").json()
    if rendered:
        assert body["message"]["sent_at"] == rendered
    else:
        assert body["errors"] == {"sent_at": [f"must fall in the years 1 to 9999 (got '{sent_at}')"]}


def test_a_window_bound_past_the_calendar_is_a_422_naming_it(
    gg_raw: httpx.Client, gg_schema: schemathesis.BaseSchema
) -> None:
    response = gg_raw.get("contacts", params={"user_id": "1", "to": "9999-12-31T23:00:00"})  # was a 500
    assert response.status_code == 422, response.text
    assert list(response.json()["errors"]) == ["to"]
    conforming(response, gg_schema, "GET", "/contacts")


def test_a_message_keeps_its_team_when_team_id_is_sent_as_null(
    gg_raw: httpx.Client, gg_schema: schemathesis.BaseSchema, creds: dict[str, Any]
) -> None:
    message_id = creds["samples"]["message_ids"][0]
    response = gg_raw.patch(f"messages/{message_id}", params={"user_id": "1"}, json={"message": {"team_id": None}})
    assert response.status_code == 200, response.text
    assert (
        conforming(response, gg_schema, "PATCH", "/messages/{id}").json()["message"]["team_id"]
        == creds["samples"]["team_id"]
    )


def test_search_page_must_be_ascii_digits(gg_raw: httpx.Client, gg_schema: schemathesis.BaseSchema) -> None:
    response = gg_raw.post("contacts/search", params={"user_id": "1"}, json={"page": SUPERSCRIPT})
    assert response.status_code == 422, response.text
    assert response.json()["errors"] == {"page": [f"must be a whole number (got '{SUPERSCRIPT}')"]}
    conforming(response, gg_schema, "POST", "/contacts/search")
