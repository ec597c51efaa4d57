"""`engagesync destinations ...` and `engagesync run` (the worker) against the loopback sandbox.

The worker test runs `engagesync run` as real processes: the first is SIGKILLed at a progress line
in the middle of a delivery run, rows are appended to the source table, a second worker finishes the
delivery and is stopped with SIGTERM. Every row must reach the API exactly once.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from engagesync.sandbox.app import Sandbox
from engagesync.sync import destinations as dest
from engagesync.sync.store import Store
from tests.cli_helpers import run_cli


@pytest.fixture
def store(home: Path, live_sandbox: Sandbox) -> str:
    code, output = run_cli("connect", "--sandbox", str(live_sandbox.url))
    assert code == 0, output
    return str(home / "store.duckdb")


def _outbox(path: str, sandbox: Sandbox, first: int, count: int) -> None:
    """Append ``count`` rows (subjects ``Outbox <n>``) to the source table ``main.outbox``."""
    mailbox = sandbox.credentials()["groove-helpdesk"]["samples"]["mailbox_ids"][0]
    with Store(path) as db:
        db.execute(
            "CREATE TABLE IF NOT EXISTS main.outbox (n INTEGER, body VARCHAR, customer VARCHAR, mailbox VARCHAR)"
        )
        db.execute(
            "INSERT INTO main.outbox SELECT i, 'Body ' || i, 'c' || i || '@outbox.example', ? FROM range(?, ?) t(i)",
            [mailbox, first, first + count],
        )


def _subjects(sandbox: Sandbox) -> list[str]:
    rows = sandbox.ctx.store.all("SELECT title FROM gh_tickets WHERE title LIKE 'Outbox %' ORDER BY title")
    return [r["title"] for r in rows]


def _worker(home: Path, store: str) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "ENGAGESYNC_HOME": str(home / "home"),
        "ENGAGESYNC_PROGRESS": "lines",
        "ENGAGESYNC_COMMIT_RECORDS": "1",  # a ledger commit (and a progress line) per record
    }
    return subprocess.Popen(
        [sys.executable, "-m", "engagesync.cli.main", "run", "--store", store, "--idle", "0.1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def _read_until(proc: subprocess.Popen[str], wanted: str) -> list[str]:
    assert proc.stderr is not None
    seen: list[str] = []
    for line in proc.stderr:
        seen.append(line.rstrip("\n"))
        if wanted in line:
            return seen
    raise AssertionError(f"the worker ended before {wanted!r}: {seen[-10:]}")


def test_an_active_destination_delivers_appended_rows_exactly_once_through_a_killed_worker(
    home: Path, live_sandbox: Sandbox, store: str
) -> None:
    _outbox(store, live_sandbox, 0, 6)
    create = (
        "destinations", "create", "outbox", "--connection", "groove-helpdesk", "--source", "duckdb::main.outbox",
        "--template", "create_ticket", "--map", "from=customer", "--map", "subject=Outbox {n}", "--key", "n",
        "--store", store,
    )  # fmt: skip
    code, output = run_cli(*create)
    assert code == 0, output
    assert run_cli("destinations", "activate", "outbox", "--every", "0.2s", "--store", store)[0] == 0

    # each create takes 0.5 s, so the run is surely mid-way when the kill lands (killed at a line, not a timer)
    slow = {"match": {"api": "groove-helpdesk", "method": "POST", "path": "/tickets"}, "effect": {"latency": 500}}
    live_sandbox.ctx.faults.replace([slow])
    first = _worker(home, store)
    lines = _read_until(first, "progress outbox: 3 read")
    first.send_signal(signal.SIGKILL)  # mid-run: 3 of 6 records committed, maybe a 4th in flight
    first.wait()
    live_sandbox.ctx.faults.replace([])
    assert lines[0].startswith("worker started") and not [x for x in lines if x.startswith("delivered")]
    assert len(_subjects(live_sandbox)) in (3, 4)

    _outbox(store, live_sandbox, 6, 4)  # rows appended later, while the destination is active
    second = _worker(home, store)
    lines = _read_until(second, "delivered outbox")
    second.send_signal(signal.SIGTERM)
    _, rest = second.communicate(timeout=60)
    assert second.returncode == 0, rest
    assert rest.rstrip().endswith("worker stopped")
    delivered = [x for x in lines if x.startswith("delivered outbox")]
    assert "status=ok read=10" in delivered[0] and "rejected=0" in delivered[0]

    assert _subjects(live_sandbox) == sorted(f"Outbox {n}" for n in range(10))  # each exactly once
    code, output = run_cli("destinations", "runs", "outbox", "--store", store, "--json")
    assert code == 0, output
    runs = json.loads(output)
    assert runs[-1]["status"] == "running"  # the killed run never finished
    assert sum(r.get("done", 0) for r in runs if r["status"] == "ok") + 3 >= 10


API_KEY = "sk_test_cli_9f2c41"


def test_create_show_edit_preview_test_with_an_editor_and_delete(
    home: Path, live_sandbox: Sandbox, store: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mailbox = live_sandbox.credentials()["groove-helpdesk"]["samples"]["mailbox_ids"][0]
    source = tmp_path / "leads.jsonl"
    source.write_text(
        "".join(
            json.dumps({"body": f"Hi {i}", "from": f"l{i}@cli.example", "mailbox": mailbox, "subject": f"CLI {i}"})
            + "\n"
            for i in range(3)
        )
    )
    create = (
        "destinations", "create", "leads", "--connection", "groove-helpdesk", "--source", str(source),
        "--method", "post", "--url", "tickets", "--format", "form", "--header", "X-Source:nexla",
        "--header", f"X-Api-Key:{API_KEY}", "--responses", "--store", store, "--json",
    )  # fmt: skip
    code, output = run_cli(*create)
    assert code == 0, output
    created = json.loads(output)
    assert "webhook_secret" not in created and created["active"] is False  # never in --json
    code, secret = run_cli("destinations", "secret", "leads", "--store", store, stdout_only=True)
    assert code == 0 and secret.startswith("whsec_") and secret.count("\n") == 1 and secret.strip() not in output
    created["webhook_secret"] = secret.strip()
    code, shown = run_cli("destinations", "show", "leads", "--store", store, stdout_only=True)
    assert code == 0 and "format: form" in shown and created["webhook_secret"] not in shown
    assert API_KEY not in output + shown and "X-Api-Key: '[redacted]'" in shown  # a credential-like header
    code, as_json = run_cli("destinations", "show", "leads", "--store", store, "--json")
    assert code == 0 and json.loads(as_json)["config"]["endpoint"]["manual"]["headers"]["X-Api-Key"] == "[redacted]"
    (tmp_path / "leads.yaml").write_text(shown.replace("format: form", "format: json"))
    code, output = run_cli(
        "destinations", "edit", "leads", "--from-file", str(tmp_path / "leads.yaml"), "--store", store
    )
    assert code == 0 and "version 2" in output, output
    with Store(store) as db:  # the shown "[redacted]" kept the saved value
        assert dest.find(db, "leads").config.endpoint.manual.headers["X-Api-Key"] == API_KEY  # type: ignore[union-attr]
    code, output = run_cli("destinations", "preview", "leads", "--limit", "1", "--store", store, "--json")
    assert code == 0, output
    (request,) = json.loads(output)["requests"]
    assert request["headers"]["x-source"] == "nexla" and json.loads(request["body"])["subject"] == "CLI 0"
    assert request["headers"]["x-api-key"] == "[redacted]"
    token = live_sandbox.credentials()["groove-helpdesk"]["token"]
    assert token not in output and API_KEY not in output

    editor = tmp_path / "edit.py"
    editor.write_text(
        "import json, sys\np = sys.argv[1]\nd = json.load(open(p))\nd['subject'] = 'Edited ' + d['subject']\n"
        "json.dump(d, open(p, 'w'))\n"
    )
    monkeypatch.setenv("EDITOR", f"{sys.executable} {editor}")
    code, output = run_cli("destinations", "test", "leads", "--edit", "--store", store, "--json")
    assert code == 0, output
    answer = json.loads(output)
    assert API_KEY not in output
    assert answer["edited"] and json.loads(answer["request"]["body"])["subject"] == "Edited CLI 0"
    assert answer["response"]["status"] == 201
    code, output = run_cli("destinations", "run", "leads", "--store", store, "--json")
    assert code == 0 and json.loads(output)["done"] == 3, output  # the edited test delivered nothing
    titles = {r["title"] for r in live_sandbox.ctx.store.all("SELECT title FROM gh_tickets WHERE title LIKE '%CLI %'")}
    assert titles == {"Edited CLI 0", "CLI 0", "CLI 1", "CLI 2"}
    with Store(store) as db:
        assert db.execute('SELECT count(*) FROM "leads"."responses"')[0][0] == 4
    code, output = run_cli("destinations", "list", "--store", store, "--json")
    assert [d["name"] for d in json.loads(output)] == ["leads"]
    assert run_cli("destinations", "delete", "leads", "--store", store)[0] == 0
    code, output = run_cli("destinations", "show", "leads", "--store", store)
    assert (
        code == 2
        and output.strip() == "error: no destination named 'leads'; create one with `engagesync destinations create`"
    )
    assert httpx.get(f"{live_sandbox.url}/_sandbox/requests").status_code == 200


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("--template", "create_ticket", "--grouping", "max_bytes"),
            "batching.max_bytes: the max_bytes grouping needs",
        ),
        (("--method", "POST", "--url", "tickets", "--header", "Authorization:Bearer x"), "Authorization is sent by"),
        (("--method", "POST", "--url", "tickets", "--header", "nocolon"), "--header 'nocolon': expected NAME:VALUE"),
        (("--method", "POST", "--url", "tickets", "--batch-size", "0"), "Invalid value for '--batch-size'"),
    ],
)
def test_bad_options_exit_2_with_one_line(store: str, args: tuple[str, ...], message: str) -> None:
    base = ("destinations", "create", "x", "--connection", "groove-helpdesk", "--source", "a.jsonl", "--store", store)
    code, output = run_cli(*base, *args)
    assert code == 2 and message in output, output
    assert "Traceback" not in output


def test_run_when_the_api_is_down_exits_4_in_one_line_and_records_the_failed_run(
    home: Path, store: str, tmp_path: Path
) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    down = f"http://127.0.0.1:{port}/groove-helpdesk/v1"
    assert run_cli("connect", "down", "--api", "groove-helpdesk", "--base-url", down, "--token", "s3cret-tok")[0] == 0
    source = tmp_path / "one.jsonl"
    source.write_text(json.dumps({"body": "b", "from": "x@y.example", "mailbox": "m", "subject": "s"}) + "\n")
    create = ("destinations", "create", "dead", "--connection", "down", "--source", str(source), "--template",
              "create_ticket", "--store", store)  # fmt: skip
    assert run_cli(*create)[0] == 0
    code, output = run_cli("destinations", "run", "dead", "--store", store)
    assert code == 4, output
    assert output.startswith("error: the API could not be reached") and len(output.strip().splitlines()) == 1
    assert "s3cret-tok" not in output
    code, output = run_cli("destinations", "runs", "dead", "--store", store, "--json")
    (run,) = json.loads(output)
    assert run["status"] == "failed" and "cannot connect" in run["error"] and run["done"] == 0


def test_rejects_are_listed_retried_after_the_fix_and_dismissed(home: Path, live_sandbox: Sandbox, store: str) -> None:
    """`destinations rejects`: the CLI form of the console's Retry and Dismiss, over the same engine."""
    _outbox(store, live_sandbox, 0, 2)
    create = (
        "destinations", "create", "fixme", "--connection", "groove-helpdesk", "--source", "duckdb::main.outbox",
        "--method", "POST", "--url", "tickets", "--map", "from=customer", "--map", "subject=Outbox {n}",
        "--store", store,
    )  # fmt: skip
    assert run_cli(*create)[0] == 0
    refuse = {"match": {"api": "groove-helpdesk", "method": "POST", "path": "/tickets"}, "effect": {"status": 422}}
    live_sandbox.ctx.faults.replace([refuse])
    assert run_cli("destinations", "run", "fixme", "--store", store)[0] == 1  # done with rejects
    code, output = run_cli("destinations", "rejects", "fixme", "--store", store, "--json", stdout_only=True)
    listed = json.loads(output)
    assert code == 0 and len(listed) == 2 and all(r["reason"] for r in listed)
    live_sandbox.ctx.faults.replace([])  # the target is fixed
    code, output = run_cli("destinations", "rejects", "fixme", "--dismiss", str(listed[0]["id"]), "--store", store)
    assert code == 0 and "dismissed 1" in output
    code, output = run_cli("destinations", "rejects", "fixme", "--retry", "--store", store, "--json", stdout_only=True)
    assert code == 0 and json.loads(output)["done"] == 1
    assert _subjects(live_sandbox).count("Outbox 1") + _subjects(live_sandbox).count("Outbox 0") == 1
    code, output = run_cli("destinations", "rejects", "fixme", "--store", store, "--json", stdout_only=True)
    assert json.loads(output) == []
    code, output = run_cli("destinations", "rejects", "fixme", "--dismiss", "x", "--store", store)
    assert code == 2 and "reject id or 'all'" in output
