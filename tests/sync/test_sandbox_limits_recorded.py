"""`connect --sandbox` records what the sandbox enforces: its limit, or that it enforces none (0), so a
client on a sandbox without limits never waits on a budget the server does not keep, even when the
sandbox's virtual clock is frozen and jumps an hour."""

from __future__ import annotations

import httpx

from engagesync.sandbox import Sandbox
from engagesync.sync import connectors
from engagesync.sync.connections import Connection


def test_no_limit_is_recorded_and_the_client_never_waits(live_sandbox: Sandbox) -> None:
    url = str(live_sandbox.url)
    creds = httpx.get(f"{url}/_sandbox/credentials").json()["volt"]  # the fixture turned every limit off
    assert creds["rate_limit"] is None
    base_url, secrets, settings = connectors.from_sandbox("volt", creds)
    assert settings["rate_limit"] == 0
    connection = Connection("volt", "volt", base_url, secrets, settings)
    httpx.post(f"{url}/_sandbox/clock/freeze").raise_for_status()
    with connectors.client_for(connection) as client:
        assert client.budget.limit is None
        for seconds in (0, 3600, 10):
            httpx.post(f"{url}/_sandbox/clock/advance", json={"seconds": seconds}).raise_for_status()
            for _ in range(120):  # more than Volt's emulated 100 per minute
                connectors.check(connection, client)
        assert client.budget.snapshot()["waits"] == 0


def test_a_limit_is_recorded_as_it_is_configured(live_sandbox: Sandbox) -> None:
    live_sandbox.ctx.set_rate_limit("volt", None)
    url = str(live_sandbox.url)
    httpx.put(f"{url}/_sandbox/rate-limits/volt", json={"limit": 7, "window_seconds": 3}).raise_for_status()
    creds = httpx.get(f"{url}/_sandbox/credentials").json()["volt"]
    _, _, settings = connectors.from_sandbox("volt", creds)
    assert (settings["rate_limit"], settings["window_seconds"]) == (7, 3.0)
