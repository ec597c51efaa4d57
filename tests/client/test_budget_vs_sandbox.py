"""The client's rate budget against the sandbox's limiter, on the sandbox's frozen virtual clock.

Deterministic: the budget reads the virtual clock and "sleeps" by advancing it, so a schedule that
would take minutes runs in milliseconds and the comparison with the optimum is exact.
"""

from __future__ import annotations

import pytest

from engagesync.client.auth import BearerToken
from engagesync.client.budget import RateBudget
from engagesync.client.http import ApiClient
from engagesync.ratemodel import optimal_schedule
from engagesync.sandbox.app import Sandbox
from engagesync.sandbox.ratelimit import RateLimit

#: Starting instants: the budget learns the server's clock from whole-second Date headers, so how fast
#: it learns depends on the phase it starts at; it must hold at every phase.
PHASES = (0.0, 0.37, 0.59, 0.93)


def _client(sandbox: Sandbox, window: float, phase: float = 0.37) -> tuple[ApiClient, RateBudget]:
    clock = sandbox.ctx.clock
    clock.freeze()
    clock.set(1_800_000_000 + phase)
    budget = RateBudget(window_seconds=window, clock=clock.now, sleep=lambda s: clock.advance(s))
    creds = sandbox.credentials()["groove-helpdesk"]
    client = ApiClient(
        creds["base_url"],
        auth=BearerToken(creds["token"]),
        budget=budget,
        transport=sandbox.transport(),
        sleep=lambda s: clock.advance(s),
    )
    return client, budget


@pytest.mark.parametrize("phase", PHASES)
@pytest.mark.parametrize(("limit", "window", "requests"), [(20, 2.0, 150), (100, 60.0, 450), (3, 10.0, 20)])
def test_budget_never_trips_the_limit_and_tracks_the_optimum(
    sandbox: Sandbox, limit: int, window: float, requests: int, phase: float
) -> None:
    sandbox.ctx.set_rate_limit("groove-helpdesk", RateLimit(limit, window))
    client, budget = _client(sandbox, window, phase)
    clock = sandbox.ctx.clock
    start = clock.now()
    for _ in range(requests):
        client.get("mailboxes")
    elapsed = clock.now() - start
    assert client.stats["rate_limited"] == 0
    assert sandbox.ctx.journal.stats()["groove-helpdesk"].get("rate_limited", 0) == 0
    optimum = optimal_schedule(requests, limit, window, start=start)[-1] - start
    # The first response teaches the budget the limit and the server's clock; after that it
    # schedules at the window's fade: within the 5% goal, at every starting phase.
    assert elapsed <= optimum * 1.05, (elapsed, optimum)
    assert budget.waits > 0


def test_budget_honours_a_429_without_busy_looping(sandbox: Sandbox) -> None:
    """Another client exhausted the window: our first call is refused, then we wait for Reset."""
    sandbox.ctx.set_rate_limit("groove-helpdesk", RateLimit(5, 10.0))
    client, _ = _client(sandbox, 10.0)
    token = sandbox.credentials()["groove-helpdesk"]["token"]
    other = sandbox.client()
    for _ in range(6):
        other.get("/groove-helpdesk/v1/mailboxes", headers={"Authorization": f"Bearer {token}"})
    before = sandbox.ctx.clock.now()
    response = client.get("mailboxes")
    assert response.status_code == 200
    assert client.stats["rate_limited"] == 1  # exactly one refusal, then a single wait
    assert sandbox.ctx.clock.now() > before
