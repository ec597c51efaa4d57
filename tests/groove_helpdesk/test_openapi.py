"""The emulator's OpenAPI document: valid, complete, and true of the running emulator.

1. The document served at ``/openapi.json`` is valid OpenAPI 3.0 and lists exactly the routes the
   emulator has, so a new route without documentation fails here.
2. A bounded schemathesis run sends generated requests, positive and negative, to the in-process app
   with the tenant's bearer token and checks every response against the document: no 5xx, a documented
   status code, content type, body schema and headers. Every operation starts from the same seeded
   state and generation is derandomized, so a run (or one operation, with ``-k``) is reproducible.

Path parameters, query filters and id-like body fields are swapped, as often as not, for ids of seeded
records, so the success responses are exercised as well as the 404s and 422s random strings get.
"""

from __future__ import annotations

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
from starlette.types import Message, Receive, Scope, Send

from engagesync.apis.groove_helpdesk import PREFIX
from engagesync.apis.groove_helpdesk.openapi import SPEC
from engagesync.sandbox.app import Sandbox
from engagesync.sandbox.inprocess import SyncASGITransport
from engagesync.sandbox.openapi import operations, served_operations, template
from engagesync.sandbox.ratelimit import RateLimit
from engagesync.testing import make_sandbox
from tests.schemathesis_settings import CHECKS, CONFIG, bounded, checks

API_ID = "groove-helpdesk"
DOCUMENT_PATH = f"{PREFIX}/openapi.json"
#: Path parameter values that address a sibling route rather than a resource.
ROUTE_LITERALS = {"kb_id": {"themes"}, "category_id": {"search"}, "article_id": {"search"}}

#: Every generated case is held to every schemathesis check (tests/schemathesis_settings.py). A
#: schema-valid request may still get a 422 for these rules about what the account holds, and only these:
ACCOUNT_RULES = [
    r"(email|name|slug|subdomain|custom_domain) has already been taken",
    r"\S+ is not an? (agent|group|mailbox) of this account",  # assignee, group, assigned_group, mailbox
    r"\S+ must be the id of one of your ",  # author_id, contact.id, kb.id: records of the account
    r"(agents|agent_ids) contain unknown agent",
    r"author must be an agent or this ticket's customer",
    r"to can't be blank \(",  # whether `from` is an agent or a customer of the account decides
    r"to must be the email of a mailbox or agent when from is a customer",
    r"ip_addresses can't be empty when ip_addresses_enabled is true",  # none stored yet
    r"password can't be blank when password_enabled",  # none stored yet
]
GENERATED_CHECKS = checks(ACCOUNT_RULES)
BOUNDED = bounded(20)


