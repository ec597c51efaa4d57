"""Sandbox throughput (a 50-ticket page over loopback) vs a bare Starlette endpoint; bulk seed time."""

from __future__ import annotations

import contextlib
import os
import statistics
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


def _children() -> dict[int, str]:
    """This process's child processes (pid -> command line), on Linux; empty elsewhere."""
    out: dict[int, str] = {}
    for tasks in Path("/proc/self/task").glob("*/children"):
        for pid in tasks.read_text().split():
            with contextlib.suppress(OSError):
                out[int(pid)] = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    return out


def _server_pid(marker: str) -> int | None:
    return next((pid for pid, cmd in _children().items() if marker in cmd), None)


def _cpu_seconds(pid: int | None) -> float:
    """User + system CPU of ``pid`` so far (``/proc/<pid>/stat``); 0 where that is unreadable."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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
        # server CPU per request: what the handlers cost, whatever else the shared machine runs
        cpu: dict[str, list[float]] = {"sandbox": [], "bare": []}
        try:
            with (
                process(_bare_argv(port), bare_url, env={"BENCH_PAYLOAD": f.name}),
                httpx.Client(headers=headers, timeout=30) as client,
            ):
                pids = {"sandbox": _server_pid("sandbox serve"), "bare": _server_pid("bench.bare_app")}

                def measured(side: str, url: str, params: dict[str, str] | None) -> float:
                    before = _cpu_seconds(pids[side])
                    results[side].append(hammer(client, url, seconds, params=params))
                    requests = results[side][-1].count + 20  # hammer's warm-up requests count too
                    cpu[side].append((_cpu_seconds(pids[side]) - before) / requests)
                    return results[side][-1].rps

                def sandbox() -> float:
                    return measured("sandbox", page_url, {"per_page": "50"})

                def bare() -> float:
                    return measured("bare", bare_url, None)

                ratios = [s / b for s, b in paired(sandbox, bare, runs)]
        finally:
            Path(f.name).unlink(missing_ok=True)
    cpu_ms = {side: statistics.median(values) * 1000 for side, values in cpu.items()}
    ours = sorted(results["sandbox"], key=lambda lat: lat.rps)[len(results["sandbox"]) // 2]
    base = sorted(results["bare"], key=lambda lat: lat.rps)[len(results["bare"]) // 2]
    rows.append(
        (
            "sandbox: GET /tickets?per_page=50 (loopback), the same page again, data unchanged",
            f"{ours.rps:,.0f} req/s",
            f"p50 {ours.p50:.2f} ms / p99 {ours.pct(0.99):.2f} ms; server CPU {cpu_ms['sandbox']:.2f} ms/request",
            f"vs bare {median_goal(ratios, 0.5, at_least=True)}; by server CPU "
            + (f"{cpu_ms['bare'] / cpu_ms['sandbox']:.2f}x" if cpu_ms["sandbox"] and cpu_ms["bare"] else "n/a"),
        )
    )
    rows.append(
        (
            f"bare Starlette, same {len(payload):,}-byte page",
            f"{base.rps:,.0f} req/s",
            f"p50 {base.p50:.2f} ms / p99 {base.pct(0.99):.2f} ms; server CPU {cpu_ms['bare']:.2f} ms/request",
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
