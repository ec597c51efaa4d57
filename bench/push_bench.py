"""Push throughput: our Pusher (mapping, validation, ledger, response capture) vs a raw httpx loop
posting the same request bodies, both against the same unthrottled sandbox over loopback."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from engagesync.apis.groove_helpdesk import connector
from engagesync.sync.mapping import Mapping
from engagesync.sync.push import Pusher
from engagesync.sync.store import Store

from .harness import goal, sandbox_server

Row = tuple[str, str, str, str]
MAP = Mapping.parse(["from=email", "body=message", "to=inbox"], passthrough=["subject"])


def ticket_rows(n: int, mailbox: str, prefix: str) -> list[tuple[int, dict[str, Any]]]:
    return [
        (
            i + 2,
            {
                "email": f"{prefix}{i}@bench.example",
                "message": f"Question {i} about my order",
                "subject": f"Order {i}",
                "inbox": mailbox,
            },
        )
        for i in range(n)
    ]


def push_throughput(records: int = 2_000) -> list[Row]:
    action = connector.actions()["create_ticket"]
    rows_out: list[Row] = []
    with sandbox_server("--no-rate-limits") as url:
        creds = httpx.get(f"{url}/_sandbox/credentials").json()["groove-helpdesk"]
        with connector.make_client(creds["base_url"], creds["token"]) as client:
            mailbox = client.get("mailboxes").json()["mailboxes"][0]["email"]
            # raw loop: the same bodies, posted one after another, nothing checked or recorded
            bodies = [
                action.build(action.prepare(MAP.apply(raw))).json for _, raw in ticket_rows(records, mailbox, "raw")
            ]
            started = time.perf_counter()
            with httpx.Client(headers={"Authorization": f"Bearer {creds['token']}"}, timeout=30) as plain:
                for body in bodies:
                    plain.post(f"{creds['base_url']}/tickets", json=body).raise_for_status()
            raw = time.perf_counter() - started
            results = {}
            for concurrency in (1, 4):
                with tempfile.TemporaryDirectory() as tmp, Store(str(Path(tmp) / "push.duckdb")) as db:
                    pusher = Pusher(client, "groove-helpdesk", action, db, mapping=MAP, concurrency=concurrency)
                    started = time.perf_counter()
                    result = pusher.run(ticket_rows(records, mailbox, f"ours{concurrency}-"))
                    results[concurrency] = (time.perf_counter() - started, result.done)
    for concurrency, (seconds, done) in results.items():
        rows_out.append(
            (
                f"push create_ticket, ledger + responses ({done:,} records, concurrency {concurrency})",
                f"{done / seconds:,.0f} rec/s",
                f"{seconds:.2f} s",
                f"vs raw {goal(raw / seconds, 0.9, at_least=True)}"
                if concurrency == 1
                else f"{raw / seconds:.2f}x raw",
            )
        )
    rows_out.append(
        ("raw httpx loop posting the same bodies (no ledger)", f"{records / raw:,.0f} rec/s", f"{raw:.2f} s", "1.00x")
    )
    return rows_out
