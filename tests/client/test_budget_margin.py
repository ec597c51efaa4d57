"""The rate budget's margin over the optimum at every start phase, with and without round-trip delay
(issue 15: budgeted runs <= 1.02x the optimum with 0 x 429, no environment variable telling the window).

Deterministic: the sandbox's frozen virtual clock; the budget "sleeps" by advancing it, and a seeded
transport advances it by a round trip around each request (what a loaded machine adds), so every
figure below is virtual seconds compared with ``ratemodel.optimal_schedule``, never a wall-clock timing.
"""

from __future__ import annotations

import random
from email.utils import formatdate
from pathlib import Path

import httpx
import pytest

from engagesync.apis.groove_helpdesk import connector
from engagesync.client.auth import BearerToken
from engagesync.client.budget import RateBudget
from engagesync.client.http import ApiClient
from engagesync.ratemodel import optimal_schedule
from engagesync.sandbox.app import Sandbox
from engagesync.sandbox.clock import VirtualClock
from engagesync.sandbox.ratelimit import RateLimit
from engagesync.sync.pull import pull
from engagesync.sync.store import Store
from tests.transports import Passthrough


class RoundTrip(Passthrough):
    """Advances the virtual clock by up to ``leg`` seconds (seeded) before and after the server judges."""

    def __init__(self, inner: httpx.BaseTransport, clock: VirtualClock, leg: float, seed: int = 1) -> None:
        super().__init__(inner)
        self.clock, self.leg, self.rng = clock, leg, random.Random(seed)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.clock.advance(self.rng.uniform(0, self.leg))
        response = super().handle_request(request)
        self.clock.advance(self.rng.uniform(0, self.leg))
        return response


@pytest.fixture(autouse=True)
def _no_window_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ENGAGESYNC_WINDOW_SECONDS", raising=False)


def _run(sandbox: Sandbox, limit: int, window: float, told: float, phase: float, requests: int, leg: float) -> float:
    """Send ``requests`` GETs with a budget configured for ``told`` seconds; elapsed over the optimum."""
    sandbox.ctx.set_rate_limit("groove-helpdesk", RateLimit(limit, window))
    clock = sandbox.ctx.clock
    clock.freeze()
    clock.set(1_800_000_000 + phase)
    budget = RateBudget(window_seconds=told, clock=clock.now, sleep=clock.advance)
    creds = sandbox.credentials()["groove-helpdesk"]
    client = ApiClient(
        creds["base_url"],
        auth=BearerToken(creds["token"]),
        budget=budget,
        transport=RoundTrip(sandbox.transport(), clock, leg),
        sleep=clock.advance,
    )
    start = clock.now()
    for _ in range(requests):
        client.get("mailboxes")
    elapsed = clock.now() - start
    assert client.stats["rate_limited"] == 0
    assert sandbox.ctx.journal.stats()["groove-helpdesk"].get("rate_limited", 0) == 0
    assert budget.window_seconds == window
    return elapsed / (optimal_schedule(requests, limit, window, start=start)[-1] - start)


@pytest.mark.parametrize("phase", [0.7, 1.0, 1.37, 1.59, 1.93])
def test_the_recorded_window_runs_at_the_optimum_from_any_start_phase(sandbox: Sandbox, phase: float) -> None:
    """A burst answered within the second before a boundary (Date = the odd second) was judged before
    it: Date's upper bound is exclusive (read as inclusive, such a burst counted in the next window too:
    1.2x). And ``Remaining`` pins the server's clock once the previous window fades, where whole-second
    Dates alone left a start late in a second scheduling that late (1.036x at 0.7)."""
    assert _run(sandbox, 20, 2.0, 2.0, phase, 120, leg=0.0) <= 1.01


@pytest.mark.parametrize("phase", [0.0, 0.37, 0.93, 1.37])
def test_the_recorded_window_holds_its_margin_with_round_trips(sandbox: Sandbox, phase: float) -> None:
    """Up to 20 ms round trips (a contended client): the schedule stays within 2% of the optimum."""
    assert _run(sandbox, 20, 2.0, 2.0, phase, 120, leg=0.01) <= 1.02


@pytest.mark.parametrize("phase", [0.0, 0.37, 0.7])
def test_a_window_learned_from_the_first_reset_runs_at_the_optimum(sandbox: Sandbox, phase: float) -> None:
    """Started in an even second, the first exhaustion's Reset rules out every window but 2 s; from
    then on the learned path is the recorded one (1.04x before Remaining pinned the clock)."""
    assert _run(sandbox, 20, 2.0, connector.WINDOW_SECONDS, phase, 120, leg=0.0) <= 1.01


