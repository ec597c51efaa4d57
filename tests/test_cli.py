"""The command line as a user runs it: the demo, serve (a real process) and credentials."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from typer.testing import CliRunner

from engagesync.cli.main import app
from engagesync.sandbox.app import Sandbox

runner = CliRunner()


def test_demo_runs_end_to_end(tmp_path: Path) -> None:
    store = tmp_path / "demo.duckdb"
    result = runner.invoke(app, ["demo", "--tickets", "30", "--store", str(store)])
    assert result.exit_code == 0, result.output
    assert "Demo finished" in result.output
    said = " ".join(result.output.split())  # Rich wraps lines at the terminal's width
    assert (
        "4 Groove tickets, 4 GrowthGenius contacts and 8 Groove sales flow members pushed once each "
        "(the re-runs pushed nothing)"
    ) in said
    assert "line 5: from is not a valid email address" in result.output
    assert "The destination new_leads delivered 3 leads" in said  # created, previewed, tested, activated
    import duckdb

    with duckdb.connect(str(store)) as con:
        assert con.execute("SELECT COUNT(*) FROM groove_helpdesk.tickets").fetchone() == (30,)


def test_credentials_reads_a_running_sandbox(live_sandbox: Sandbox) -> None:
    result = runner.invoke(app, ["sandbox", "credentials", "--url", str(live_sandbox.url), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["groove-helpdesk"]["base_url"] == f"{live_sandbox.url}/groove-helpdesk/v1"
    assert data["groove-helpdesk"]["token"] == live_sandbox.credentials()["groove-helpdesk"]["token"]


def test_credentials_without_a_sandbox_fails_clearly() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = runner.invoke(app, ["sandbox", "credentials", "--url", f"http://127.0.0.1:{port}"])
    assert result.exit_code == 1
    assert "no sandbox answering" in result.output


def test_serve_rejects_a_malformed_count() -> None:
    result = runner.invoke(app, ["sandbox", "serve", "--count", "tickets=ten"])
    assert result.exit_code == 2
    assert "groove-helpdesk.tickets=1000" in result.output


@contextmanager
def _serve(*args: str) -> Iterator[str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "engagesync.cli.main", "sandbox", "serve", "--port", str(port), *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=os.environ.copy(),
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{url}/_sandbox/health", timeout=1)
                break
            except httpx.HTTPError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(proc.stderr.read().decode() if proc.stderr else "serve died") from None
                time.sleep(0.1)
        yield url
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=15)


def test_serve_with_db_keeps_state_across_a_restart(tmp_path: Path) -> None:
    db = str(tmp_path / "sandbox.db")
    with _serve("--db", db, "--count", "groove-helpdesk.tickets=5") as url:
        creds = httpx.get(f"{url}/_sandbox/credentials").json()["groove-helpdesk"]
        headers = {"Authorization": f"Bearer {creds['token']}"}
        mailbox = httpx.get(f"{creds['base_url']}/mailboxes", headers=headers).json()["mailboxes"][0]
        created = httpx.post(
            f"{creds['base_url']}/tickets",
            headers=headers,
            json={"body": "kept across restarts", "from": "keeper@example.com", "to": mailbox["email"]},
        )
        assert created.status_code == 201
        number = created.json()["ticket"]["number"]
        httpx.post(f"{url}/_sandbox/clock/advance", json={"seconds": 3600})
    with _serve("--db", db) as url:
        again = httpx.get(f"{url}/_sandbox/credentials").json()["groove-helpdesk"]
        assert again["token"] == creds["token"]
        ticket = httpx.get(f"{again['base_url']}/tickets/{number}", headers=headers)
        assert ticket.status_code == 200
        assert ticket.json()["ticket"]["summary"].startswith("kept across restarts")
        assert httpx.get(f"{url}/_sandbox/clock").json()["offset_seconds"] >= 3600 - 5
