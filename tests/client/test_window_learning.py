"""The rate window is learned from the server's headers, not assumed (issue 9, item 13).

Deterministic: in-process sandbox on its frozen virtual clock; the budget reads that clock and
"sleeps" by advancing it, so elapsed times below are virtual seconds and exact. No environment
variable is set: the client starts from the connector's 60 s default.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engagesync.apis.groove_helpdesk import connector
from engagesync.client.auth import BearerToken
from engagesync.client.budget import RateBudget
from engagesync.client.http import ApiClient
from engagesync.ratemodel import optimal_schedule
from engagesync.sandbox.app import Sandbox
from engagesync.sandbox.ratelimit import RateLimit
from engagesync.sync import connectors
from engagesync.sync.connections import ConnectionStore
from engagesync.sync.pull import pull
from engagesync.sync.store import Store
from tests.cli_helpers import run_cli

PHASES = (0.0, 0.37, 0.93)


@pytest.fixture(autouse=True)
def _no_window_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ENGAGESYNC_WINDOW_SECONDS", raising=False)


def _client(sandbox: Sandbox, phase: float, window: float = connector.WINDOW_SECONDS) -> tuple[ApiClient, RateBudget]:
    clock = sandbox.ctx.clock
    clock.freeze()
    clock.set(1_800_000_000 + phase)
    budget = RateBudget(window_seconds=window, clock=clock.now, sleep=clock.advance)
    creds = sandbox.credentials()["groove-helpdesk"]
    client = ApiClient(
        creds["base_url"],
        auth=BearerToken(creds["token"]),
        budget=budget,
        transport=sandbox.transport(),
        sleep=clock.advance,
    )
    return client, budget


def _refused(sandbox: Sandbox) -> int:
    refused: int = sandbox.ctx.journal.stats()["groove-helpdesk"].get("rate_limited", 0)
    return refused


@pytest.mark.parametrize("phase", PHASES)
@pytest.mark.parametrize(("limit", "window"), [(15, 1.0), (20, 2.0)])
def test_a_pull_learns_a_short_window_and_runs_near_the_optimum(
    sandbox: Sandbox, tmp_path: Path, limit: int, window: float, phase: float
) -> None:
    sandbox.reset(counts={"groove-helpdesk.tickets": 3000})
    sandbox.ctx.set_rate_limit("groove-helpdesk", RateLimit(limit, window))
    client, budget = _client(sandbox, phase)
    assert budget.window_seconds == 60.0  # the connector's default, nothing configured
    clock = sandbox.ctx.clock
    start = clock.now()
    with Store(str(tmp_path / "pull.duckdb")) as store:
        result = pull(client, "groove-helpdesk", connector.streams(), ["tickets"], store)
    elapsed = clock.now() - start
    assert result.records == 3000
    assert client.stats["rate_limited"] == 0 and _refused(sandbox) == 0
    learner = budget.learner
    assert learner is not None and 60.0 not in learner.live and window in learner.live
    # Confirmed, or (1 s and 2 s nest, so some phases never tell them apart) still on the server's promises.
    assert budget.window_seconds == window if learner.confirmed else learner.searching
    sent = client.stats["requests"]
    optimum = optimal_schedule(sent, limit, window, start=start)[-1] - start
    # Against the optimal schedule: within 2.5x of it (assuming 60 s took 30-50x). The rest is the
    # budget's whole-second clock sync on a window as short as 1 s, the same when the window is told.
    assert elapsed <= 2.5 * optimum, (elapsed, optimum)
    # Learning costs at most the first window plus the whole-second Reset (two windows + 1 s) over
    # the same budget told the window up front, 1000 s later (every count faded).
    told, _ = _client(sandbox, phase + 1000, window)
    start = clock.now()
    for _ in range(sent):
        told.get("mailboxes")
    known = clock.now() - start
    assert told.stats["rate_limited"] == 0
    assert elapsed <= known + 2 * window + 1.0, (elapsed, known)


def test_the_60_second_default_holds_against_a_60_second_server(sandbox: Sandbox) -> None:
    sandbox.ctx.set_rate_limit("groove-helpdesk", RateLimit(100, 60.0))
    client, budget = _client(sandbox, 0.37)
    clock = sandbox.ctx.clock
    start = clock.now()
    for _ in range(450):
        client.get("mailboxes")
    elapsed = clock.now() - start
    assert client.stats["rate_limited"] == 0 and _refused(sandbox) == 0
    assert budget.window_seconds == 60.0 and budget.learner is not None and budget.learner.live == [60.0]
    assert elapsed <= (optimal_schedule(450, 100, 60.0, start=start)[-1] - start) * 1.05


@pytest.mark.parametrize("phase", PHASES)
def test_a_window_off_the_candidate_list_never_draws_a_429(sandbox: Sandbox, phase: float) -> None:
    """2.5 s is no round value: the guesses it leaves (1 s, 2 s) fail their confirmation, and the
    budget returns to the default instead of risking a refusal."""
    sandbox.ctx.set_rate_limit("groove-helpdesk", RateLimit(10, 2.5))
    client, budget = _client(sandbox, phase)
    for _ in range(40):
        client.get("mailboxes")
    assert client.stats["rate_limited"] == 0 and _refused(sandbox) == 0
    assert budget.window_seconds == 60.0 and budget.learner is not None and not budget.learner.confirmed


def test_another_client_on_the_credential_is_not_mistaken_for_a_window(sandbox: Sandbox) -> None:
    """Someone else's calls make the server count more than any window explains: the default stays."""
    sandbox.ctx.set_rate_limit("groove-helpdesk", RateLimit(20, 2.0))
    client, budget = _client(sandbox, 0.37)
    token = sandbox.credentials()["groove-helpdesk"]["token"]
    with sandbox.client() as other:
        for _ in range(8):
            other.get("/groove-helpdesk/v1/mailboxes", headers={"Authorization": f"Bearer {token}"})
        for _ in range(30):
            client.get("mailboxes")
    assert client.stats["rate_limited"] == 0
    assert budget.learner is not None and not budget.learner.confirmed


def test_connect_sandbox_records_the_configured_limit_and_the_client_uses_it(home: Path, live_sandbox: Sandbox) -> None:
    live_sandbox.ctx.set_rate_limit("groove-helpdesk", RateLimit(20, 2.0))
    code, output = run_cli("connect", "--sandbox", str(live_sandbox.url), "--json", stdout_only=True)
    assert code == 0, output
    saved = json.loads((home / "home" / "connections.json").read_text())
    assert "rate_limit" in json.dumps(saved)
    connection = ConnectionStore().get("groove-helpdesk")
    assert connection.settings["window_seconds"] == 2.0 and connection.settings["rate_limit"] == 20
    with connectors.client_for(connection) as client:
        assert client.budget.window_seconds == 2.0 and client.budget.limit == 20
