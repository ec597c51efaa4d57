"""Issue 9, item 6: a lost refresh response is recoverable. The sandbox keeps a rotated refresh token
valid until the new access token is first used (Doorkeeper's default; switchable to strict rotation),
and the client asks once more after a lost token response and re-reads the connection file on
``invalid_grant``."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from engagesync.client.oauth import OAuthApp, TokenSet, request_token
from engagesync.sandbox.app import Sandbox
from engagesync.sync import connectors
from engagesync.sync.connections import Connection, ConnectionStore
from tests.cli_helpers import run_cli
from tests.transports import Passthrough

from .conftest import GRAPHQL, gql, refresh, token_pair

QUERY = "{ flows { id } }"


@pytest.fixture
def transport(sandbox: Sandbox) -> httpx.BaseTransport:
    return Passthrough(sandbox.transport())


def _token_posts(sandbox: Sandbox) -> int:
    return len(
        [e for e in sandbox.ctx.journal.entries(api="groove-sales", method="POST", limit=0) if "token" in e.path]
    )


def test_the_old_refresh_token_works_until_the_new_access_token_is_used(
    http: httpx.Client, creds: dict[str, Any]
) -> None:
    first = token_pair(http, creds)
    lost = refresh(http, creds, first["refresh_token"])  # its response never reached the client
    assert lost.status_code == 200
    again = refresh(http, creds, first["refresh_token"])
    assert again.status_code == 200, again.text
    assert gql(http, first["access_token"], QUERY).status_code == 401  # the old access token is gone at once
    assert gql(http, again.json()["access_token"], QUERY).status_code == 200  # first use of the new pair
    late = refresh(http, creds, first["refresh_token"])
    assert late.status_code == 400 and late.json()["error"] == "invalid_grant"
    assert refresh(http, creds, again.json()["refresh_token"]).status_code == 200


def test_strict_rotation_when_switched_off(http: httpx.Client, admin: httpx.Client, creds: dict[str, Any]) -> None:
    assert admin.get("groove-sales/oauth/settings").json()["refresh_token_revoked_on_use"] is True
    bad = admin.put("groove-sales/oauth/settings", json={"refresh_token_revoked_on_use": "no"})
    assert bad.status_code == 400
    switched = admin.put("groove-sales/oauth/settings", json={"refresh_token_revoked_on_use": False})
    assert switched.json()["refresh_token_revoked_on_use"] is False
    first = token_pair(http, creds)
    assert refresh(http, creds, first["refresh_token"]).status_code == 200
    reused = refresh(http, creds, first["refresh_token"])
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"


def _strict(sandbox: Sandbox) -> None:
    with sandbox.client() as admin:
        put = admin.put("/_sandbox/groove-sales/oauth/settings", json={"refresh_token_revoked_on_use": False})
        assert put.status_code == 200, put.text


def _connect_and_expire(sandbox: Sandbox) -> None:
    code, output = run_cli("connect", "--sandbox", str(sandbox.url))
    assert code == 0, output
    sandbox.ctx.clock.advance(7300)  # the access token expired: the next command must refresh


def _drop_next_token_response(sandbox: Sandbox) -> None:
    sandbox.ctx.faults.add(
        {"match": {"api": "groove-sales", "method": "POST", "path": "/oauth/token"}, "effect": {"drop": True}}
        | {"after": True, "times": 1}
    )


def test_a_pull_survives_losing_the_refresh_response(home: Path, live_sandbox: Sandbox) -> None:
    _connect_and_expire(live_sandbox)
    before = ConnectionStore().get("groove-sales").secrets
    _drop_next_token_response(live_sandbox)
    posts = _token_posts(live_sandbox)
    code, output = run_cli("pull", "groove-sales", "--store", str(home / "gs.duckdb"), "--json")
    assert code == 0, output
    assert _token_posts(live_sandbox) == posts + 2  # the lost one, and the one asked again
    after = ConnectionStore().get("groove-sales").secrets
    assert after["refresh_token"] != before["refresh_token"]
    live_sandbox.ctx.clock.advance(7300)  # the saved pair is the live one: the next command refreshes with it
    code, output = run_cli("check", "groove-sales")
    assert code == 0, output


def test_strict_rotation_and_a_lost_response_ask_to_connect_again(home: Path, live_sandbox: Sandbox) -> None:
    _connect_and_expire(live_sandbox)
    _strict(live_sandbox)
    _drop_next_token_response(live_sandbox)
    code, output = run_cli("check", "groove-sales")
    assert code == 3, output
    assert len(output.strip().splitlines()) == 1 or "\n" not in " ".join(output.split())
    assert "Traceback" not in output and "engagesync connect" in output and "invalid_grant" in output
    secrets = ConnectionStore().get("groove-sales").secrets
    assert not [s for s in secrets.values() if s in output]


def test_invalid_grant_rereads_the_file_a_writer_outside_the_lock_rotated(
    live_sandbox: Sandbox, tmp_path: Path
) -> None:
    """Between this holder's look at the file and the server's answer, someone that does not take
    the connection lock (an older engagesync, a `connect`) rotated the token and saved the new pair:
    the server refuses ours, the holder re-reads the file and carries on with the saved pair."""
    sandbox = live_sandbox  # loopback: the holder's refresh and this test's run side by side
    creds = sandbox.credentials(base_url=str(sandbox.url))["groove-sales"]
    _strict(sandbox)
    store = ConnectionStore(tmp_path / "connections.json")
    url, secrets, settings = connectors.from_sandbox("groove-sales", creds)
    store.put(Connection("gs", "groove-sales", url, secrets, settings))
    sandbox.ctx.clock.advance(7300)
    slow = sandbox.ctx.faults.add(
        {"match": {"api": "groove-sales", "path": "/oauth/token"}, "effect": {"latency": 3000}, "times": 1}
    )
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            with connectors.client_for(store.get("gs"), store=store) as client:
                outcome["flows"] = connectors.check(store.get("gs"), client)["flows"]
        except Exception as exc:  # reported below
            outcome["error"] = exc

    worker = threading.Thread(target=run)
    worker.start()
    deadline = time.monotonic() + 30
    while slow.hits == 0 and time.monotonic() < deadline:  # the holder's refresh is in the server's hands
        time.sleep(0.01)
    assert slow.hits == 1
    app = OAuthApp(creds["token_url"], creds["client_id"], creds["client_secret"])
    with httpx.Client() as http:
        rotated = request_token(http, app, {"grant_type": "refresh_token", "refresh_token": secrets["refresh_token"]})
        store.update_secrets("gs", rotated.as_secrets())
    worker.join(60)
    assert outcome.get("flows") == 8, outcome
    assert store.get("gs").secrets["access_token"] == rotated.access_token


def test_without_a_newer_pair_in_the_file_invalid_grant_says_connect_again(
    sandbox: Sandbox, tmp_path: Path, creds: dict[str, Any], transport: httpx.BaseTransport
) -> None:
    store = ConnectionStore(tmp_path / "connections.json")
    url, secrets, settings = connectors.from_sandbox("groove-sales", creds, transport=transport)
    store.put(Connection("gs", "groove-sales", url, secrets, settings))
    with sandbox.client() as http:  # rotated elsewhere, the new pair used and never saved
        body = http.post(
            creds["token_url"],
            json={
                "grant_type": "refresh_token",
                "refresh_token": secrets["refresh_token"],
                "client_id": creds["client_id"],
                "client_secret": creds["client_secret"],
            },
        ).json()
        used = http.post(
            f"http://sandbox{GRAPHQL}",
            json={"query": QUERY},
            headers={"Authorization": "Bearer " + body["access_token"]},
        )
        assert used.status_code == 200
    sandbox.ctx.clock.advance(7300)
    with (
        connectors.client_for(store.get("gs"), store=store, transport=transport) as client,
        pytest.raises(Exception) as refused,
    ):
        connectors.check(store.get("gs"), client)
    text = str(refused.value)
    assert "invalid_grant" in text and "engagesync connect" in text
    assert TokenSet.from_secrets(store.get("gs").secrets) == TokenSet.from_secrets(secrets)
