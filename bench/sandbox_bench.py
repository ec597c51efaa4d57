"""Sandbox throughput (a 50-ticket page over loopback) vs a bare Starlette endpoint; bulk seed time."""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import httpx

from .harness import Latency, free_port, hammer, median_goal, paired, process, sandbox_server

Row = tuple[str, str, str, str]


def _bare_argv(port: int) -> list[str]:
    """The bare endpoint on uvicorn's fast stack (uvloop, httptools) where installed, like the sandbox."""
    from engagesync.sandbox.serving import fast_stack

    extra: list[str] = []
    for key, value in fast_stack().items():
        extra += [f"--{key}", value]
    app = "bench.bare_app:app"
    return [
        sys.executable,
        "-m",
        "uvicorn",
        app,
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
        "--no-server-header",
        "--no-date-header",
        *extra,
    ]


def page_throughput(seconds: float = 5.0, runs: int = 3) -> list[Row]:
    """Both servers up at once (separate processes); each run hammers one then the other, alternating."""
    rows: list[Row] = []
    with sandbox_server("--no-rate-limits", "--count", "groove-helpdesk.tickets=500") as url:
        creds = httpx.get(f"{url}/_sandbox/credentials").json()["groove-helpdesk"]
        headers = {"Authorization": f"Bearer {creds['token']}"}
        page_url = f"{creds['base_url']}/tickets"
        with httpx.Client(headers=headers, timeout=30) as client:
            payload = client.get(page_url, params={"per_page": "50"}).content
        with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
            f.write(payload)
        port = free_port()
        bare_url = f"http://127.0.0.1:{port}/page"
        results: dict[str, list[Latency]] = {"sandbox": [], "bare": []}
        try:
            with (
                process(_bare_argv(port), bare_url, env={"BENCH_PAYLOAD": f.name}),
                httpx.Client(headers=headers, timeout=30) as client,
            ):

                def sandbox() -> float:
                    results["sandbox"].append(hammer(client, page_url, seconds, params={"per_page": "50"}))
                    return results["sandbox"][-1].rps

                def bare() -> float:
                    results["bare"].append(hammer(client, bare_url, seconds))
                    return results["bare"][-1].rps

                ratios = [s / b for s, b in paired(sandbox, bare, runs)]
        finally:
            Path(f.name).unlink(missing_ok=True)
    ours = sorted(results["sandbox"], key=lambda lat: lat.rps)[len(results["sandbox"]) // 2]
    base = sorted(results["bare"], key=lambda lat: lat.rps)[len(results["bare"]) // 2]
    rows.append(
        (
            "sandbox: GET /tickets?per_page=50 (loopback)",
            f"{ours.rps:,.0f} req/s",
            f"p50 {ours.p50:.2f} ms / p99 {ours.pct(0.99):.2f} ms",
            f"vs bare {median_goal(ratios, 0.5, at_least=True)}",
        )
    )
    rows.append(
        (
            f"bare Starlette, same {len(payload):,}-byte page",
            f"{base.rps:,.0f} req/s",
            f"p50 {base.p50:.2f} ms / p99 {base.pct(0.99):.2f} ms",
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
