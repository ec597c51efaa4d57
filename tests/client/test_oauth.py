"""client/oauth.py against the sandbox's OAuth server: refresh, one refresh per 401 (even with many
threads), rotation persisted across a restart, the code flow with state and a loopback listener."""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from engagesync.client.auth import Credential
from engagesync.client.errors import AuthError
from engagesync.client.http import ApiClient, RetryPolicy
from engagesync.client.oauth import AuthorizationFailed, OAuthApp, OAuthHolder, TokenSet
from engagesync.client.oauth_flow import authorize_interactively, authorize_without_browser, code_from_pasted
from engagesync.sandbox.app import Sandbox
from engagesync.sync import connectors
from engagesync.sync.connections import Connection, ConnectionStore
from tests.transports import Passthrough

FLOWS = {"query": "{ flows { id } }"}


@pytest.fixture
def creds(sandbox: Sandbox) -> dict[str, Any]:
    return sandbox.credentials()["groove-sales"]


@pytest.fixture
def app(creds: dict[str, Any]) -> OAuthApp:
    return OAuthApp(
        creds["token_url"],
        creds["client_id"],
        creds["client_secret"],
        authorize_url=creds["authorize_url"],
        redirect_uri=creds["redirect_uri"],
    )


@pytest.fixture
def transport(sandbox: Sandbox) -> httpx.BaseTransport:
    return Passthrough(sandbox.transport())


def tokens_for(app: OAuthApp, transport: httpx.BaseTransport) -> TokenSet:
    with httpx.Client(transport=transport) as http:
        return authorize_without_browser(app, http)


def token_calls(sandbox: Sandbox) -> int:
    return len(
        [e for e in sandbox.ctx.journal.entries(api="groove-sales", limit=10_000) if e.path.endswith("/oauth/token")]
    )


def api(creds: dict[str, Any], holder: Credential, transport: httpx.BaseTransport) -> ApiClient:
    return ApiClient(creds["graphql_url"], auth=holder, transport=transport)


def flows(client: ApiClient) -> int:
    return len(client.request("POST", client.base_url, json=FLOWS).json()["data"]["flows"])


@pytest.fixture
def holder(app: OAuthApp, transport: httpx.BaseTransport) -> Iterator[OAuthHolder]:
    h = OAuthHolder(app, tokens_for(app, transport), transport=transport)
    yield h
    h.close()


def test_the_code_flow_checks_state_and_gives_a_working_pair(
    app: OAuthApp, transport: httpx.BaseTransport, creds: dict[str, Any]
) -> None:
    tokens = tokens_for(app, transport)
    assert tokens.refresh_token and tokens.expires_at is not None
    with api(creds, OAuthHolder(app, tokens, transport=transport), transport) as client:
        assert flows(client) == 8
    with pytest.raises(AuthorizationFailed, match="state does not match"):
        code_from_pasted("http://127.0.0.1:1/cb?code=abc&state=forged", "expected")
    with pytest.raises(AuthorizationFailed, match="access_denied"):
        code_from_pasted("http://127.0.0.1:1/cb?error=access_denied&state=s", "s")
    assert code_from_pasted("  bare-code ", "s") == "bare-code"


def test_an_expired_token_is_refreshed_by_one_401_then_used(
    sandbox: Sandbox, holder: OAuthHolder, creds: dict[str, Any], transport: httpx.BaseTransport
) -> None:
    with api(creds, holder, transport) as client:
        assert flows(client) == 8
        old = holder.tokens
        sandbox.ctx.clock.advance(7300)  # past the 2 h lifetime; the holder has not seen the jump yet
        before = token_calls(sandbox)
        assert flows(client) == 8
        assert holder.refreshes == ["401"] and token_calls(sandbox) == before + 1
        assert holder.tokens.refresh_token != old.refresh_token  # rotated
        assert flows(client) == 8 and holder.refreshes == ["401"]