@pytest.mark.parametrize("phase", [0.0, 17.37, 41.93])
@pytest.mark.parametrize("told", [60.0, connector.WINDOW_SECONDS])
def test_100_per_minute_runs_within_2_percent_of_the_optimum(sandbox: Sandbox, phase: float, told: float) -> None:
    """Groove's real limit, on the connector's default: no minute is waited in real time."""
    assert _run(sandbox, 100, 60.0, told, phase, 130, leg=0.005) <= 1.02


@pytest.mark.parametrize("phase", [0.0, 0.37, 0.93, 1.37])
def test_a_learned_window_under_round_trip_delay_does_not_wait_out_the_default(sandbox: Sandbox, phase: float) -> None:
    """20 ms round trips keep the clock estimate too loose for the first burst to rule out the 60 s
    default; the server's own promises (Remaining, Reset) carry the run until the window is learned
    instead of the 60 s model (which made this 5.9x the optimum)."""
    ratio = _run(sandbox, 20, 2.0, connector.WINDOW_SECONDS, phase, 120, leg=0.01)
    # The learned path pays at most the whole-second Reset of the first exhaustion (< 1 s of ~11 s)
    # plus its round trips: a budget cannot tell 2 s from an unlisted 2.5 s window before then.
    assert ratio <= 1.12, ratio


@pytest.mark.parametrize("phase", [0.0, 0.37, 0.93])
def test_a_pull_at_15_per_second_runs_at_the_optimum_when_the_window_is_recorded(
    sandbox: Sandbox, tmp_path: Path, phase: float
) -> None:
    """On a 1 s window every Date second is a window boundary: read as inclusive, Date's upper bound
    put every request in two windows and a 60-page pull took 1.6-2x the optimum."""
    sandbox.reset(counts={"groove-helpdesk.tickets": 3000})
    sandbox.ctx.set_rate_limit("groove-helpdesk", RateLimit(15, 1.0))
    clock = sandbox.ctx.clock
    clock.freeze()
    clock.set(1_800_000_000 + phase)
    creds = sandbox.credentials()["groove-helpdesk"]
    budget = RateBudget(window_seconds=1.0, clock=clock.now, sleep=clock.advance)
    client = ApiClient(
        creds["base_url"],
        auth=BearerToken(creds["token"]),
        budget=budget,
        transport=sandbox.transport(),
        sleep=clock.advance,
    )
    start = clock.now()
    with Store(str(tmp_path / "pull.duckdb")) as store:
        result = pull(client, "groove-helpdesk", connector.streams(), ["tickets"], store)
    elapsed = clock.now() - start
    assert result.records == 3000 and client.stats["rate_limited"] == 0
    assert elapsed <= 1.03 * (optimal_schedule(client.stats["requests"], 15, 1.0, start=start)[-1] - start)


def test_remaining_does_not_move_the_clock_while_a_later_request_is_in_flight() -> None:
    """Two requests in flight: the later-sent one may be judged first, so the earlier one's
    ``Remaining`` counts a request the budget cannot place; it must not narrow the clock estimate
    (the true offset is 0 here: the server judged A at 3.3, after B)."""
    epoch = 1_800_000_000.0
    now = [epoch + 0.5]
    budget = RateBudget(window_seconds=2.0, clock=lambda: now[0], sleep=lambda s: None)

    def answer(ticket: object, remaining: int, at: float, reset: int | None = None) -> None:
        headers = {"date": formatdate(at, usegmt=True), "x-ratelimit-limit": "20"}
        headers["x-ratelimit-remaining"] = str(remaining)
        headers["x-ratelimit-reset"] = str(reset if reset is not None else int(at))
        budget.release(headers, at, at, 200, ticket)  # type: ignore[arg-type]

    for left in range(19, -1, -1):  # a burst of 20 at 0.5: Date bounds the offset to [-0.5, 0.5)
        answer(budget.acquire(), left, epoch + 0.5, None if left else int(epoch) + 3)
    now[0] = epoch + 3.3  # window [2, 4): the 20 fade, the estimate is 7
    first, _later = budget.acquire(), budget.acquire()
    # the server judges ``_later`` first (estimate 8, 12 left), then ``first`` (9, 11 left)
    budget.release(
        {"date": formatdate(epoch + 3.3, usegmt=True), "x-ratelimit-limit": "20", "x-ratelimit-remaining": "11"},
        epoch + 3.3,
        epoch + 3.4,
        200,
        first,
    )
    assert budget.learner is not None and budget.learner.live == [2.0]  # the trusted window
    assert budget.sync.low <= 0.0 < budget.sync.high, (budget.sync.low, budget.sync.high)
