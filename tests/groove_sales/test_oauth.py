"""The OAuth 2.0 server behind Groove sales: RFC 6749 errors, rotation, isolation, persistence, consent."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from engagesync.sandbox.app import Sandbox
from engagesync.testing import make_sandbox

from .conftest import PREFIX, authorize, code_for, exchange, gql, query_of, refresh, token_pair

QUERY = "{ flows { id } }"


def test_redirect_uri_not_registered_is_refused_without_redirecting(http: httpx.Client, creds: dict[str, Any]) -> None:
    response = authorize(http, creds, redirect_uri="https://evil.example/callback")
    assert response.status_code == 400
    assert "location" not in response.headers
    assert response.json()["error"] == "invalid_redirect_uri"


def test_unknown_client_at_authorize_is_refused(http: httpx.Client, creds: dict[str, Any]) -> None:
    response = authorize(http, creds, client_id="nobody")
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"
    assert "location" not in response.headers


def test_missing_redirect_uri_is_invalid_request(http: httpx.Client, creds: dict[str, Any]) -> None:
    response = http.get(f"{PREFIX}/oauth/authorize", params={"client_id": creds["client_id"]})
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


def test_a_loopback_redirect_uri_matches_on_any_port(http: httpx.Client, creds: dict[str, Any]) -> None:
    """RFC 8252 7.3: the registered http://127.0.0.1:8765/... also accepts another port."""
    other = creds["redirect_uri"].replace(":8765", ":50123")
    code = code_for(http, creds, redirect_uri=other)
    assert exchange(http, creds, code, redirect_uri=other).status_code == 200


def test_unsupported_response_type_redirects_with_the_error(http: httpx.Client, creds: dict[str, Any]) -> None:
    response = authorize(http, creds, response_type="token")
    assert response.status_code == 302
    assert query_of(response.headers["location"]) | {"error_description": ""} == {
        "error": "unsupported_response_type",
        "error_description": "",
        "state": "st-123",
    }


def test_exchange_with_another_redirect_uri_than_authorized_is_invalid_grant(
    http: httpx.Client, creds: dict[str, Any]
) -> None:
    other = creds["redirect_uri"].replace(":8765", ":50123")
    code = code_for(http, creds)
    response = exchange(http, creds, code, redirect_uri=other)
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


@pytest.mark.parametrize("path", ["/oauth/token", "/oauth/authorize/token", "/oauth/authorize", "/oauth/token/refresh"])
@pytest.mark.parametrize("spelling", ["redirect_uri", "redirect_url"])
def test_every_token_path_takes_both_spellings(
    http: httpx.Client, creds: dict[str, Any], path: str, spelling: str
) -> None:
    body = {
        "grant_type": "authorization_code",
        "code": code_for(http, creds),
        spelling: creds["redirect_uri"],
        "client_id": creds["client_id"],
        "client_secret": creds["client_secret"],
    }
    response = http.post(f"{PREFIX}{path}", json=body)
    assert response.status_code == 200, response.text
    again = refresh(http, creds, response.json()["refresh_token"], path=path)
    assert again.status_code == 200, again.text


def test_form_body_and_http_basic_client_authentication(http: httpx.Client, creds: dict[str, Any]) -> None:
    basic = base64.b64encode(f"{quote(creds['client_id'])}:{quote(creds['client_secret'])}".encode()).decode()
    response = http.post(
        f"{PREFIX}/oauth/token",
        headers={"Authorization": f"Basic {basic}"},
        data={"grant_type": "authorization_code", "code": code_for(http, creds), "redirect_uri": creds["redirect_uri"]},
    )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("change", [{"client_secret": "wrong"}, {"client_id": "unknown"}, {"client_secret": ""}])
def test_bad_client_credentials_are_invalid_client(
    http: httpx.Client, creds: dict[str, Any], change: dict[str, str]
) -> None:
    response = exchange(http, creds, code_for(http, creds), **change)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert creds["client_secret"] not in response.text


