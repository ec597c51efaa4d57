"""Issue 9, item 7: two `engagesync pull groove-sales` processes on one OAuth connection (one
ENGAGESYNC_HOME, two stores), both needing a refresh, against strict rotation: both must succeed.

The test holds the connection's refresh lock until both processes have been refused their expired
access token (two 401s in the sandbox journal), so both are certain to want a refresh with the same
refresh token at the same moment; then it lets go."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from engagesync.sandbox.app import Sandbox
from engagesync.sync.connections import ConnectionStore, file_lock


def _cli(home: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "ENGAGESYNC_HOME": str(home)}
    return subprocess.Popen(
        [sys.executable, "-m", "engagesync.cli.main", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _refused(sandbox: Sandbox) -> int:
    return len(sandbox.ctx.journal.entries(api="groove-sales", status=401, limit=0))


def _token_posts(sandbox: Sandbox) -> int:
    return len(
        [e for e in sandbox.ctx.journal.entries(api="groove-sales", method="POST", limit=0) if "token" in e.path]
    )


def test_two_pulls_on_one_connection_both_refresh_safely(tmp_path: Path, live_sandbox: Sandbox) -> None:
    home = tmp_path / "home"
    connect = _cli(home, "connect", "--sandbox", str(live_sandbox.url))
    assert connect.wait(60) == 0, connect.communicate()[1]
    with live_sandbox.client() as admin:  # Groove's worst case: the old refresh token dies at once
        admin.put("/_sandbox/groove-sales/oauth/settings", json={"refresh_token_revoked_on_use": False})
    live_sandbox.ctx.clock.advance(7300)  # both must refresh
    store = ConnectionStore(home / "connections.json")
    posts = _token_posts(live_sandbox)
    with file_lock(store.connection_lock_path("groove-sales")):
        pulls = [
            _cli(home, "pull", "groove-sales", "--store", str(tmp_path / f"{n}.duckdb"), "--json") for n in ("a", "b")
        ]
        deadline = time.monotonic() + 60
        while _refused(live_sandbox) < 2 and time.monotonic() < deadline and all(p.poll() is None for p in pulls):
            time.sleep(0.02)
        assert _refused(live_sandbox) == 2, [p.communicate() for p in pulls]
    results = [p.communicate(timeout=120) for p in pulls]
    for proc, (out, err) in zip(pulls, results, strict=True):
        assert proc.returncode == 0, err[-2000:]
        assert json.loads(out)["ok"] is True
    assert _token_posts(live_sandbox) == posts + 1  # one refresh served both
    live_sandbox.ctx.clock.advance(7300)  # and the pair on disk is the live one
    check = _cli(home, "check", "groove-sales")
    assert check.wait(60) == 0, check.communicate()[1]
