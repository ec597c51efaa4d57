"""The data commands end to end over loopback: connect, check, streams, pull, actions, push, rejects."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from engagesync.sandbox.app import Sandbox
from tests.cli_helpers import EXAMPLES, create_ticket_push, run_cli


def _run(*args: str) -> tuple[int, str]:
    return run_cli(*args, stdout_only=True)


def test_connect_from_sandbox_stores_secrets_0600_and_never_prints_them(home: Path, live_sandbox: Sandbox) -> None:
    code, output = _run("connect", "--sandbox", str(live_sandbox.url), "--json")
    assert code == 0, output
    token = live_sandbox.credentials()["groove-helpdesk"]["token"]
    assert token not in output
    path = home / "home" / "connections.json"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    code, listing = _run("connections", "--json")
    assert token not in listing
    assert json.loads(listing)["connections"][0]["secrets"] == {"token": "***"}
    assert _run("check", "groove-helpdesk")[0] == 0


def test_check_with_a_bad_token_exits_3(home: Path, live_sandbox: Sandbox) -> None:
    _run(
        "connect",
        "bad",
        "--api",
        "groove-helpdesk",
        "--base-url",
        f"{live_sandbox.url}/groove-helpdesk/v1",
        "--token",
        "wrong-token",
    )
    code, _ = _run("check", "bad")
    assert code == 3


def test_pull_push_rejects_round_trip(home: Path, live_sandbox: Sandbox) -> None:
    _run("connect", "--sandbox", str(live_sandbox.url))
    store = str(home / "data.duckdb")
    code, output = _run("pull", "groove-helpdesk", "--store", store, "--json")
    assert code == 0, output
    pulled = {s["stream"]: s for s in json.loads(output)["streams"]}
    assert pulled["tickets"]["records"] == live_sandbox.ctx.store.scalar("SELECT COUNT(*) FROM gh_tickets")
    assert all(s["status"] == "complete" for s in pulled.values())

    maps = ("from.email=email", "from.name=name", "tags=split(tags)")
    push = create_ticket_push(live_sandbox, EXAMPLES / "tickets.csv", store, "--json", maps=maps)
    code, output = _run(*push)
    summary = json.loads(output)
    assert code == 1 and (summary["done"], summary["rejected"]) == (4, 2)
    code, output = _run(*push)
    again = json.loads(output)
    assert (again["done"], again["skipped"], again["open_rejects"]) == (0, 4, 2)

    code, output = _run("rejects", "groove-helpdesk", "--store", store, "--json")
    reasons = sorted((r["record"]["line"], r["field"]) for r in json.loads(output)["rejects"])
    assert reasons == [(5, "from[email]"), (6, "body")]


def test_dry_run_and_unknown_action_and_bad_input(home: Path, live_sandbox: Sandbox) -> None:
    _run("connect", "--sandbox", str(live_sandbox.url))
    store = str(home / "data.duckdb")
    code, output = _run(
        "push",
        "groove-helpdesk",
        "update_ticket_state",
        "--input",
        str(EXAMPLES / "ticket_states.csv"),
        "--dry-run",
        "--store",
        store,
        "--json",
    )
    assert code == 0, output
    requests = json.loads(output)["requests"]
    assert requests[0] == {
        "line": 2,
        "key": requests[0]["key"],
        "method": "PUT",
        "url": f"{live_sandbox.url}/groove-helpdesk/v1/tickets/1/state",
        "body": {"state": "closed"},
    }
    assert requests[2]["body"] == {"state": "opened"}  # Nexla's "open" normalised
    assert live_sandbox.ctx.journal.entries(api="groove-helpdesk", method="PUT", limit=0) == []  # nothing sent
    code, _ = _run("push", "groove-helpdesk", "nope", "--input", str(EXAMPLES / "ticket_states.csv"))
    assert code == 2
    missing = home / "missing.csv"
    code, output = run_cli("push", "groove-helpdesk", "update_ticket_state", "--input", str(missing), "--store", store)
    assert code == 2 and "missing.csv" in output
