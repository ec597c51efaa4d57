"""Groove's documented limit on the GraphQL endpoint: 100 per minute per OAuth token, sliding window."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from engagesync.sandbox.app import Sandbox
from engagesync.testing import make_sandbox

from .conftest import gql, token_pair

QUERY = "{ flows { id } }"
WINDOW_START = 1_800_000_000 - 1_800_000_000 % 60 + 60  # a whole minute, in the future of any test run


@pytest.fixture
def limited() -> Iterator[tuple[Sandbox, httpx.Client, httpx.Client]]:
    """A sandbox with the shipped limits, its clock frozen at the start of a minute."""
    with make_sandbox() as sb, sb.client() as http, sb.client() as admin:
        admin.base_url = httpx.URL("http://sandbox/_sandbox/")
        admin.post("clock/freeze")
        admin.post("clock/set", json={"epoch": WINDOW_START})
        yield sb, http, admin


def _token(sb: Sandbox, http: httpx.Client) -> str:
    creds: dict[str, Any] = sb.credentials()["groove-sales"]
    return str(token_pair(http, creds)["access_token"])


def test_the_101st_call_in_a_minute_is_an_empty_429_with_headers(
    limited: tuple[Sandbox, httpx.Client, httpx.Client],
) -> None:
    sb, http, _ = limited
    token = _token(sb, http)
    remaining = [int(gql(http, token, QUERY).headers["x-ratelimit-remaining"]) for _ in range(100)]
    assert remaining == list(range(99, -1, -1))
    refused = gql(http, token, QUERY)
    assert refused.status_code == 429
    assert refused.content == b""
    assert refused.headers["x-ratelimit-limit"] == "100"
    assert refused.headers["x-ratelimit-remaining"] == "0"
    assert int(refused.headers["x-ratelimit-reset"]) > WINDOW_START


def test_calls_made_while_limited_still_count(limited: tuple[Sandbox, httpx.Client, httpx.Client]) -> None:
    """100 allowed + 100 refused: 90 s later the sliding estimate is 200 x 0.5 = 100, still at the limit;
    a token that stopped at 100 is at 50 and is served."""
    sb, http, admin = limited
    persistent, polite = _token(sb, http), _token(sb, http)
    for _ in range(100):
        gql(http, persistent, QUERY)
        gql(http, polite, QUERY)
    assert [gql(http, persistent, QUERY).status_code for _ in range(100)] == [429] * 100
    admin.post("clock/advance", json={"seconds": 90})
    assert gql(http, polite, QUERY).status_code == 200
    assert gql(http, persistent, QUERY).status_code == 429


def test_each_token_has_its_own_window(limited: tuple[Sandbox, httpx.Client, httpx.Client]) -> None:
    sb, http, _ = limited
    first, second = _token(sb, http), _token(sb, http)
    for _ in range(100):
        gql(http, first, QUERY)
    assert gql(http, first, QUERY).status_code == 429
    assert gql(http, second, QUERY).status_code == 200


def test_the_limit_over_loopback(limited: tuple[Sandbox, httpx.Client, httpx.Client]) -> None:
    sb, _, _ = limited
    with httpx.Client(base_url=sb.serve()) as http:
        token = _token(sb, http)
        statuses = [gql(http, token, QUERY).status_code for _ in range(101)]
    assert statuses == [200] * 100 + [429]


def test_oauth_endpoints_are_not_rate_limited(limited: tuple[Sandbox, httpx.Client, httpx.Client]) -> None:
    sb, http, _ = limited
    tokens = {_token(sb, http) for _ in range(120)}
    assert len(tokens) == 120


def test_reset_is_when_the_sliding_average_dips_below_the_limit(
    limited: tuple[Sandbox, httpx.Client, httpx.Client],
) -> None:
    """'the reset value is calculated to be the moment in time when the sliding average dips below the
    limit': 100 served + 1 refused at the start of a minute weigh 101 x (60 - e) / 60 in the next one,
    below 100 once e > 0.59 s, so the first whole second it is guaranteed is start + 61; a call then is
    served."""
    sb, http, admin = limited
    token = _token(sb, http)
    for _ in range(100):
        gql(http, token, QUERY)
    refused = gql(http, token, QUERY)
    assert refused.status_code == 429
    reset = int(refused.headers["x-ratelimit-reset"])
    assert reset == WINDOW_START + 61
    admin.post("clock/set", json={"epoch": reset})
    served = gql(http, token, QUERY)
    assert served.status_code == 200 and served.headers["x-ratelimit-remaining"] == "0"
