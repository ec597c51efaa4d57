"""Webhook receiver: events/s a loopback sender sustains against `engagesync listen` (Standard Webhooks
HMAC verification, dedupe, commit to DuckDB before each 2xx) with 0 lost, and p50/p99 acknowledgement
latency, next to a bare Starlette endpoint that only answers 200. Median of 3 runs, range shown."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import httpx

from engagesync.sync.store import table_for
from engagesync.sync.webhooks import verify
from engagesync.sync.webhooks.endpoints import Endpoint, EndpointFile

from .harness import free_port, wait_ready

Row = tuple[str, str, str, str]
SECRET = verify.new_hmac_secret()
#: The goal: nothing lost, and at least half the rate the same loopback sender drives into a bare
#: endpoint (the Python sender itself is the ceiling on a small machine), and never under 200 events/s.
GOAL_RATIO = 0.5
GOAL_EVENTS_PER_S = 200.0


async def _send(url: str, events: int, concurrency: int) -> tuple[float, list[float], int]:
    """(seconds, ack latencies, 503s retried) for ``events`` signed deliveries, ``concurrency`` at a time."""
    latencies: list[float] = []
    busy = 0
    todo = iter(range(events))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal busy
        for i in todo:
            body = json.dumps({"type": "bench.event", "data": {"n": i, "text": "x" * 200}}).encode()
            while True:
                headers = {**_headers(f"msg_{i}", body), "content-type": "application/json"}
                t0 = time.perf_counter()
                response = await client.post(url, content=body, headers=headers)
                if response.status_code == 503:  # the receiver's back-pressure: retry as a sender would
                    busy += 1
                    await asyncio.sleep(float(response.headers.get("Retry-After", "1")) / 100)
                    continue
                response.raise_for_status()
                latencies.append(time.perf_counter() - t0)
                break

    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        started = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        return time.perf_counter() - started, latencies, busy


def _headers(msg_id: str, body: bytes) -> dict[str, str]:
    stamp = int(time.time())
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(stamp),
        "webhook-signature": verify.standard_sign(SECRET, msg_id, stamp, body),
    }


def _run(
    args: list[str], port: int, env: dict[str, str], events: int, concurrency: int
) -> tuple[float, list[float], int]:
    proc = subprocess.Popen(args, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_ready(f"http://127.0.0.1:{port}/health")
        return asyncio.run(_send(f"http://127.0.0.1:{port}/hooks/bench/tok", events, concurrency))
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)


def _pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def receiver_throughput(events: int = 3000, concurrency: int = 16, runs: int = 3) -> list[Row]:
    figures: dict[str, list[tuple[float, float, float, int, int]]] = {"listen": [], "bare": []}
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            home = Path(tmp) / "home"
            EndpointFile(home / "webhooks.json").put(Endpoint("bench", "standard", "tok", secrets=[SECRET]))
            store = Path(tmp) / "events.duckdb"
            port = free_port()
            cmd = [sys.executable, "-m", "engagesync.cli.main", "listen", "--port", str(port), "--store", str(store)]
            seconds, lat, busy = _run(cmd, port, {"ENGAGESYNC_HOME": str(home)}, events, concurrency)
            with duckdb.connect(str(store), read_only=True) as con:
                stored = con.execute(
                    f"SELECT count(DISTINCT id) FROM {table_for('bench', 'webhook_events')}"
                ).fetchall()[0][0]
            figures["listen"].append((events / seconds, _pct(lat, 0.5), _pct(lat, 0.99), events - stored, busy))
            port = free_port()
            bare = [
                sys.executable,
                "-m",
                "uvicorn",
                "bench.bare_hook_app:app",
                "--port",
                str(port),
                "--log-level",
                "warning",
            ]
            seconds, lat, busy = _run(bare, port, {}, events, concurrency)
            figures["bare"].append((events / seconds, _pct(lat, 0.5), _pct(lat, 0.99), 0, busy))

    def med(name: str, i: int) -> str:
        values = [f[i] for f in figures[name]]
        return f"{statistics.median(values):,.1f} ({min(values):,.1f}-{max(values):,.1f})"

    listen_rate = statistics.median(f[0] for f in figures["listen"])
    bare_rate = statistics.median(f[0] for f in figures["bare"])
    lost = max(f[3] for f in figures["listen"])
    ok = listen_rate >= max(GOAL_EVENTS_PER_S, GOAL_RATIO * bare_rate) and lost == 0
    detail = f"{events:,} events x {runs} runs, {concurrency} concurrent senders over loopback"
    return [
        (
            "webhook receiver (listen)",
            f"{med('listen', 0)} events/s",
            f"{detail}; p50 {med('listen', 1)} ms, p99 {med('listen', 2)} ms; lost {lost}; "
            f"503s retried {sum(f[4] for f in figures['listen'])}",
            f"{listen_rate / bare_rate:.2f}x bare; {'PASS' if ok else 'MISS'}: goal 0 lost and "
            f">= {GOAL_RATIO:.1f}x bare and >= {GOAL_EVENTS_PER_S:,.0f}/s",
        ),
        (
            "bare Starlette 200 (baseline)",
            f"{med('bare', 0)} events/s",
            f"same sender; p50 {med('bare', 1)} ms, p99 {med('bare', 2)} ms",
            "",
        ),
    ]