def test_wrong_basic_credentials_answer_www_authenticate(http: httpx.Client, creds: dict[str, Any]) -> None:
    basic = base64.b64encode(f"{creds['client_id']}:nope".encode()).decode()
    response = http.post(
        f"{PREFIX}/oauth/token",
        headers={"Authorization": f"Basic {basic}"},
        data={"grant_type": "authorization_code", "code": "x", "redirect_uri": "y"},
    )
    assert response.status_code == 401 and response.headers["www-authenticate"].startswith("Basic")


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"grant_type": "password", "username": "a", "password": "b"}, "unsupported_grant_type"),
        ({"grant_type": "client_credentials"}, "unsupported_grant_type"),
        ({}, "invalid_request"),
        ({"grant_type": "authorization_code", "redirect_uri": "x"}, "invalid_request"),
        ({"grant_type": "refresh_token"}, "invalid_request"),
        ({"grant_type": "refresh_token", "refresh_token": "not-a-token"}, "invalid_grant"),
    ],
)
def test_rfc6749_errors(http: httpx.Client, creds: dict[str, Any], body: dict[str, str], error: str) -> None:
    response = http.post(
        f"{PREFIX}/oauth/token", json={"client_id": creds["client_id"], "client_secret": creds["client_secret"], **body}
    )
    assert response.status_code == 400
    assert response.json()["error"] == error
    assert "error_description" in response.json()


def test_code_without_redirect_uri_is_invalid_request(http: httpx.Client, creds: dict[str, Any]) -> None:
    response = http.post(
        f"{PREFIX}/oauth/token",
        json={
            "grant_type": "authorization_code",
            "code": code_for(http, creds),
            "client_id": creds["client_id"],
            "client_secret": creds["client_secret"],
        },
    )
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


