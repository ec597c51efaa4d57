"""Push throughput: our Pusher (mapping, validation, ledger, response capture) vs a raw httpx loop
posting the same request bodies, both against the same unthrottled sandbox over loopback."""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from engagesync.apis.groove_helpdesk import connector
from engagesync.sync.mapping import Mapping
from engagesync.sync.push import Pusher
from engagesync.sync.store import Store

from .harness import median_goal, paired, sandbox_server

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


def push_throughput(records: int = 2_000, runs: int = 3) -> list[Row]:
    """Concurrency 1 vs the raw loop: the median of ``runs`` pairs, alternating which goes first (each
    run posts fresh addresses); concurrency 4 once, for scale."""
    action = connector.actions()["create_ticket"]
    rows_out: list[Row] = []
    with sandbox_server("--no-rate-limits") as url:
        creds = httpx.get(f"{url}/_sandbox/credentials").json()["groove-helpdesk"]
        with connector.make_client(creds["base_url"], creds["token"]) as client:
            mailbox = client.get("mailboxes").json()["mailboxes"][0]["email"]
            counter = iter(range(1_000_000))

            def raw() -> float:
                # the same bodies, posted one after another; each response checked and parsed (as a push
                # does), nothing recorded
                prefix = f"raw{next(counter)}-"
                rows = ticket_rows(records, mailbox, prefix)
                bodies = [action.build(action.prepare(MAP.apply(row))).json for _, row in rows]
                started, cpu = time.perf_counter(), time.process_time()
                with httpx.Client(headers={"Authorization": f"Bearer {creds['token']}"}, timeout=30) as plain:
                    for body in bodies:
                        plain.post(f"{creds['base_url']}/tickets", json=body).raise_for_status().json()
                cpu_ms["raw"].append((time.process_time() - cpu) * 1000 / records)
                return time.perf_counter() - started

            def ours(concurrency: int = 1) -> float:
                rows = ticket_rows(records, mailbox, f"ours{next(counter)}-")
                with tempfile.TemporaryDirectory() as tmp, Store(str(Path(tmp) / "push.duckdb")) as db:
                    pusher = Pusher(client, "groove-helpdesk", action, db, mapping=MAP, concurrency=concurrency)
                    started, cpu = time.perf_counter(), time.process_time()
                    result = pusher.run(rows)
                    seconds = time.perf_counter() - started
                    if concurrency == 1:  # the client's CPU (the ledger writer's thread included)
                        cpu_ms["ours"].append((time.process_time() - cpu) * 1000 / records)
                done[concurrency] = result.done
                return seconds

            done: dict[int, int] = {}
            cpu_ms: dict[str, list[float]] = {"ours": [], "raw": []}
            pairs = paired(ours, raw, runs)
            four = ours(4)
    ratios = [r / o for o, r in pairs]
    ours_s = statistics.median(o for o, _ in pairs)
    raw_s = statistics.median(r for _, r in pairs)
    rows_out.append(
        (
            f"push create_ticket, ledger + responses ({done[1]:,} records, concurrency 1)",
            f"{done[1] / ours_s:,.0f} rec/s",
            f"median {ours_s:.2f} s, {statistics.median(cpu_ms['ours']):.2f} ms CPU/rec",
            f"vs raw {median_goal(ratios, 0.9, at_least=True)}",
        )
    )
    rows_out.append(
        (
            f"push create_ticket, ledger + responses ({done[4]:,} records, concurrency 4)",
            f"{done[4] / four:,.0f} rec/s",
            f"{four:.2f} s (1 run)",
            f"{raw_s / four:.2f}x raw",
        )
    )
    rows_out.append(
        (
            "raw httpx loop posting the same bodies (no ledger)",
            f"{records / raw_s:,.0f} rec/s",
            f"median {raw_s:.2f} s, {statistics.median(cpu_ms['raw']):.2f} ms CPU/rec",
            "1.00x",
        )
    )
    return rows_out