# -- the app under test ------------------------------------------------------------------------------
class AsServed:
    """The sandbox app the way a server runs it.

    An exception that escapes after the response has started is what a server logs; the client sees
    the 500 the app's error handler already sent, and so should ``not_a_server_error``. The lifespan is
    declined, so no background webhook ticker outlives the module (deliveries still run per request).
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            if not started:
                raise


def offline_deliveries(sb: Sandbox) -> None:
    """Generated webhooks point anywhere: their deliveries are answered in-process, never sent out."""

    def client() -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(lambda request: httpx.Response(204)))

    sb.ctx.outbox._client = client  # type: ignore[method-assign]


def fresh_state(sb: Sandbox, token: str) -> str:
    """Back to the seeded data plus one registered webhook; returns its id (the same after every reset)."""
    sb.reset()
    with sb.client(headers={"Authorization": f"Bearer {token}"}) as client:
        hook = client.post(
            f"{PREFIX}/webhooks", json={"event": "ticket_closed", "url": "http://sandbox/_sandbox/sink/x"}
        )
    assert hook.status_code == 201, hook.text
    webhook_id: str = hook.json()["webhook"]["id"]
    return webhook_id


@pytest.fixture(scope="module")
def served() -> Iterator[Sandbox]:
    """One fresh in-memory sandbox for the module, rate limits off, webhook deliveries kept offline."""
    sb = make_sandbox(limits=False)
    sb.ctx.set_rate_limit(API_ID, None)
    offline_deliveries(sb)
    try:
        yield sb
    finally:
        sb.close()


@pytest.fixture(scope="module")
def token(served: Sandbox) -> str:
    value: str = served.credentials()[API_ID]["token"]
    return value


@pytest.fixture(scope="module")
def known(served: Sandbox, token: str) -> dict[str, list[Any]]:
    """Ids and emails of seeded records, by the parameter or body field that takes them."""
    webhook_id = fresh_state(served, token)
    samples: dict[str, Any] = served.credentials()[API_ID]["samples"]
    with served.client(headers={"Authorization": f"Bearer {token}"}) as client:
        mailbox_emails = [m["email"] for m in client.get(f"{PREFIX}/mailboxes").json()["mailboxes"]]
    agents, customers = samples["agent_emails"], samples["customer_emails"]
    messages = samples["message_ids"] + samples["message_ids_with_attachments"]
    return {
        # path parameters
        "customer": customers,
        "agent": agents,
        "mailbox": samples["mailbox_ids"] + mailbox_emails,
        "group_id": samples["group_ids"],
        "number": samples["ticket_numbers"],
        "message_id": messages,
        "webhook_id": [webhook_id],
        "widget_id": samples["widget_ids"],
        "widget_uuid": samples["widget_uuids"],
        "kb_id": samples["knowledge_base_ids"],
        "category_id": samples["kb_category_ids"],
        "article_id": samples["article_ids"],
        # query parameters and body fields
        "assignee": [*agents, "unassigned"],
        "author": [*agents, customers[0]],
        "author_id": agents,
        "from": agents + customers,
        "to": customers + mailbox_emails,
        "folder": list(samples["folder_ids"].values()),
        "group": samples["group_ids"] + samples["group_names"],
        "assigned_group": samples["group_names"],
        "message": messages,
        "agents": [agents[:2]],
        "contact.id": samples["mailbox_ids"],
        "kb.id": samples["knowledge_base_ids"],
        "article_ids": [samples["article_ids"][:2]],
        "related_ids": [samples["article_ids"][:1]],
        "email": ["renamed@example.com", customers[0]],
        "sent_at": ["Tue, 17 Jul 2012 13:41:01 +0000", "2024-05-01T10:00:00Z"],
        "ip_addresses": [["10.0.0.0/8", "2001:db8::1"], []],
        "password": ["correct horse battery staple"],
    }


def mixed(values: dict[str, Any], known: dict[str, list[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    """Each value a known-good one for its name or, about as often, the value as generated.

    Only names whose valid values the document cannot list belong in ``known``: the hooks do not know
    whether a case is negative, and swapping a mutated enum value for a good one would make it valid.

    The known branch comes first because Hypothesis leans towards earlier branches, and a body with
    several references (ticket create: mailbox, assignee, group, sent_at) needs them all right to succeed.
    """
    return st.fixed_dictionaries(
        {
            name: st.one_of(st.sampled_from(known[name]), st.just(value)) if known.get(name) else st.just(value)
            for name, value in values.items()
        }
    )


@pytest.fixture(scope="module")
def groove_schema(served: Sandbox, known: dict[str, list[Any]]) -> schemathesis.BaseSchema:
    """The served document, loaded by schemathesis from the app itself."""
    schema = schemathesis.openapi.from_asgi(DOCUMENT_PATH, AsServed(served.app), config=CONFIG)

    @schema.hook
    def flatmap_path_parameters(context: Any, path_parameters: Any) -> Any:
        return mixed(path_parameters, known) if isinstance(path_parameters, dict) else st.just(path_parameters)

    @schema.hook
    def filter_path_parameters(context: Any, path_parameters: Any) -> bool:
        # Negative cases may pick the literal segment of a sibling route (GET /kb/themes,
        # /kb/{id}/categories/search): that request is a different documented operation, not bad input.
        values = path_parameters if isinstance(path_parameters, dict) else {}
        return not any(str(values.get(name, "")).strip() in words for name, words in ROUTE_LITERALS.items())

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
        response = client.get(DOCUMENT_PATH)  # public: no token
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    document: dict[str, Any] = response.json()
    return document


def test_document_is_valid_openapi(groove_schema: schemathesis.BaseSchema) -> None:
    groove_schema.validate()  # raises on any deviation from the OpenAPI 3.0 meta-schema
    assert groove_schema.raw_schema["openapi"] == "3.0.3"


def test_document_lists_every_route_and_no_other(served: Sandbox, served_document: dict[str, Any]) -> None:
    routes = served_operations(served.ctx.apis[API_ID].routes())
    documented = {(method, template(path)) for method, path in operations(served_document)}
    assert routes - documented == set(), "routes without documentation"
    assert documented - routes == set(), "documented operations the emulator does not have"


def test_served_document_is_the_yaml_file_with_the_callers_server(served_document: dict[str, Any]) -> None:
    assert served_document["servers"] == [{"url": f"http://sandbox{PREFIX}"}]
    assert {k: v for k, v in served_document.items() if k != "servers"} == json.loads(json.dumps(DOCUMENT))


def test_security_schemes_and_public_operations(served_document: dict[str, Any]) -> None:
    schemes = served_document["components"]["securitySchemes"]
    assert (schemes["bearerAuth"]["type"], schemes["bearerAuth"]["scheme"]) == ("http", "bearer")
    assert (schemes["accessToken"]["type"], schemes["accessToken"]["in"], schemes["accessToken"]["name"]) == (
        "apiKey",
        "query",
        "access_token",
    )
    assert served_document["security"] == [{"bearerAuth": []}, {"accessToken": []}]
    public = {
        path
        for method, path in operations(served_document)
        if served_document["paths"][path][method.lower()].get("security") == []
    }
    assert public == {"/openapi.json", "/public/widget/{widget_uuid}", "/public/widgets/{widget_uuid}"}
    for method, path in operations(served_document):
        statuses = set(served_document["paths"][path][method.lower()]["responses"])
        assert bool(statuses & {"401", "429"}) == (path not in public), (method, path)


def test_creates_document_their_location(served_document: dict[str, Any]) -> None:
    for path, item in served_document["paths"].items():
        created = item.get("post", {}).get("responses", {}).get("201")
        if created is None or path.endswith("/tags"):  # adding tags answers 201 with the ticket, no Location
            continue
        assert "Location" in created["headers"], path


def test_documented_access_token_and_bearer_both_authenticate(served: Sandbox, token: str) -> None:
    with served.client() as client:
        assert client.get(f"{PREFIX}/agents", params={"access_token": token}).status_code == 200
        assert client.get(f"{PREFIX}/agents", headers={"Authorization": f"Bearer {token}"}).status_code == 200
        anonymous = client.get(f"{PREFIX}/agents")
    assert anonymous.status_code == 401 and anonymous.json()["errors"]


def test_rate_limit_headers_429_and_401_match_the_document(
    served: Sandbox, token: str, groove_schema: schemathesis.BaseSchema
) -> None:
    """The property run has rate limits off; here they are on (2 per minute) for one token."""
    fresh_state(served, token)
    auth = {"Authorization": f"Bearer {token}"}
    served.ctx.set_rate_limit(API_ID, RateLimit(2, 60.0), credential=token)
    try:
        agents = groove_schema["/agents"]["GET"]
        created = (
            groove_schema["/groups"]["POST"]
            .Case(body={"name": "Rate limited"})
            .call_and_validate(headers=auth, checks=CHECKS)
        )
        listed = agents.Case().call_and_validate(headers=auth, checks=CHECKS)
        refused = agents.Case().call_and_validate(headers=auth, checks=CHECKS)
    finally:
        served.ctx.set_rate_limit(API_ID, None, credential=token)
    assert (created.status_code, listed.status_code, refused.status_code) == (201, 200, 429)
    assert created.headers["x-ratelimit-remaining"] == ["1"] and listed.headers["x-ratelimit-remaining"] == ["0"]
    assert refused.content == b""
    anonymous = agents.Case().call_and_validate(checks=CHECKS)
    assert anonymous.status_code == 401


# -- 2. the property run -----------------------------------------------------------------------------
#: The schema's own route is left out: schemathesis does not test the document it was loaded from, and
#: the tests above cover it.
FUZZED = [(method, path) for method, path in operations(DOCUMENT) if path != "/openapi.json"]


@pytest.mark.parametrize(("method", "path"), FUZZED, ids=[f"{m} {p}" for m, p in FUZZED])
def test_operation_conforms_to_document(
    method: str, path: str, served: Sandbox, token: str, groove_schema: schemathesis.BaseSchema
) -> None:
    fresh_state(served, token)
    operation = groove_schema[path][method]
    cases = st.one_of([operation.as_strategy(generation_mode=mode) for mode in GenerationMode])

    @BOUNDED
    @given(case=cases)
    def conforms(case: schemathesis.Case) -> None:
        case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=GENERATED_CHECKS)

    conforms()


# -- 3. edge inputs the run turned up, pinned so they are checked every time ------------------------------
BAD_URL = "http://["  # urlsplit() raises ValueError ("Invalid IPv6 URL") on it
FAR_FUTURE = "9999-12-31T23:59:59-14:00"  # a valid ISO-8601 instant in year 10000 UTC
HUGE = "9223372036854775808"  # 2**63: no SQLite INTEGER holds it

#: (method, path, request); ``{widget_id}``, ``{kb_id}`` and ``{mailbox_id}`` are seeded ids, filled in per run.
EDGE_CASES: list[tuple[str, str, dict[str, Any]]] = [
    ("GET", f"/tickets/{HUGE}", {}),
    ("PUT", f"/tickets/{HUGE}/state", {"json": {"state": "opened"}}),
    ("GET", "/tickets", {"params": {"page": HUGE}}),
    ("GET", "/customers", {"params": {"page": HUGE}}),
    ("GET", "/tickets/1/messages", {"params": {"page": HUGE}}),
    ("POST", "/webhooks", {"json": {"event": "ticket_started", "url": BAD_URL}}),
    ("POST", "/webhooks", {"json": {"event_types": ["ticket.started"], "webhook_url": BAD_URL}}),
    ("PUT", "/widgets/{widget_id}/settings", {"json": {"logo_image_url": BAD_URL}}),
    ("PUT", "/kb/{kb_id}/settings", {"json": {"logo_url": BAD_URL}}),
    ("POST", "/kb/{kb_id}/categories", {"json": {"title": "Edge", "cover_image_url": BAD_URL}}),
    ("POST", "/kb/{kb_id}/articles", {"json": {"title": "Edge", "og_image_url": BAD_URL}}),
    (
        "POST",
        "/tickets",
        {"json": {"body": "Hi", "from": "edge@example.com", "to": "x@example.com", "sent_at": FAR_FUTURE}},
    ),
    ("POST", "/tickets/1/messages", {"json": {"body": "Hi", "sent_at": FAR_FUTURE}}),
    # the mailbox ref resolves (it is trimmed) but is echoed raw into Location: a space, an em space
    ("POST", "/tickets/1/change_mailbox/%20{mailbox_id}", {}),
    ("POST", "/tickets/1/change_mailbox/{mailbox_id}%E2%80%83", {}),
]


@pytest.fixture(scope="module")
def client(served: Sandbox, token: str) -> Iterator[httpx.Client]:
    """A synchronous in-process client of the app as served (a crash is the 500 a client would get)."""
    transport = SyncASGITransport(AsServed(served.app))
    try:
        with httpx.Client(
            transport=transport, base_url=f"http://sandbox{PREFIX}/", headers={"Authorization": f"Bearer {token}"}
        ) as c:
            yield c
    finally:
        transport.close()


def documented_statuses(method: str, path: str) -> set[str]:
    """The statuses documented for the operation whose template matches a concrete path."""
    segments = path.split("/")
    for m, pattern in FUZZED:
        parts = pattern.split("/")
        if (
            m == method
            and len(parts) == len(segments)
            and all(p == s or (p.startswith("{") and s) for p, s in zip(parts, segments, strict=True))
        ):
            return set(DOCUMENT["paths"][pattern][method.lower()]["responses"])
    raise AssertionError(f"no documented operation for {method} {path}")


@pytest.mark.parametrize(
    ("method", "path", "request_kwargs"), EDGE_CASES, ids=[f"{m} {p} {json.dumps(k)[:60]}" for m, p, k in EDGE_CASES]
)
def test_edge_input_gets_a_documented_answer(
    method: str, path: str, request_kwargs: dict[str, Any], served: Sandbox, token: str, client: httpx.Client
) -> None:
    fresh_state(served, token)
    samples = served.credentials()[API_ID]["samples"]
    path = path.format(
        widget_id=samples["widget_ids"][0], kb_id=samples["knowledge_base_ids"][0], mailbox_id=samples["mailbox_ids"][1]
    )
    response = client.request(method, path.lstrip("/"), **request_kwargs)
    assert response.status_code < 500, f"{response.status_code} {response.text}"
    assert str(response.status_code) in documented_statuses(method, path)
    location = response.headers.get("location", "")
    assert not re.search(r"\s", location), f"Location is not a URI: {location!r}"