def test_many_threads_hitting_401_together_cause_exactly_one_refresh(
    sandbox: Sandbox, holder: OAuthHolder, creds: dict[str, Any], transport: httpx.BaseTransport
) -> None:
    with api(creds, holder, transport) as client:
        flows(client)
        sandbox.ctx.clock.advance(7300)
        before = token_calls(sandbox)
        counts: list[int] = []
        threads = [threading.Thread(target=lambda: counts.append(flows(client))) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert counts == [8] * 8
        assert holder.refreshes == ["401"] and token_calls(sandbox) == before + 1


def test_a_token_about_to_expire_is_refreshed_before_it_is_sent(
    sandbox: Sandbox, app: OAuthApp, creds: dict[str, Any], transport: httpx.BaseTransport
) -> None:
    tokens = tokens_for(app, transport)
    assert tokens.expires_at is not None
    soon = TokenSet(tokens.access_token, tokens.refresh_token, tokens.expires_at - 7200 + 60)  # 60 s left
    holder = OAuthHolder(app, soon, transport=transport, margin=300)
    with api(creds, holder, transport) as client:
        assert flows(client) == 8
    assert holder.refreshes == ["expiring"]
    assert not [e for e in sandbox.ctx.journal.entries(api="groove-sales", limit=100) if e.status == 401]


class AgeOnFirstCall(Passthrough):
    """Moves the sandbox's clock past the token's lifetime while the first API request is in flight
    (it is answered 503 by a fault rule, dated after the jump): the retry must go out refreshed."""

    def __init__(self, inner: httpx.BaseTransport, sandbox: Sandbox) -> None:
        super().__init__(inner)
        self.sandbox, self.aged = sandbox, False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/graphql") and not self.aged:
            self.aged = True
            self.sandbox.ctx.clock.advance(7300)
        return self.inner.handle_request(request)


def test_a_retry_after_a_5xx_goes_out_with_a_refreshed_token(
    sandbox: Sandbox, app: OAuthApp, creds: dict[str, Any], transport: httpx.BaseTransport
) -> None:
    holder = OAuthHolder(app, tokens_for(app, transport), transport=transport)
    sandbox.ctx.faults.replace([{"match": {"api": "groove-sales"}, "effect": {"status": 503}, "times": 1}], seed=1)
    aging = AgeOnFirstCall(transport, sandbox)
    with ApiClient(
        creds["graphql_url"],
        auth=holder,
        transport=aging,
        retry=RetryPolicy(attempts=3, base_delay=0.001, max_delay=0.01),
    ) as client:
        answer = client.request("POST", client.base_url, json=FLOWS, idempotent=True)  # a query: retried
        assert len(answer.json()["data"]["flows"]) == 8
    statuses = [
        e.status for e in sandbox.ctx.journal.entries(api="groove-sales", limit=100) if e.path.endswith("/graphql")
    ]
    assert statuses == [503, 200]  # no 401: the refresh happened inside the retry loop, before the resend
    assert holder.refreshes == ["expiring"]


def test_a_refused_refresh_is_an_auth_error_after_one_attempt_naming_no_secret(
    sandbox: Sandbox, app: OAuthApp, creds: dict[str, Any], transport: httpx.BaseTransport
) -> None:
    holder = OAuthHolder(app, TokenSet("not-a-token", "not-a-refresh-token-either"), transport=transport)
    before = token_calls(sandbox)
    with api(creds, holder, transport) as client, pytest.raises(AuthError) as caught:
        flows(client)
    assert token_calls(sandbox) == before + 1
    text = str(caught.value)
    assert "invalid_grant" in text and "engagesync connect" in text
    assert app.client_secret not in text and "not-a-refresh-token-either" not in text
    assert app.client_secret in holder.secrets() and repr(holder) == "OAuthHolder(***)"


def test_a_rotated_refresh_token_survives_a_restart(
    sandbox: Sandbox, tmp_path: Path, creds: dict[str, Any], transport: httpx.BaseTransport
) -> None:
    store = ConnectionStore(tmp_path / "connections.json")
    url, secrets, settings = connectors.from_sandbox("groove-sales", creds, transport=transport)
    store.put(Connection("gs", "groove-sales", url, secrets, settings))
    first = secrets["refresh_token"]
    with connectors.client_for(store.get("gs"), store=store, transport=transport) as client:
        sandbox.ctx.clock.advance(7300)
        assert connectors.check(store.get("gs"), client)["flows"] == 8
    saved = store.get("gs").secrets
    assert saved["refresh_token"] != first and saved["access_token"] != secrets["access_token"]
    assert stat.S_IMODE(os.stat(store.path).st_mode) == 0o600
    with httpx.Client(transport=transport) as http:  # the old refresh token is dead at the server
        refused = http.post(
            creds["token_url"],
            json={
                "grant_type": "refresh_token",
                "refresh_token": first,
                "client_id": creds["client_id"],
                "client_secret": creds["client_secret"],
            },
        )
        assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
    # "restart": a new client from the file alone, after the saved access token expired too
    sandbox.ctx.clock.advance(7300)
    with connectors.client_for(store.get("gs"), store=store, transport=transport) as client:
        assert connectors.check(store.get("gs"), client)["flows"] == 8
    assert store.get("gs").secrets["refresh_token"] not in (first, saved["refresh_token"])


def test_clients_made_from_one_credential_share_one_holder(
    sandbox: Sandbox, creds: dict[str, Any], transport: httpx.BaseTransport
) -> None:
    """A second client made from the connection as it was read before the first one rotated the
    refresh token (e.g. a second command step, or a copy of the settings) must not refresh with the
    spent token: it gets the same holder, with the current tokens."""
    url, secrets, settings = connectors.from_sandbox("groove-sales", creds, transport=transport)
    stale = dict(secrets)
    rotated: list[dict[str, str]] = []
    with connectors.client_for(
        Connection("gs", "groove-sales", url, dict(secrets), settings), transport=transport, on_rotate=rotated.append
    ) as first:
        sandbox.ctx.clock.advance(7300)
        assert flows(first) == 8 and len(rotated) == 1  # refreshed: the stale refresh token is spent
        with connectors.client_for(
            Connection("gs", "groove-sales", url, stale, settings), transport=transport
        ) as second:
            sandbox.ctx.clock.advance(7300)
            assert flows(second) == 8 and flows(first) == 8  # without sharing: invalid_grant
            assert second.auth is first.auth
    assert len(rotated) == 2  # the first client's listener heard the rotation the second one caused


def test_the_loopback_listener_catches_the_redirect(live_sandbox: Sandbox) -> None:
    creds = live_sandbox.credentials(base_url=str(live_sandbox.url))["groove-sales"]
    app = OAuthApp(
        creds["token_url"],
        creds["client_id"],
        creds["client_secret"],
        authorize_url=creds["authorize_url"],
        redirect_uri=creds["redirect_uri"].replace(":8765", ":0"),
    )  # a free port, same path
    said: list[str] = []

    def browser(url: str) -> None:  # a person's browser: follows the sandbox's 302 to our listener
        threading.Thread(target=lambda: httpx.get(url, follow_redirects=True, timeout=10)).start()

    tokens, redirect = authorize_interactively(app, say=said.append, open_browser=browser, timeout=20)
    assert redirect.startswith("http://127.0.0.1:") and ":0/" not in redirect
    assert redirect.endswith("/_sandbox/groove-sales/oauth/callback")
    assert "state=" in said[0] and tokens.refresh_token
    holder = OAuthHolder(app, tokens)
    with ApiClient(creds["graphql_url"], auth=holder) as client:
        assert flows(client) == 8


def test_headless_paste_of_the_redirect_url(live_sandbox: Sandbox) -> None:
    creds = live_sandbox.credentials(base_url=str(live_sandbox.url))["groove-sales"]
    app = OAuthApp(
        creds["token_url"],
        creds["client_id"],
        creds["client_secret"],
        authorize_url=creds["authorize_url"],
        redirect_uri=creds["redirect_uri"],
    )
    said: list[str] = []

    def paste(prompt: str) -> str:  # the person opened the URL elsewhere and copies where it landed
        url = said[-1].splitlines()[-1]
        return str(httpx.get(url, follow_redirects=False).headers["location"])

    tokens, _ = authorize_interactively(app, say=said.append, paste=paste)
    assert dict(parse_qsl(urlsplit(said[-1].splitlines()[-1]).query))["client_id"] == creds["client_id"]
    with ApiClient(creds["graphql_url"], auth=OAuthHolder(app, tokens)) as client:
        assert flows(client) == 8
