"""Volt through the CLI over loopback: connect --sandbox, check, pull every stream, push a CSV, rejects."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb

from engagesync.sandbox.app import Sandbox
from tests.cli_helpers import run_cli


def test_connect_from_the_sandbox_then_pull_and_push_texts(home: Path, live_sandbox: Sandbox) -> None:
    creds = live_sandbox.credentials()["volt"]
    code, output = run_cli("connect", "--sandbox", str(live_sandbox.url), "--json")
    assert code == 0, output
    assert creds["token"] not in output
    made = {c["name"]: c for c in json.loads(output)["connections"]}
    assert made["volt"]["secrets"] == {"token": "***"}
    # rate_limit 0: the sandbox fixture enforces no limit, so the client budgets none
    assert made["volt"]["settings"] == {"primary_phone": creds["primary_phone"], "rate_limit": 0}
    assert run_cli("check", "volt")[0] == 0
    store = str(home / "texts.duckdb")
    code, output = run_cli("pull", "volt", "--store", store, "--json")
    assert code == 0, output
    with duckdb.connect(store, read_only=True) as db:
        pulled = db.execute("SELECT count(*) FROM volt.messages").fetchone()
    assert pulled is not None and pulled[0] > 0
    phone = creds["samples"]["contact_phones"][0]
    texts = home / "texts.csv"
    texts.write_text(
        f"phone,text,pics\n{phone},Hello from the CLI,\n555-1234,bad number,\n"
        f"{phone},With a picture,https://example.com/a.png\n"
    )
    push = (
        "push",
        "volt",
        "send_message",
        "--input",
        str(texts),
        "--store",
        store,
        "--map",
        "to=phone",
        "--map",
        f"from='{creds['primary_phone']}'",
        "--map",
        "body=text",
        "--map",
        "media=pics",
    )
    code, output = run_cli(*push)
    assert code == 1, output  # done, with a reject
    code, output = run_cli("rejects", "volt", "--store", store, "--json")
    assert [(r["field"], r["reason"]) for r in json.loads(output)["rejects"]] == [
        ("to", "line 3: to must be an E.164 phone number such as +15555550123 (got '555-1234')")
    ]
    sent = live_sandbox.ctx.store.all(
        "SELECT body, media FROM vt_messages WHERE body IN (?, ?)", ("Hello from the CLI", "With a picture")
    )
    assert sorted((r["body"], json.loads(r["media"])) for r in sent) == [
        ("Hello from the CLI", []),
        ("With a picture", ["https://example.com/a.png"]),
    ]
    run_cli(*push)  # a re-run sends nothing more
    assert (
        len(
            live_sandbox.ctx.store.all(
                "SELECT id FROM vt_messages WHERE body IN (?, ?)", ("Hello from the CLI", "With a picture")
            )
        )
        == 2
    )
