"""Connector benchmarks: pull throughput vs a raw httpx loop; rate-limited runs vs a naive client and
the optimum the server's algorithm permits."""

from __future__ import annotations

import random
import tempfile
import time
from pathlib import Path

import httpx

from engagesync.apis.groove_helpdesk import connector
from engagesync.ratemodel import optimal_schedule
from engagesync.sync import connectors
from engagesync.sync.connections import Connection
from engagesync.sync.pull import pull
from engagesync.sync.store import Store

from .harness import goal, sandbox_server

Row = tuple[str, str, str, str]


def pull_throughput(tickets: int = 20_000) -> list[Row]:
    with sandbox_server(
        "--no-rate-limits",
        "--count",
        f"groove-helpdesk.tickets={tickets}",
        "--count",
        f"groove-helpdesk.customers={tickets // 5}",
    ) as url:
        creds = httpx.get(f"{url}/_sandbox/credentials").json()["groove-helpdesk"]
        headers = {"Authorization": f"Bearer {creds['token']}"}
        # raw loop: the same pages, parsed, nothing stored
        started = time.perf_counter()
        raw_records = 0
        with httpx.Client(headers=headers, timeout=30) as client:
            page = 1
            while True:
                body = client.get(f"{creds['base_url']}/tickets", params={"page": page, "per_page": 50}).json()
                raw_records += len(body["tickets"])
                if not body["meta"]["pagination"]["next_page"]:
                    break
                page += 1
        raw = time.perf_counter() - started
        with tempfile.TemporaryDirectory() as tmp:
            db = Store(str(Path(tmp) / "bench.duckdb"))
            with connector.make_client(creds["base_url"], creds["token"]) as client:
                started = time.perf_counter()
                result = pull(client, "groove-helpdesk", connector.streams(), ["tickets"], db)
                ours = time.perf_counter() - started
            db.close()
    records = result.records
    return [
        (
            f"pull tickets into DuckDB ({records:,} records, loopback)",
            f"{records / ours:,.0f} rec/s",
            f"{ours:.2f} s, {result.requests} requests",
            f"raw loop ratio {goal(raw / ours, 0.9, at_least=True)}",
        ),
        ("raw httpx loop over the same pages (no store)", f"{raw_records / raw:,.0f} rec/s", f"{raw:.2f} s", "1.00x"),
    ]


def naive_get(client: httpx.Client, url: str, rng: random.Random) -> int:
    """What most clients do: send, and on 429 back off exponentially (with jitter) and try again."""
    refused = 0
    delay = 0.25
    while True:
        response = client.get(url)
        if response.status_code != 429:
            return refused
        refused += 1
        time.sleep(delay * rng.uniform(0.5, 1.5))
        delay = min(delay * 2, 8.0)


def rate_limited(requests: int = 120, limit: int = 20, window: float = 2.0) -> list[Row]:
    """Two budgets, neither told the window by an environment variable: one from ``connect --sandbox``
    (the sandbox's configured limit recorded in the connection), one on the connector's 60 s default
    that learns the window from the headers; then a naive client; all against the optimum."""
    rows: list[Row] = []
    label = f"{requests} requests under {limit} per {window:g} s"
    with sandbox_server("--count", "groove-helpdesk.tickets=50") as url:
        httpx.put(f"{url}/_sandbox/rate-limits/groove-helpdesk", json={"limit": limit, "window_seconds": window})
        creds = httpx.get(f"{url}/_sandbox/credentials").json()["groove-helpdesk"]

        def fresh_window() -> float:
            # start each contender on an idle credential: wait out two windows
            time.sleep(2 * window + 0.1)
            return time.time()

        base_url, secrets, settings = connectors.from_sandbox("groove-helpdesk", creds)
        recorded = Connection("groove-helpdesk", "groove-helpdesk", base_url, secrets, settings)
        for name, make, target in (
            ("connect --sandbox (limit recorded)", lambda: connectors.client_for(recorded), 1.02),
            (
                "window learned (60 s default)",
                lambda: connector.make_client(creds["base_url"], creds["token"]),
                1.02,
            ),
        ):
            start = fresh_window()
            with make() as client:
                for _ in range(requests):
                    client.get("mailboxes")
                ours = time.time() - start
                refused = client.stats["rate_limited"]
                learned = client.budget.window_seconds
            optimum = optimal_schedule(requests, limit, window, start=start)[-1] - start
            rows.append(
                (
                    f"engagesync budget, {name}: {label}",
                    f"{ours:.2f} s",
                    f"{refused} x 429, window {learned:g} s",
                    f"vs optimum {goal(ours / optimum, target, at_least=False)}; "
                    f"429s {goal(refused, 0, at_least=False, unit='')}",
                )
            )

        start = fresh_window()
        naive_429 = 0
        rng = random.Random(1)
        with httpx.Client(headers={"Authorization": f"Bearer {creds['token']}"}, timeout=30) as plain:
            for _ in range(requests):
                naive_429 += naive_get(plain, f"{creds['base_url']}/mailboxes", rng)
        naive = time.time() - start
        optimum = optimal_schedule(requests, limit, window, start=start)[-1] - start
    rows.append(
        (
            f"naive retry-on-429 client: {label}",
            f"{naive:.2f} s",
            f"{naive_429} x 429",
            f"{naive / optimum:.3f}x optimum",
        )
    )
    rows.append(("optimum from the server's algorithm", f"{optimum:.2f} s", "0 x 429", "1.000x"))
    return rows
