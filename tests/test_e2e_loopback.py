"""End to end over real loopback HTTP, with real processes killed at random moments.

The sandbox runs in this process (uvicorn on a loopback port); `engagesync pull` / `push` run as
separate processes that are SIGKILLed mid-way, then run again to completion. What must hold: the
store equals the source, and no ticket exists twice.
"""

from __future__ import annotations

import csv
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

from engagesync.sandbox.app import Sandbox
from engagesync.sandbox.ratelimit import RateLimit
from engagesync.sync.push_writes import HOLD_WRITER_ENV
from tests.cli_helpers import create_ticket_push


def _cli(home: Path, *args: str, progress: bool = False, **extra_env: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "ENGAGESYNC_HOME": str(home), **extra_env}
    if progress:  # a line per committed page
        env.update(ENGAGESYNC_PROGRESS="lines", ENGAGESYNC_COMMIT_RECORDS="1")
    return subprocess.Popen(
        [sys.executable, "-m", "engagesync.cli.main", *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )


def _finish(proc: subprocess.Popen[bytes], timeout: float = 120) -> int:
    _, stderr = proc.communicate(timeout=timeout)
    if proc.returncode not in (0, 1):
        raise AssertionError(stderr.decode()[-2000:])
    return proc.returncode


def _kill_at_progress(proc: subprocess.Popen[bytes], stream: str, pages: int) -> bool:
    """SIGKILL the pull once it reports ``pages`` committed pages of ``stream`` (ENGAGESYNC_PROGRESS=lines);
    True if it was killed before it finished."""
    assert proc.stderr is not None
    for raw in proc.stderr:
        line = raw.decode()
        if line.startswith(f"progress {stream}:") and f", {pages:,} pages" in line:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            return True
    proc.wait()
    return False


def _kill_when(proc: subprocess.Popen[bytes], reached: Callable[[], bool], timeout: float = 60) -> bool:
    """SIGKILL the process as soon as ``reached()`` holds (polled), unless it finished first."""
    deadline = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline:
        if reached():
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            return True
        time.sleep(0.005)
    return False


@pytest.fixture
def home(tmp_path: Path, live_sandbox: Sandbox) -> Path:
    path = tmp_path / "home"
    assert _finish(_cli(path, "connect", "--sandbox", str(live_sandbox.url))) == 0
    return path


def test_pull_killed_at_random_points_resumes_to_an_exact_copy(
    tmp_path: Path, home: Path, live_sandbox: Sandbox
) -> None:
    live_sandbox.reset(seed=0, counts={"groove-helpdesk.tickets": 400, "groove-helpdesk.customers": 150})
    live_sandbox.ctx.set_rate_limit("groove-helpdesk", None)
    store = str(tmp_path / "pull.duckdb")
    rng = random.Random(11)
    kills = 0
    for stream, most in (("customers", 3), ("tickets", 8), ("messages", 40), ("messages", 40)):
        pull = _cli(home, "pull", "groove-helpdesk", "--store", store, progress=True)
        if _kill_at_progress(pull, stream, rng.randint(1, most)):
            kills += 1
    assert _finish(_cli(home, "pull", "groove-helpdesk", "--store", store)) == 0
    assert kills >= 3, f"only {kills} pulls were interrupted; the test proved little"
    source = live_sandbox.ctx.store
    with duckdb.connect(store, read_only=True) as con:
        for table, sql in (
            ("tickets", "SELECT number FROM gh_tickets WHERE deleted = 0"),
            ("messages", "SELECT id FROM gh_messages"),
            ("customers", "SELECT id FROM gh_customers"),
        ):
            key = "number" if table == "tickets" else "id"
            pulled = [r[0] for r in con.execute(f"SELECT {key} FROM groove_helpdesk.{table}").fetchall()]
            expected = [r[0] for r in source.all(sql)]
            assert len(pulled) == len(set(pulled)), f"{table}: duplicates"
            assert sorted(map(str, pulled)) == sorted(map(str, expected)), table


def _tickets_csv(path: Path, n: int) -> None:
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["email", "message", "subject"])
        for i in range(n):
            writer.writerow([f"buyer{i}@kill.example", f"Order {i} arrived damaged, please help.", f"Damaged {i}"])


def _emails(sandbox: Sandbox) -> list[str]:
    return [
        r["email"]
        for r in sandbox.ctx.store.all(
            "SELECT c.email FROM gh_tickets t JOIN gh_customers c "
            "ON c.tenant_id = t.tenant_id AND c.id = t.customer_id "
            "WHERE c.email LIKE '%@kill.example'"
        )
    ]


