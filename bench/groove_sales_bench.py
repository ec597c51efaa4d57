"""Groove sales push under the rate limit: aliased mutations (many records per request) vs one
``addPersonToFlow`` per request, both through the Pusher (ledger, responses) and the rate budget.

The real limit is 100 requests a minute per token; to keep the run short the sandbox is set to 20 per
2 s (600 a minute, same sliding-window algorithm). Both contenders make the same number of requests,
so they take about as long; what differs is how many records those requests carry. At Groove's real
100/min, records/min scale by 100/600: one per request moves 100 records a minute, aliases move
``batch`` times that.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import httpx

from engagesync.apis.groove_sales import connector
from engagesync.ratemodel import optimal_schedule, window_index
from engagesync.sync import connectors
from engagesync.sync.connections import Connection
from engagesync.sync.push import Pusher
from engagesync.sync.store import Store

from .harness import goal, sandbox_server

Row = tuple[str, str, str, str]


def paced_optimum(count: int, limit: int, window: float, cycle: float, start: float) -> float:
    """When the last of ``count`` requests could go at best if each also takes ``cycle`` seconds (the
    measured request cycle): the optimum for a client that cannot send a burst all at once."""
    index, previous, current, now = window_index(start, window), 0, 0, start
    sent = start
    for _ in range(count):
        sent = optimal_schedule(1, limit, window, start=now, previous=previous, current=current)[0]
        new = window_index(sent, window)
        if new != index:
            previous, current, index = (current if new == index + 1 else 0), 0, new
        current += 1
        now = sent + cycle
    return sent


def alias_push(requests: int = 60, batch: int = 25, limit: int = 20, window: float = 2.0) -> list[Row]:
    people = requests * batch + requests
    rows: list[Row] = []
    with sandbox_server("--count", f"groove-sales.people={people}", "--count", "groove-sales.person_flows=0") as url:
        httpx.put(f"{url}/_sandbox/rate-limits/groove-sales", json={"limit": limit, "window_seconds": window})
        creds = httpx.get(f"{url}/_sandbox/credentials").json()["groove-sales"]
        flow = creds["samples"]["flow_ids"][0]
        first_person = int(creds["samples"]["person_ids"][0])
        action = connector.actions()["add_person_to_flow"]
        results = {}
        offset = 0
        for label, per_request, records in (("aliases", batch, requests * batch), ("one per request", 1, requests)):
            base_url, secrets, settings = connectors.from_sandbox("groove-sales", creds)  # fresh token, fresh window
            connection = Connection("groove-sales", "groove-sales", base_url, secrets, settings)
            data = [(i + 2, {"flowId": flow, "personId": str(first_person + offset + i)}) for i in range(records)]
            offset += records
            with (
                tempfile.TemporaryDirectory() as tmp,
                Store(str(Path(tmp) / "gs.duckdb")) as db,
                connectors.client_for(connection) as client,  # the window recorded by from_sandbox
            ):
                start = time.time()
                result = Pusher(client, "groove-sales", action, db, batch_size=per_request).run(iter(data))
                elapsed = time.time() - start
                optimum = optimal_schedule(client.stats["requests"], limit, window, start=start)[-1] - start
                busy = (elapsed - client.budget.waited_seconds) / max(1, client.stats["requests"])
                paced = paced_optimum(client.stats["requests"], limit, window, busy, start) - start
                results[label] = (
                    result.done,
                    client.stats["requests"],
                    elapsed,
                    optimum,
                    client.stats["rate_limited"],
                    busy,
                    paced,
                )
    spacing = window / limit
    for label, (done, sent, elapsed, optimum, refused, busy, paced) in results.items():
        per_min = done / elapsed * 60
        # Past the first burst the window admits one request per `spacing`; a request cycle (ledger
        # writes + round trip + server time) longer than that makes the push latency-bound, not budget-bound.
        bound = (
            f"latency-bound: {busy * 1000:.0f} ms per request cycle > {spacing * 1000:.0f} ms spacing"
            if busy > spacing
            else f"window-bound: {busy * 1000:.0f} ms per request cycle < {spacing * 1000:.0f} ms spacing"
        )
        rows.append(
            (
                f"groove-sales push, {label} ({done:,} records in {sent} requests, {limit}/{window:g}s)",
                f"{per_min:,.0f} rec/min",
                f"{elapsed:.2f} s, {refused} x 429",
                f"{elapsed / optimum:.3f}x optimum; at that cycle {goal(elapsed / paced, 1.05, at_least=False)}, "
                f"429s {goal(refused, 0, at_least=False, unit='')} ({bound}); at 100/min: "
                f"{per_min * 100 / (limit * 60 / window):,.0f} rec/min",
            )
        )
    aliases, single = results["aliases"], results["one per request"]
    ratio = (aliases[0] / aliases[2]) / (single[0] / single[2])
    rows.append(
        ("groove-sales aliases vs one mutation per request", f"{ratio:.1f}x", "records per minute", f"batch {batch}")
    )
    return rows
