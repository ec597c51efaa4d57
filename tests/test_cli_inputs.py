"""`engagesync push` input handling end to end over loopback: fail fast before sending anything, one-line
errors for bad inputs (exit 2), empty inputs (exit 0), and pushing pulled tables back from the store."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import duckdb
import pytest

from engagesync.sandbox.app import Sandbox
from tests.cli_helpers import EXAMPLES, run_cli


def _connect(live_sandbox: Sandbox) -> None:
    assert run_cli("connect", "--sandbox", str(live_sandbox.url))[0] == 0


def _sent(live_sandbox: Sandbox, api: str) -> list[object]:
    return [e for e in live_sandbox.ctx.journal.entries(api=api, limit=0) if e["method"] != "GET"]


def _one_line_error(output: str) -> str:
    """The one error line (a progress display may have printed before it), and no traceback."""
    lines = [line for line in output.splitlines() if line.strip() and "push create_ticket" not in line]
    assert "Traceback" not in output and len(lines) == 1, output
    assert lines[0].startswith("error: "), output
    return lines[0]


TICKET_MAPS = ("--map", "from.email=email", "--map", "from.name=name", "--map", "body=message")


def test_a_bad_map_fails_before_sending_anything(home: Path, live_sandbox: Sandbox) -> None:
    _connect(live_sandbox)
    store = home / "data.duckdb"
    base = ("push", "groove-helpdesk", "create_ticket", "--input", str(EXAMPLES / "tickets.csv"), "--store", str(store))

    code, output = run_cli(*base, *TICKET_MAPS, "--map", "subjct=message")  # a target that is no field
    line = _one_line_error(output)
    assert code == 2 and "--map subjct=message: 'subjct' is not a field of create_ticket" in line
    assert "did you mean 'subject'?" in line
    assert not store.exists()  # refused before even the store was created

    code, output = run_cli(*base, "--map", "from.email=email", "--map", "body=mesage")  # no such column
    line = _one_line_error(output)
    assert code == 2 and "--map body=mesage: no column 'mesage' in" in line and "did you mean 'message'?" in line
    code, output = run_cli(*base, *TICKET_MAPS, "--map", "subject=Order {order}")
    assert code == 2 and "no column 'order'" in _one_line_error(output)
    assert _sent(live_sandbox, "groove-helpdesk") == []


@pytest.mark.parametrize("text", ["", "email,name,message\n", "\n\n"])
def test_an_empty_or_header_only_input_is_nothing_to_push(home: Path, live_sandbox: Sandbox, text: str) -> None:
    _connect(live_sandbox)
    path = home / "empty.csv"
    path.write_text(text, encoding="utf-8")
    args = ("push", "groove-helpdesk", "create_ticket", "--input", str(path), *TICKET_MAPS)
    code, output = run_cli(*args, "--store", str(home / "data.duckdb"))
    assert code == 0 and "empty.csv has no records: nothing to push" in output, output
    code, output = run_cli(*args, "--store", str(home / "data.duckdb"), "--json", stdout_only=True)
    assert code == 0 and json.loads(output)["read"] == 0
    assert _sent(live_sandbox, "groove-helpdesk") == []


def test_bad_inputs_are_one_line_errors_with_exit_2(home: Path, live_sandbox: Sandbox) -> None:
    _connect(live_sandbox)
    store = str(home / "data.duckdb")
    run_cli("pull", "growthgenius", "users", "--store", store)
    whole = gzip.compress(b"email,name,message\n" + b"".join(b"u%d@x.io,U,hello\n" % i for i in range(3000)))
    (home / "cut.csv.gz").write_bytes(whole[: len(whole) // 2])
    (home / "plain.csv.gz").write_text("email,name,message\na@x.io,A,hi\n", encoding="utf-8")
    (home / "bad.jsonl").write_text('{"email": "a@x.io", "message": "hi"}\n{"email": \n', encoding="utf-8")
    other = str(home / "other.duckdb")
    duckdb.connect(other).close()
    cases = {
        str(home / "cut.csv.gz"): "cut.csv.gz: the gzip file is truncated",
        str(home / "plain.csv.gz"): "plain.csv.gz: is not gzip-compressed",
        str(home / "bad.jsonl"): "bad.jsonl, line 2: invalid JSON",
        str(home / "missing.csv"): "missing.csv: file not found",
        "duckdb::growthgenius.nope": "no such table growthgenius.nope (tables: growthgenius.users)",
        f"duckdb:{store}::growthgenius.nope": "no such table growthgenius.nope (tables: growthgenius.users)",
        f"duckdb:{other}::main.t": "no such table main.t (it has no tables)",
        f"duckdb:{home / 'nope.duckdb'}::main.t": "nope.duckdb: file not found",
    }
    for source, expected in cases.items():
        code, output = run_cli(
            "push", "groove-helpdesk", "create_ticket", "--input", source, *TICKET_MAPS, "--store", store
        )
        assert code == 2 and expected in _one_line_error(output), (source, output)
    assert _sent(live_sandbox, "groove-helpdesk") == []


def test_growthgenius_contacts_pushed_back_from_the_store(home: Path, live_sandbox: Sandbox) -> None:
    _connect(live_sandbox)
    store = str(home / "data.duckdb")
    code, output = run_cli("pull", "growthgenius", "contacts", "--store", store, "--json", stdout_only=True)
    pulled = json.loads(output)["streams"][0]["records"]
    assert code == 0 and pulled > 100

    push = ("push", "growthgenius", "create_contact", "--store", store, "--json")
    code, output = run_cli(*push, "--input", "duckdb::growthgenius.contacts", "--dry-run", stdout_only=True)
    summary = json.loads(output)
    assert code == 0 and (summary["read"], summary["rejected"]) == (pulled, 0), output
    bodies = [r["body"]["contact"] for r in summary["requests"]]
    assert all(isinstance(b["contact_account"], dict) for b in bodies if "contact_account" in b)
    assert sum("contact_account" in b for b in bodies) > 100

    con = duckdb.connect(store)  # a few of them for a real push (GrowthGenius allows 100 requests a minute)
    con.execute("CREATE TABLE growthgenius.few AS SELECT * FROM growthgenius.contacts ORDER BY id LIMIT 4")
    sent = {
        email: json.loads(account)
        for email, account in con.execute("SELECT email, contact_account FROM growthgenius.few").fetchall()
    }
    con.close()
    code, output = run_cli(*push, "--input", f"duckdb:{store}::growthgenius.few", stdout_only=True)  # the store's path
    summary = json.loads(output)
    assert code == 0 and (summary["done"], summary["rejected"]) == (4, 0), output

    con = duckdb.connect(store, read_only=True)  # what GrowthGenius answered: the accounts as objects
    created = [json.loads(b)["contact"] for (b,) in con.execute("SELECT body FROM _engagesync.responses").fetchall()]
    con.close()
    assert {c["email"]: c["contact_account"] for c in created} == sent


def test_groove_ticket_tags_pushed_back_from_the_store_unchanged(home: Path, live_sandbox: Sandbox) -> None:
    _connect(live_sandbox)
    store = str(home / "data.duckdb")
    assert run_cli("pull", "groove-helpdesk", "tickets", "--store", store)[0] == 0
    con = duckdb.connect(store)
    con.execute(
        "CREATE TABLE groove_helpdesk.tagged AS SELECT * FROM groove_helpdesk.tickets "
        "WHERE json_array_length(tags) > 1 ORDER BY number LIMIT 3"
    )
    before = dict(con.execute("SELECT number, tags FROM groove_helpdesk.tagged").fetchall())
    con.close()
    assert len(before) == 3

    code, output = run_cli(
        "push", "groove-helpdesk", "replace_tags", "--input", "duckdb::groove_helpdesk.tagged", "--store", store
    )
    assert code == 0, output
    assert run_cli("pull", "groove-helpdesk", "tickets", "--store", store)[0] == 0
    con = duckdb.connect(store, read_only=True)
    after = dict(
        con.execute(
            "SELECT t.number, t.tags FROM groove_helpdesk.tickets t JOIN groove_helpdesk.tagged USING (number)"
        ).fetchall()
    )
    con.close()

    # tags is a VARCHAR[] column (issue 14; JSON text before): read as a list either way
    def as_list(t: Any) -> list[str]:
        return sorted(json.loads(t) if isinstance(t, str) else t)

    assert {n: as_list(t) for n, t in after.items()} == {n: as_list(t) for n, t in before.items()}
