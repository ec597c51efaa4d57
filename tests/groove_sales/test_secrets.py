"""No OAuth secret (client secret, code, access or refresh token) leaks: not into the sandbox's request
journal, not into the OAuth client's exceptions, not into logs. (``connections --json`` is covered in
``test_connector_cli.py``.)"""

from __future__ import annotations

import base64
import json
import logging
from typing import Any

import httpx
import pytest

from engagesync.client.errors import ApiError, AuthError
from engagesync.client.oauth import OAuthApp, OAuthHolder, TokenSet, request_token
from engagesync.client.oauth_flow import authorize_without_browser
from engagesync.sandbox.app import Sandbox

from .conftest import GRAPHQL, PREFIX, code_for, exchange, gql, query_of, refresh


def _leaks(text: str, secrets: list[str]) -> list[str]:
    return [s for s in secrets if s and s in text]


def test_the_request_journal_never_holds_a_secret_sent_in_a_query_string_or_body(
    sandbox: Sandbox, http: httpx.Client, admin: httpx.Client, creds: dict[str, Any]
) -> None:
    secrets = [creds["client_secret"]]
    code = code_for(http, creds)
    secrets.append(code)
    # every way the token endpoint takes parameters: query string, form body, JSON body, HTTP Basic
    by_query = http.post(
        f"{PREFIX}/oauth/token",
        params={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": creds["redirect_uri"],
            "client_id": creds["client_id"],
            "client_secret": creds["client_secret"],
        },
    )
    assert by_query.status_code == 200, by_query.text
    pair = by_query.json()
    secrets += [pair["access_token"], pair["refresh_token"]]
    form = http.post(
        f"{PREFIX}/oauth/token/refresh",
        data={
            "grant_type": "refresh_token",
            "refresh_token": pair["refresh_token"],
            "client_id": creds["client_id"],
            "client_secret": creds["client_secret"],
        },
    )
    assert form.status_code == 200, form.text
    secrets += [form.json()["access_token"], form.json()["refresh_token"]]
    basic = base64.b64encode(f"{creds['client_id']}:{creds['client_secret']}".encode()).decode()
    code2 = code_for(http, creds)
    secrets.append(code2)
    by_basic = http.post(
        f"{PREFIX}/oauth/authorize/token",
        headers={"Authorization": f"Basic {basic}"},
        data={"grant_type": "authorization_code", "code": code2, "redirect_url": creds["redirect_uri"]},
    )
    assert by_basic.status_code == 200, by_basic.text
    secrets += [by_basic.json()["access_token"], by_basic.json()["refresh_token"]]
    rotated = refresh(http, creds, form.json()["refresh_token"], path="/oauth/authorize")  # JSON body
    assert rotated.status_code == 200
    secrets += [rotated.json()["access_token"], rotated.json()["refresh_token"]]
    refused = exchange(http, creds, code)  # a reused code: refused, and still not journaled
    assert refused.status_code == 400
    # the API itself, with the token in the query string (Doorkeeper reads it there too) and in the header
    token = rotated.json()["access_token"]
    assert http.post(GRAPHQL, params={"access_token": token}, json={"query": "{ flows { id } }"}).status_code == 200
    assert (
        http.post(GRAPHQL, headers={"Authorization": f"Bearer {token}"}, json={"query": "{ flows { id } }"}).status_code
        == 200
    )
    assert (
        http.post(GRAPHQL, params={"access_token": "wrong-" + token}, json={"query": "{ flows { id } }"}).status_code
        == 401
    )
    revoke = http.post(
        f"{PREFIX}/oauth/revoke",
        data={
            "token": by_basic.json()["refresh_token"],
            "client_id": creds["client_id"],
            "client_secret": creds["client_secret"],
        },
    )
    assert revoke.status_code == 200
    journal = admin.get("requests", params={"limit": 0})
    assert journal.status_code == 200
    entries = journal.json()["requests"]
    assert len([e for e in entries if e["api"] == "groove-sales"]) >= 10
    assert _leaks(journal.text, secrets) == []
    assert _leaks(admin.get("stats").text, secrets) == []


