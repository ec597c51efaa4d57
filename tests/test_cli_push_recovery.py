"""`push` and `rejects` recovery through the CLI over loopback (issue 9): an unreachable API or a failed
reconcile lookup exits 4 with one line and leaves the records for the next run; `rejects --retry` reuses
the push's mapping; `--dismiss` closes rejects."""

from __future__ import annotations

import json
import socket
from pathlib import Path

from engagesync.sandbox.app import Sandbox
from tests.cli_helpers import EXAMPLES, create_ticket_push, run_cli


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _push(live_sandbox: Sandbox, store: str, *extra: str) -> list[str]:
    maps = ("from.email=email", "from.name=name")
    return create_ticket_push(live_sandbox, EXAMPLES / "tickets.csv", store, *extra, maps=maps)


def _error_line(output: str) -> str:
    assert "Traceback" not in output, output
    lines = [line for line in output.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, output
    return lines[0]


def test_an_unreachable_api_exits_4_with_one_line_and_a_rerun_delivers(home: Path, live_sandbox: Sandbox) -> None:
    token = live_sandbox.credentials()["groove-helpdesk"]["token"]
    down = f"http://127.0.0.1:{_closed_port()}/groove-helpdesk/v1"
    run_cli("connect", "groove-helpdesk", "--api", "groove-helpdesk", "--base-url", down, "--token", token)
    store = str(home / "data.duckdb")
    code, output = run_cli(*_push(live_sandbox, store))
    line = _error_line(output)
    assert code == 4, output
    assert "could not be reached" in line and "run the same command again" in line and token not in output
    code, output = run_cli("rejects", "groove-helpdesk", "--store", store, "--json", stdout_only=True)
    lines = sorted(r["record"]["line"] for r in json.loads(output)["rejects"])
    assert lines == [5, 6]  # the rows local validation refused; none for the outage
    run_cli("connect", "--sandbox", str(live_sandbox.url))  # the API is back (same connection name)
    code, output = run_cli(*_push(live_sandbox, store, "--json"), stdout_only=True)
    summary = json.loads(output)
    assert code == 1 and (summary["done"], summary["skipped"], summary["rejected"]) == (4, 0, 2)


def test_a_failed_reconcile_lookup_exits_4_and_the_next_run_reconciles(home: Path, live_sandbox: Sandbox) -> None:
    run_cli("connect", "--sandbox", str(live_sandbox.url))
    store = str(home / "data.duckdb")
    live_sandbox.ctx.faults.replace(
        [
            {
                "match": {"api": "groove-helpdesk", "method": "POST", "path": "/tickets"},
                "effect": {"drop": True},
                "after": True,
                "times": 1,
            },
            {"match": {"api": "groove-helpdesk", "method": "GET", "path": "/tickets"}, "effect": {"status": 503}},
        ]
    )
    code, output = run_cli(*_push(live_sandbox, store, "--batch-size", "1"))
    assert code == 4, output
    assert "503" in _error_line(output)
    live_sandbox.ctx.faults.replace([])
    code, output = run_cli(*_push(live_sandbox, store, "--json"), stdout_only=True)
    summary = json.loads(output)
    assert (summary["reconciled"], summary["done"]) == (1, 4)
    ada = live_sandbox.ctx.store.scalar(
        "SELECT count(*) FROM gh_tickets t JOIN gh_customers c ON c.tenant_id = t.tenant_id AND c.id = t.customer_id "
        "WHERE c.email = 'ada@customers.example'"
    )
    assert ada == 1


def test_rejects_retry_reuses_the_mapping_and_dismiss_closes(home: Path, live_sandbox: Sandbox) -> None:
    run_cli("connect", "--sandbox", str(live_sandbox.url))
    store = str(home / "data.duckdb")
    code, _ = run_cli(*_push(live_sandbox, store))
    assert code == 1
    code, output = run_cli("rejects", "groove-helpdesk", "--retry", "--store", store, "--json", stdout_only=True)
    assert code == 1, output
    (retried,) = json.loads(output)["retried"]
    assert (retried["read"], retried["done"], retried["rejected"]) == (2, 0, 2)
    code, output = run_cli("rejects", "groove-helpdesk", "--store", store, "--json", stdout_only=True)
    listed = json.loads(output)["rejects"]
    assert sorted((r["record"]["line"], r["field"]) for r in listed) == [(5, "from[email]"), (6, "body")]
    first = str(listed[0]["id"])
    code, output = run_cli("rejects", "groove-helpdesk", "--dismiss", first, "--store", store)
    assert code == 0 and "1 reject(s) dismissed" in output
    code, output = run_cli("rejects", "groove-helpdesk", "--dismiss", first, "--store", store)
    assert code == 2 and "not open rejects" in _error_line(output)
    code, output = run_cli("rejects", "groove-helpdesk", "--all", "--store", store)
    assert code == 0 and "1 reject(s) dismissed" in output
    code, output = run_cli("rejects", "groove-helpdesk", "--store", store, "--json", stdout_only=True)
    assert json.loads(output)["rejects"] == []
    code, output = run_cli("rejects", "groove-helpdesk", "--dismiss", "x1", "--store", store)
    assert code == 2 and "--dismiss takes reject ids" in _error_line(output)


def test_push_help_says_when_to_pass_key() -> None:
    code, output = run_cli("push", "--help")
    assert code == 0
    flat = " ".join(output.replace("│", " ").split())
    assert "hash of the source row" in flat and "edited between runs" in flat
