"""Interop with a standard OAuth client: Authlib's httpx OAuth2Client drives the whole flow.

authorize URL -> 302 with code -> token (client_secret_basic, Authlib's default) -> GraphQL call with
the bearer Authlib adds -> refresh -> GraphQL call again; in-process and over loopback.
"""

from __future__ import annotations

import httpx
import pytest
from authlib.integrations.httpx_client import OAuth2Client

from engagesync.sandbox.app import Sandbox

QUERY = {"query": "{ flows { id name } }"}


@pytest.mark.parametrize("mode", ["in-process", "loopback"])
@pytest.mark.parametrize("auth_method", ["client_secret_basic", "client_secret_post"])
def test_authlib_runs_the_authorization_code_flow(sandbox: Sandbox, mode: str, auth_method: str) -> None:
    if mode == "loopback":
        base, transport = sandbox.serve(), None
    else:  # in-process, addressed as a loopback host so Authlib's https check allows plain http
        base, transport = "http://127.0.0.1", sandbox.transport()
    creds = sandbox.credentials(base_url=base)["groove-sales"]
    client = OAuth2Client(
        creds["client_id"],
        creds["client_secret"],
        scope="first-scope second-scope",
        redirect_uri=creds["redirect_uri"],
        token_endpoint_auth_method=auth_method,
        transport=transport,
    )
    uri, state = client.create_authorization_url(creds["authorize_url"])
    with sandbox.client() if transport else httpx.Client() as browser:  # the user's browser opens the URL
        redirect = browser.get(uri)
    assert redirect.status_code == 302
    token = client.fetch_token(creds["token_url"], authorization_response=redirect.headers["location"], state=state)
    assert token["token_type"] == "Bearer" and token["expires_in"] == 7200
    assert token["scope"] == "first-scope second-scope"

    flows = client.post(creds["graphql_url"], json=QUERY)
    assert flows.status_code == 200 and len(flows.json()["data"]["flows"]) == 8

    old = dict(token)
    fresh = client.refresh_token(creds["token_url"])
    assert fresh["refresh_token"] != old["refresh_token"]
    assert client.post(creds["graphql_url"], json=QUERY).status_code == 200
    # the rotated-out credentials no longer work
    stale = client.request(
        "POST",
        creds["graphql_url"],
        json=QUERY,
        withhold_token=True,
        headers={"Authorization": f"Bearer {old['access_token']}"},
    )
    assert stale.status_code == 401
    if transport is None:
        client.close()


def test_authlib_sees_a_mismatched_state_as_an_error(sandbox: Sandbox) -> None:
    base = sandbox.serve()
    creds = sandbox.credentials(base_url=base)["groove-sales"]
    with OAuth2Client(creds["client_id"], creds["client_secret"], redirect_uri=creds["redirect_uri"]) as client:
        uri, _ = client.create_authorization_url(creds["authorize_url"], state="expected")
        location = httpx.get(uri).headers["location"]
        with pytest.raises(Exception, match="state"):
            client.fetch_token(creds["token_url"], authorization_response=location, state="something-else")