def test_a_malformed_json_body_is_invalid_request(http: httpx.Client) -> None:
    response = http.post(f"{PREFIX}/oauth/token", content=b"{nope", headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


def test_refresh_rotates_the_old_refresh_and_access_tokens_stop_working(
    http: httpx.Client, creds: dict[str, Any]
) -> None:
    first = token_pair(http, creds)
    second = refresh(http, creds, first["refresh_token"]).json()
    assert second["refresh_token"] != first["refresh_token"]
    assert gql(http, second["access_token"], QUERY).status_code == 200  # first use: the old refresh token dies
    reused = refresh(http, creds, first["refresh_token"])
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"
    assert gql(http, first["access_token"], QUERY).status_code == 401
    assert "revoked" in gql(http, first["access_token"], QUERY).headers["www-authenticate"]
    assert gql(http, second["access_token"], QUERY).status_code == 200
    third = refresh(http, creds, second["refresh_token"])
    assert third.status_code == 200 and third.json()["scope"] == first["scope"]


def test_refresh_tokens_outlive_access_tokens(http: httpx.Client, admin: httpx.Client, creds: dict[str, Any]) -> None:
    pair = token_pair(http, creds)
    admin.post("clock/advance", json={"seconds": 7200 * 24})
    assert gql(http, pair["access_token"], QUERY).status_code == 401
    fresh = refresh(http, creds, pair["refresh_token"])
    assert fresh.status_code == 200
    assert gql(http, fresh.json()["access_token"], QUERY).status_code == 200


def test_refresh_may_narrow_but_not_widen_the_scope(http: httpx.Client, creds: dict[str, Any]) -> None:
    pair = token_pair(http, creds)
    wider = refresh(http, creds, pair["refresh_token"], scope="first-scope admin")
    assert wider.status_code == 400 and wider.json()["error"] == "invalid_scope"
    narrower = refresh(http, creds, pair["refresh_token"], scope="first-scope")
    assert narrower.status_code == 200 and narrower.json()["scope"] == "first-scope"


def test_revoked_tokens_stop_working(http: httpx.Client, creds: dict[str, Any]) -> None:
    pair = token_pair(http, creds)
    auth = {"client_id": creds["client_id"], "client_secret": creds["client_secret"]}
    assert http.post(f"{PREFIX}/oauth/revoke", data={"token": pair["refresh_token"], **auth}).status_code == 200
    assert refresh(http, creds, pair["refresh_token"]).json()["error"] == "invalid_grant"
    assert gql(http, pair["access_token"], QUERY).status_code == 401


def test_no_token_or_a_wrong_one_is_an_empty_401(http: httpx.Client) -> None:
    for headers in ({}, {"Authorization": "Bearer nope"}):
        response = http.post(f"{PREFIX}/api/public/v1/graphql", json={"query": QUERY}, headers=headers)
        assert response.status_code == 401 and response.content == b""
        assert response.headers["www-authenticate"].startswith("Bearer")


def test_tenants_are_isolated(sandbox: Sandbox, http: httpx.Client, admin: httpx.Client, creds: dict[str, Any]) -> None:
    other = admin.post("tenants", json={"name": "acme", "seed": 5, "counts": {"groove-sales.flows": 2}}).json()[
        "groove-sales"
    ]
    assert other["client_id"] != creds["client_id"]
    # A code of one tenant's app cannot be exchanged with another tenant's app credentials.
    code = code_for(http, creds)
    foreign = exchange(http, other, code, redirect_uri=creds["redirect_uri"])
    assert foreign.status_code == 400 and foreign.json()["error"] == "invalid_grant"
    # Another tenant's secret does not authenticate this tenant's client.
    mixed = exchange(http, {**creds, "client_secret": other["client_secret"]}, code_for(http, creds))
    assert mixed.status_code == 401
    # Each token sees its own tenant's data only.
    mine = gql(http, token_pair(http, creds)["access_token"], QUERY).json()["data"]["flows"]
    theirs_token = token_pair(http, other)["access_token"]
    theirs = gql(http, theirs_token, QUERY).json()["data"]["flows"]
    assert len(mine) == 8 and len(theirs) == 2
    sf = creds["samples"]["salesforce_ids"][0]
    lookup = gql(http, theirs_token, f'{{ findPersonBySalesforceId(salesforceId: "{sf}") {{ id }} }}')
    assert lookup.json()["data"]["findPersonBySalesforceId"] is None
    # A refresh token of one tenant's app is not valid for the other's.
    pair = token_pair(http, creds)
    assert refresh(http, other, pair["refresh_token"]).json()["error"] == "invalid_grant"


def test_tenant_b_credentials_get_nothing_from_tenant_a(
    sandbox: Sandbox, http: httpx.Client, admin: httpx.Client, creds: dict[str, Any]
) -> None:
    """Both directions, every credential kind: a client of one tenant with the other's code or refresh
    token is an RFC 6749 ``invalid_grant`` (and does not burn the grant for its owner), and a token of
    tenant B reaches none of tenant A's flows or people, even by id."""
    b = admin.post("tenants", json={"name": "b", "seed": 9, "counts": {"groove-sales.flows": 2}}).json()["groove-sales"]
    for owner, stranger in ((creds, b), (b, creds)):
        code = code_for(http, owner)
        foreign = exchange(http, stranger, code, redirect_uri=owner["redirect_uri"])
        assert foreign.status_code == 400 and foreign.json()["error"] == "invalid_grant", foreign.text
        assert foreign.headers["cache-control"] == "no-store"
        pair = exchange(http, owner, code).json()  # the owner's code still works, once
        foreign = refresh(http, stranger, pair["refresh_token"], path="/oauth/token/refresh")
        assert foreign.status_code == 400 and foreign.json()["error"] == "invalid_grant"
        revoked = http.post(
            f"{PREFIX}/oauth/revoke",
            data={
                "token": pair["access_token"],
                "client_id": stranger["client_id"],
                "client_secret": stranger["client_secret"],
            },
        )
        assert revoked.status_code == 200  # RFC 7009: no error, and nothing revoked
        assert gql(http, pair["access_token"], QUERY).status_code == 200
        assert refresh(http, owner, pair["refresh_token"]).status_code == 200
    a_flow = creds["samples"]["flow_ids"][-1]  # 70003: tenant B has only 70001 and 70002
    a_person = creds["samples"]["person_ids"][0]
    b_token = token_pair(http, b)["access_token"]
    assert gql(http, b_token, "query F($id: ID!) { flow(id: $id) { id name } }", {"id": a_flow}).json() == {
        "data": {"flow": None}
    }
    assert {f["id"] for f in gql(http, b_token, QUERY).json()["data"]["flows"]} == {"70001", "70002"}
    before = sandbox.ctx.store.scalar("SELECT count(*) FROM gs_person_flows WHERE tenant_id = 1")
    added = gql(
        http,
        b_token,
        "mutation A($i: AddPersonToFlowInput!) { addPersonToFlow(input: $i) { personFlow { createdAt } } }",
        {"i": {"flowId": a_flow, "personId": a_person}},
    )
    assert added.json()["errors"][0]["message"] == f"Couldn't find Flow with 'id'={a_flow}"
    assert sandbox.ctx.store.scalar("SELECT count(*) FROM gs_person_flows WHERE tenant_id = 1") == before


def test_clients_codes_and_tokens_survive_a_restart(tmp_path: Path) -> None:
    db = str(tmp_path / "state.db")
    with make_sandbox(db=db) as sb, sb.client() as http:
        creds = sb.credentials()["groove-sales"]
        pair = token_pair(http, creds)
        code = code_for(http, creds)
    with make_sandbox(db=db) as sb, sb.client() as http:
        assert sb.credentials()["groove-sales"]["client_id"] == creds["client_id"]
        assert gql(http, pair["access_token"], QUERY).status_code == 200
        assert exchange(http, creds, code).status_code == 200
        assert refresh(http, creds, pair["refresh_token"]).status_code == 200


def test_admin_mints_a_ready_token_pair(http: httpx.Client, admin: httpx.Client, creds: dict[str, Any]) -> None:
    minted = admin.post("groove-sales/oauth/tokens", json={"scope": "a b"})
    assert minted.status_code == 201
    body = minted.json()
    assert body["expires_in"] == 7200 and body["scope"] == "a b" and body["client_id"] == creds["client_id"]
    assert gql(http, body["access_token"], QUERY).status_code == 200
    assert refresh(http, creds, body["refresh_token"]).status_code == 200


def test_admin_registers_another_client_with_its_own_redirect_uri(http: httpx.Client, admin: httpx.Client) -> None:
    registered = admin.post(
        "groove-sales/oauth/clients", json={"redirect_uris": ["https://app.example/cb"], "name": "My CRM"}
    )
    assert registered.status_code == 201
    app = {**registered.json(), "redirect_uri": "https://app.example/cb"}
    assert exchange(http, app, code_for(http, app)).status_code == 200
    listed = admin.get("groove-sales/oauth/clients").json()["clients"]
    assert app["client_id"] in [c["client_id"] for c in listed]


# -- consent -------------------------------------------------------------------------------------
def _consent_ticket(page: str) -> str:
    marker = 'name="ticket" value="'
    start = page.index(marker) + len(marker)
    return page[start : page.index('"', start)]


def test_consent_page_approve_issues_a_code(http: httpx.Client, admin: httpx.Client, creds: dict[str, Any]) -> None:
    assert admin.put("groove-sales/oauth/settings", json={"consent": True}).json()["consent"] is True
    page = authorize(http, creds, scope="first-scope <b>x</b>")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "Approve" in page.text and "Deny" in page.text and "<b>x</b>" not in page.text
    ticket = _consent_ticket(page.text)
    decided = http.post(f"{PREFIX}/oauth/authorize/consent", data={"ticket": ticket, "decision": "approve"})
    assert decided.status_code == 303
    params = query_of(decided.headers["location"])
    assert params["state"] == "st-123"
    assert exchange(http, creds, params["code"]).json()["scope"] == "first-scope <b>x</b>"
    # the same page cannot be answered twice
    assert (
        http.post(f"{PREFIX}/oauth/authorize/consent", data={"ticket": ticket, "decision": "approve"}).status_code
        == 400
    )


def test_consent_page_deny_redirects_with_access_denied(
    http: httpx.Client, admin: httpx.Client, creds: dict[str, Any]
) -> None:
    admin.put("groove-sales/oauth/settings", json={"consent": True})
    ticket = _consent_ticket(authorize(http, creds).text)
    decided = http.post(f"{PREFIX}/oauth/authorize/consent", data={"ticket": ticket, "decision": "deny"})
    assert decided.status_code == 303
    assert query_of(decided.headers["location"])["error"] == "access_denied"


def test_the_sandbox_callback_page_shows_the_code(live_sandbox: Sandbox) -> None:
    """The default redirect URI is the sandbox's own callback page, reachable on its loopback port."""
    creds = live_sandbox.credentials()["groove-sales"]
    with httpx.Client(base_url=live_sandbox.url or "") as http:
        location = authorize(http, creds).headers["location"]
        port = httpx.URL(live_sandbox.url or "").port
        page = httpx.get(location.replace(":8765", f":{port}"), headers={"Accept": "application/json"})
        assert page.status_code == 200 and page.json()["state"] == "st-123" and page.json()["code"]


def test_secrets_stay_out_of_the_request_journal(
    http: httpx.Client, admin: httpx.Client, creds: dict[str, Any]
) -> None:
    pair = token_pair(http, creds)
    gql(http, pair["access_token"], QUERY)
    http.get(f"{PREFIX}/api/public/v1/graphql", params={"query": QUERY, "access_token": pair["access_token"]})
    journal = admin.get("requests", params={"api": "groove-sales"}).text
    for secret in (creds["client_secret"], pair["access_token"], pair["refresh_token"]):
        assert secret not in journal
