"""Groove sales push under the rate limit: aliased mutations (many records per request) vs one
``addPersonToFlow`` per request, both through the Pusher (ledger, responses) and the rate budget.

The real limit is 100 requests a minute per token; to keep the run short the sandbox is set to 20 per
2 s (600 a minute, same sliding-window algorithm). Both contenders make the same number of requests,
so they take about as long; what differs is how many records those requests carry. At Groove's real
100/min, records/min scale by 100/600: one per request moves 100 records a minute, aliases move
``batch`` times that.
"""

from __future__ import annotations

import statistics
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

from .connector_bench import align_window
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


def alias_push(
    requests: int = 60, batch: int = 25, limit: int = 20, window: float = 2.0, leads: tuple[float, ...] | None = None
) -> list[Row]:
    """Each contender runs once per entry of ``leads`` (seconds before the server's window ends when it
    starts: by default 0.125, 0.425 and 0.725 into it, as the budget rows), the figure the median with
    the range; the optimum is computed from the start in the server's time (``align_window``)."""
    leads = leads or (window * 0.875, window * 0.575, window * 0.275)
    people = (requests * batch + requests) * len(leads) + requests
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
            runs = []
            for lead in leads:  # each start phase on a fresh token (a fresh window), the same records' count
                base_url, secrets, settings = connectors.from_sandbox("groove-sales", creds)
                connection = Connection("groove-sales", "groove-sales", base_url, secrets, settings)
                data = [(i + 2, {"flowId": flow, "personId": str(first_person + offset + i)}) for i in range(records)]
                offset += records
                clock = align_window(url, window, lead)
                with (
                    tempfile.TemporaryDirectory() as tmp,
                    Store(str(Path(tmp) / "gs.duckdb")) as db,
                    connectors.client_for(connection) as client,  # the window recorded by from_sandbox
                ):
                    start = time.time()
                    result = Pusher(client, "groove-sales", action, db, batch_size=per_request).run(iter(data))
                    elapsed = time.time() - start
                    sent, server_start = client.stats["requests"], start + clock
                    optimum = optimal_schedule(sent, limit, window, start=server_start)[-1] - server_start
                    busy = (elapsed - client.budget.waited_seconds) / max(1, sent)
                    paced = paced_optimum(sent, limit, window, busy, server_start) - server_start
                    runs.append((result.done, sent, elapsed, optimum, client.stats["rate_limited"], busy, paced))
            results[label] = runs
    spacing = window / limit
    for label, runs in results.items():
        done, sent = runs[0][0], runs[0][1]
        elapsed = statistics.median(r[2] for r in runs)
        refused = sum(r[4] for r in runs)
        busy = statistics.median(r[5] for r in runs)
        to_optimum = [r[2] / r[3] for r in runs]
        to_paced = [r[2] / r[6] for r in runs]
        per_min = done / elapsed * 60
        spread = f" [{min(to_paced):.3f}-{max(to_paced):.3f}] of {len(runs)}" if len(runs) > 1 else ""
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
                f"median {elapsed:.2f} s, {refused} x 429 in {len(runs)} runs",
                f"{statistics.median(to_optimum):.3f}x optimum; at that cycle "
                f"{goal(statistics.median(to_paced), 1.05, at_least=False)}{spread}, "
                f"429s {goal(refused, 0, at_least=False, unit='')} ({bound}); at 100/min: "
                f"{per_min * 100 / (limit * 60 / window):,.0f} rec/min",
            )
        )
    (a_done, _, *_rest), (s_done, *_) = results["aliases"][0], results["one per request"][0]
    a_elapsed = statistics.median(r[2] for r in results["aliases"])
    s_elapsed = statistics.median(r[2] for r in results["one per request"])
    ratio = (a_done / a_elapsed) / (s_done / s_elapsed)
    rows.append(
        ("groove-sales aliases vs one mutation per request", f"{ratio:.1f}x", "records per minute", f"batch {batch}")
    )
    return rows