def test_push_killed_mid_way_and_rerun_creates_each_ticket_exactly_once(
    tmp_path: Path, home: Path, live_sandbox: Sandbox
) -> None:
    live_sandbox.ctx.set_rate_limit("groove-helpdesk", None)
    source = tmp_path / "tickets.csv"
    _tickets_csv(source, 300)
    args = create_ticket_push(live_sandbox, source, tmp_path / "push.duckdb", maps=("from=email",))
    rng = random.Random(5)
    kills = 0
    for _ in range(3):  # each run is killed once the sandbox holds a further random share of the tickets
        target = min(300, len(_emails(live_sandbox)) + rng.randint(20, 80))
        if _kill_when(_cli(home, *args), lambda n=target: len(_emails(live_sandbox)) >= n):
            kills += 1
    assert _finish(_cli(home, *args)) == 0
    assert kills >= 1, "no push was interrupted; the test proved nothing"
    emails = _emails(live_sandbox)
    assert len(emails) == len(set(emails)) == 300


def test_push_under_5xx_and_timeouts_loses_nothing_and_duplicates_nothing(
    tmp_path: Path, home: Path, live_sandbox: Sandbox
) -> None:
    live_sandbox.ctx.set_rate_limit("groove-helpdesk", None)
    live_sandbox.ctx.faults.replace(
        [
            {
                "match": {"api": "groove-helpdesk", "method": "POST", "path": "/tickets"},
                "effect": {"timeout": True, "seconds": 2},
                "after": True,
                "probability": 0.15,
            },
            {
                "match": {"api": "groove-helpdesk", "method": "POST", "path": "/tickets"},
                "effect": {"status": 503},
                "probability": 0.15,
            },
            {"match": {"api": "groove-helpdesk", "method": "GET"}, "effect": {"status": 502}, "probability": 0.1},
        ],
        seed=9,
    )
    source = tmp_path / "tickets.csv"
    _tickets_csv(source, 40)
    env_timeout = {"ENGAGESYNC_TIMEOUT": "0.5"}
    os.environ.update(env_timeout)
    try:
        code = _finish(
            _cli(home, *create_ticket_push(live_sandbox, source, tmp_path / "push.duckdb", maps=("from=email",))),
            timeout=300,
        )
    finally:
        os.environ.pop("ENGAGESYNC_TIMEOUT")
    emails = _emails(live_sandbox)
    assert len(emails) == len(set(emails)), "a ticket was created twice"
    assert sorted(emails) == sorted(f"buyer{i}@kill.example" for i in range(40)), f"exit {code}: tickets lost"
    faults = [e for e in live_sandbox.ctx.journal.entries(api="groove-helpdesk", limit=0) if e.fault]
    assert {e.fault for e in faults} >= {"timeout", "status"}


def test_no_429_in_a_steady_state_pull_against_a_limited_sandbox(
    tmp_path: Path, home: Path, live_sandbox: Sandbox
) -> None:
    live_sandbox.ctx.set_rate_limit("groove-helpdesk", RateLimit(20, 2.0))
    env = {"ENGAGESYNC_WINDOW_SECONDS": "2"}
    os.environ.update(env)
    try:
        started = time.monotonic()
        assert (
            _finish(
                _cli(
                    home,
                    "pull",
                    "groove-helpdesk",
                    "customers",
                    "tickets",
                    "messages",
                    "--store",
                    str(tmp_path / "limited.duckdb"),
                )
            )
            == 0
        )
        elapsed = time.monotonic() - started
    finally:
        os.environ.pop("ENGAGESYNC_WINDOW_SECONDS")
    stats = live_sandbox.ctx.journal.stats()["groove-helpdesk"]
    assert stats["requests"] > 40, "the pull must outlast a few windows to mean anything"
    assert stats.get("rate_limited", 0) == 0
    assert elapsed < 60


def test_push_killed_with_outcomes_queued_for_the_ledger_writer_resumes_exactly_once(
    tmp_path: Path, home: Path, live_sandbox: Sandbox
) -> None:
    live_sandbox.ctx.set_rate_limit("groove-helpdesk", None)
    source = tmp_path / "tickets.csv"
    _tickets_csv(source, 30)
    store = tmp_path / "push.duckdb"
    args = create_ticket_push(live_sandbox, source, store, "--batch-size", "10", maps=("from=email",))
    # the hook keeps the writer from writing: batch 1's outcomes are queued in it, batch 2's held for it
    push = _cli(home, *args, progress=True, **{HOLD_WRITER_ENV: "1"})
    assert push.stderr is not None
    for raw in push.stderr:
        if raw.decode().startswith("progress push create_ticket: 20 read, 20 done"):
            push.send_signal(signal.SIGKILL)
            break
    assert push.wait() == -signal.SIGKILL, "the push was not killed at its second batch"
    with duckdb.connect(str(store), read_only=True) as con:
        statuses = con.execute("SELECT status, count(*) FROM _engagesync.ledger GROUP BY status").fetchall()
    assert statuses == [("sent", 20)] and len(_emails(live_sandbox)) == 20  # sent, outcomes never written
    assert _finish(_cli(home, *args)) == 0
    emails = _emails(live_sandbox)
    assert len(emails) == len(set(emails)) == 30
    with duckdb.connect(str(store), read_only=True) as con:
        statuses = con.execute("SELECT status, count(*) FROM _engagesync.ledger GROUP BY status").fetchall()
    assert statuses == [("done", 30)]