def test_oauth_client_errors_never_carry_the_secrets_they_were_sent_with() -> None:
    """A token endpoint that echoes what it got (some do, in error descriptions or error pages) must not
    put the client secret or the refresh token into the exception engagesync shows or logs."""
    secret, refresh_token = "client-secret-0123456789", "refresh-token-0123456789"

    def echo(request: httpx.Request) -> httpx.Response:
        sent = json.loads(request.content)
        if sent.get("refresh_token") == refresh_token + "-html":
            return httpx.Response(500, text=f"<pre>crash with params {json.dumps(sent)}</pre>")
        return httpx.Response(
            400,
            json={
                "error": "invalid_grant",
                "error_description": f"refresh token {sent['refresh_token']} of client secret "
                f"{sent['client_secret']} is unknown",
            },
        )

    app = OAuthApp("https://auth.example/oauth/token", "app-id", secret)
    with httpx.Client(transport=httpx.MockTransport(echo)) as http:
        for grant, kind in (
            ({"grant_type": "refresh_token", "refresh_token": refresh_token}, AuthError),
            ({"grant_type": "refresh_token", "refresh_token": refresh_token + "-html"}, ApiError),
        ):
            with pytest.raises(kind) as caught:
                request_token(http, app, grant)
            shown = f"{caught.value} {caught.value.messages} {caught.value.body!r} {caught.value.url}"
            assert _leaks(shown, [secret, refresh_token]) == [], shown
    holder = OAuthHolder(
        app, TokenSet("access-token-0123456789", refresh_token, 0.0), transport=httpx.MockTransport(echo)
    )
    with pytest.raises(AuthError) as refused:
        holder.refresh()
    assert _leaks(str(refused.value), [secret, refresh_token, "access-token-0123456789"]) == []


def test_a_refused_sandbox_refresh_names_no_secret(sandbox: Sandbox, http: httpx.Client, creds: dict[str, Any]) -> None:
    app = OAuthApp(
        f"{http.base_url}{PREFIX}/oauth/token",
        creds["client_id"],
        creds["client_secret"],
        authorize_url=f"{http.base_url}{PREFIX}/oauth/authorize",
        redirect_uri=creds["redirect_uri"],
    )
    tokens = authorize_without_browser(app, http)
    rotated = refresh(http, creds, str(tokens.refresh_token))
    assert rotated.status_code == 200
    assert gql(http, rotated.json()["access_token"], "{ flows { id } }").status_code == 200  # ours is dead now
    holder = OAuthHolder(app, tokens, transport=sandbox.transport())
    with pytest.raises(AuthError) as refused:
        holder.refresh()
    assert "invalid_grant" in str(refused.value)
    assert _leaks(str(refused.value), [creds["client_secret"], tokens.access_token, str(tokens.refresh_token)]) == []


def test_no_secret_reaches_the_logs_during_the_whole_flow(
    sandbox: Sandbox, http: httpx.Client, creds: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    app = OAuthApp(
        f"{http.base_url}{PREFIX}/oauth/token",
        creds["client_id"],
        creds["client_secret"],
        authorize_url=f"{http.base_url}{PREFIX}/oauth/authorize",
        redirect_uri=creds["redirect_uri"],
    )
    located = http.get(
        f"{PREFIX}/oauth/authorize",
        params={"client_id": creds["client_id"], "redirect_uri": creds["redirect_uri"], "state": "s"},
    )
    code = query_of(located.headers["location"])["code"]
    tokens = authorize_without_browser(app, http)
    holder = OAuthHolder(app, tokens, transport=sandbox.transport())
    with httpx.Client(transport=sandbox.transport(), base_url=str(http.base_url), auth=holder) as api:
        assert api.post(GRAPHQL, json={"query": "{ flows { id } }"}).status_code == 200
        sandbox.ctx.clock.advance(7300)  # expired: the holder refreshes (401, then once more)
        assert api.post(GRAPHQL, json={"query": "{ flows { id } }"}).status_code == 200
    assert holder.refreshes == ["401"]
    held = holder.secrets()
    assert len(held) == 5 and caplog.records
    assert _leaks(caplog.text, [*held, code]) == []
