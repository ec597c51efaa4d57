"""Sandbox throughput (a 50-ticket page over loopback) vs a bare Starlette endpoint; bulk seed time."""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import httpx

from .harness import free_port, goal, hammer, process, sandbox_server

Row = tuple[str, str, str, str]


def page_throughput(seconds: float = 5.0) -> list[Row]:
    rows: list[Row] = []
    with sandbox_server("--no-rate-limits", "--count", "groove-helpdesk.tickets=500") as url:
        creds = httpx.get(f"{url}/_sandbox/credentials").json()["groove-helpdesk"]
        with httpx.Client(headers={"Authorization": f"Bearer {creds['token']}"}, timeout=30) as client:
            page_url = f"{creds['base_url']}/tickets"
            payload = client.get(page_url, params={"per_page": "50"}).content
            sandbox = hammer(client, page_url, seconds, params={"per_page": "50"})
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        f.write(payload)
    port = free_port()
    bare_url = f"http://127.0.0.1:{port}/page"
    try:
        with (
            process(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "bench.bare_app:app",
                    "--port",
                    str(port),
                    "--log-level",
                    "warning",
                    "--no-access-log",
                ],
                bare_url,
                env={"BENCH_PAYLOAD": f.name},
            ),
            httpx.Client(timeout=30) as client,
        ):
            bare = hammer(client, bare_url, seconds)
    finally:
        Path(f.name).unlink(missing_ok=True)
    rows.append(
        (
            "sandbox: GET /tickets?per_page=50 (loopback)",
            f"{sandbox.rps:,.0f} req/s",
            f"p50 {sandbox.p50:.2f} ms / p99 {sandbox.pct(0.99):.2f} ms",
            f"vs bare {goal(sandbox.rps / bare.rps, 0.5, at_least=True)}",
        )
    )
    rows.append(
        (
            f"bare Starlette, same {len(payload):,}-byte page",
            f"{bare.rps:,.0f} req/s",
            f"p50 {bare.p50:.2f} ms / p99 {bare.pct(0.99):.2f} ms",
            "1.00x",
        )
    )
    return rows


def bulk_seed(tickets: int = 100_000) -> list[Row]:
    from engagesync.testing import make_sandbox

    counts = {"groove-helpdesk.tickets": tickets, "groove-helpdesk.customers": tickets // 5}
    started = time.perf_counter()
    with make_sandbox(counts=counts) as sandbox:
        elapsed = time.perf_counter() - started
        store = sandbox.ctx.store
        n_tickets = store.scalar("SELECT COUNT(*) FROM gh_tickets")
        n_messages = store.scalar("SELECT COUNT(*) FROM gh_messages")
        n_customers = store.scalar("SELECT COUNT(*) FROM gh_customers")
    return [
        (
            f"bulk seed {n_tickets:,} tickets + {n_messages:,} messages + {n_customers:,} customers",
            f"{elapsed:.2f} s",
            f"{n_tickets / elapsed:,.0f} tickets/s",
            "goal: seconds",
        )
    ]
