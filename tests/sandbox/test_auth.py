"""``sandbox.auth.bearer_token``: the one reader of ``Authorization: Bearer`` every emulator uses."""

from __future__ import annotations

import pytest
from starlette.requests import Request

from engagesync.sandbox.app import Sandbox
from engagesync.sandbox.auth import bearer_token


def _request(query: bytes = b"", authorization: str | None = None) -> Request:
    headers = [] if authorization is None else [(b"authorization", authorization.encode())]
    return Request({"type": "http", "method": "GET", "path": "/", "query_string": query, "headers": headers})


@pytest.mark.parametrize(
    ("header", "token"),
    [
        ("Bearer abc", "abc"),
        ("bearer abc", "abc"),
        ("BEARER  abc ", "abc"),
        ("Bearer ", None),
        ("Bearer", None),
        ("Basic abc", None),
        ("abc", None),
        ("", None),
        (None, None),
    ],
)
def test_header_values(header: str | None, token: str | None) -> None:
    assert bearer_token(header) == token
    assert bearer_token(_request(authorization=header)) == token


def test_query_parameter_only_when_asked_and_only_without_a_header_token() -> None:
    assert bearer_token(_request(b"access_token=q")) is None
    assert bearer_token(_request(b"access_token=q"), query_param="access_token") == "q"
    assert bearer_token(_request(b"access_token=q", "Bearer h"), query_param="access_token") == "h"
    assert bearer_token(_request(b"access_token=q", "Bearer "), query_param="access_token") == "q"
    assert bearer_token(_request(b"access_token=", "Basic h"), query_param="access_token") is None


def test_every_bearer_api_takes_the_scheme_in_any_case(sandbox: Sandbox) -> None:
    creds = sandbox.credentials()
    helpdesk, volt, gg = creds["groove-helpdesk"], creds["volt"], creds["growthgenius"]
    with sandbox.client() as client:
        for scheme in ("Bearer", "bearer", "BEARER"):
            reply = client.get(
                f"{helpdesk['base_url']}/tickets", headers={"Authorization": f"{scheme} {helpdesk['token']}"}
            )
            assert reply.status_code == 200, reply.text
            reply = client.post(
                volt["graphql_url"],
                json={"query": "{ __typename }"},
                headers={"Authorization": f"{scheme} {volt['token']}"},
            )
            assert reply.status_code == 200, reply.text
            reply = client.get(  # GrowthGenius wants the bare key, and says so whatever the case of "Bearer"
                f"{gg['base_url']}/contacts",
                params={"user_id": gg["user_id"]},
                headers={"Authorization": f"{scheme} {gg['api_key']}"},
            )
            assert reply.status_code == 401 and "without" in reply.text
        assert client.get(f"{helpdesk['base_url']}/tickets", headers={"Authorization": "Basic x"}).status_code == 401
        assert (
            client.get(f"{helpdesk['base_url']}/tickets", params={"access_token": helpdesk["token"]}).status_code == 200
        )
