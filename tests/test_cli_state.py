"""``engagesync state``: shows each stream's cursor and resets it; ``pull --full-refresh`` end to end."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb

from engagesync.sandbox.app import Sandbox
from tests.cli_helpers import run_cli


def _run(*args: str) -> tuple[int, str]:
    return run_cli(*args, stdout_only=True)


def test_state_shows_and_resets_cursors(home: Path, live_sandbox: Sandbox) -> None:
    _run("connect", "--sandbox", str(live_sandbox.url))
    store = str(home / "data.duckdb")
    assert _run("pull", "groove-helpdesk", "tickets", "messages", "--store", store)[0] == 0
    code, output = _run("state", "groove-helpdesk", "--store", store, "--json")
    assert code == 0, output
    shown = {s["stream"]: s for s in json.loads(output)["streams"]}
    assert shown["tickets"]["state"]["complete"] is True and shown["tickets"]["rows"] > 0
    assert shown["customers"]["state"] is None
    code, table = _run("state", "groove-helpdesk", "--store", store)
    assert code == 0 and "complete" in table and "not pulled" in table

    code, output = _run("state", "groove-helpdesk", "--reset", "messages", "--store", store, "--json")
    assert code == 0, output
    shown = {s["stream"]: s for s in json.loads(output)["streams"]}
    assert shown["messages"]["state"] is None and shown["messages"]["reset"] is True
    assert shown["messages"]["rows"] > 0  # rows stay; only the cursor is forgotten
    assert shown["tickets"]["state"]["complete"] is True
    # with its cursor gone, messages does a whole pass again: every ticket's messages are read
    code, output = _run("pull", "groove-helpdesk", "tickets", "messages", "--store", store, "--json")
    pulled = {s["stream"]: s for s in json.loads(output)["streams"]}
    assert pulled["messages"]["records"] == shown["messages"]["rows"] and pulled["messages"]["new"] == 0
    assert pulled["tickets"]["new"] == pulled["tickets"]["changed"] == 0

    assert _run("state", "groove-helpdesk", "--reset", "all", "--store", store, "--json")[0] == 0
    code, output = _run("state", "groove-helpdesk", "--store", store, "--json")
    assert all(s["state"] is None for s in json.loads(output)["streams"])


def test_state_reset_of_an_unknown_stream_is_a_usage_error(home: Path, live_sandbox: Sandbox) -> None:
    _run("connect", "--sandbox", str(live_sandbox.url))
    code, output = run_cli("state", "groove-helpdesk", "--reset", "nope", "--store", str(home / "s.duckdb"))
    assert code == 2 and "unknown stream(s) nope" in output and "Traceback" not in output


def test_pull_full_refresh_reports_and_tombstones(home: Path, live_sandbox: Sandbox) -> None:
    _run("connect", "--sandbox", str(live_sandbox.url))
    store = str(home / "data.duckdb")
    assert _run("pull", "groove-helpdesk", "tickets", "--store", store)[0] == 0
    tenant = live_sandbox.credentials()["tenant"]["id"]
    with live_sandbox.client() as admin:
        admin.delete(f"{live_sandbox.url}/_sandbox/groove-helpdesk/tickets/2", params={"tenant": tenant})
    code, output = _run("pull", "groove-helpdesk", "tickets", "--store", store, "--full-refresh", "--json")
    tickets = json.loads(output)["streams"][0]
    assert code == 0 and tickets["unchanged"] == tickets["records"] > 0 and tickets["new"] == tickets["changed"] == 0
    with duckdb.connect(store) as con:
        gone = con.execute("SELECT number FROM groove_helpdesk.tickets WHERE _deleted_at IS NOT NULL").fetchall()
    assert gone == [(2,)]


def test_streams_columns_prints_each_columns_type_and_meaning(home: Path, live_sandbox: Sandbox) -> None:
    _run("connect", "--sandbox", str(live_sandbox.url))
    code, output = _run("streams", "groove-helpdesk", "--columns", "--json")
    assert code == 0, output
    columns = {(c["stream"], c["column"]): c for c in json.loads(output)["columns"]}
    assert columns[("tickets", "created_at")]["type"] == "TIMESTAMPTZ"
    assert columns[("tickets", "tags")]["type"] == "VARCHAR[]"
    assert "message" in columns[("tickets", "message_count")]["meaning"].lower()
    assert "tombstone" in columns[("messages", "_deleted_at")]["meaning"]
    code, table = _run("streams", "groove-helpdesk", "--columns")
    assert code == 0 and "VARCHAR[]" in table and "TIMESTAMPTZ" in table
    # the same text is in the store, for DESCRIBE and any SQL client
    store = str(home / "data.duckdb")
    assert _run("pull", "groove-helpdesk", "tickets", "--store", store)[0] == 0
    with duckdb.connect(store, read_only=True) as con:
        comment = con.execute(
            "SELECT comment FROM duckdb_columns() WHERE table_name = 'tickets' AND column_name = 'message_count'"
        ).fetchall()
        table_comment = con.execute("SELECT comment FROM duckdb_tables() WHERE table_name = 'tickets'").fetchall()
    assert comment == [(columns[("tickets", "message_count")]["meaning"],)]
    assert table_comment == [("Tickets, by number",)]
