"""GrowthGenius pull benchmark: contacts through adaptive ``updated_at`` windows into DuckDB, next to a
raw httpx loop that walks the same list with the emulator's ordering knowledge (keyset on updated_at)."""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import httpx

from engagesync.apis.growthgenius import connector
from engagesync.apis.growthgenius.contract import WINDOW_LIMIT, parse_time, render_time
from engagesync.sync.pull import pull
from engagesync.sync.store import Store

from .harness import median_goal, paired, sandbox_server

Row = tuple[str, str, str, str]


def raw_keyset(base_url: str, api_key: str, user_id: str) -> tuple[int, float, int]:
    """Oldest-first pages, next "from" = the last record's updated_at (+1 ms); nothing stored."""
    started = time.perf_counter()
    records = requests = 0
    with httpx.Client(headers={"Authorization": api_key}, timeout=30) as client:
        since: str | None = None
        while True:
            params = {"user_id": user_id, **({"from": since} if since else {})}
            items = client.get(f"{base_url}/contacts", params=params).json()["contacts"]
            requests += 1
            records += len(items)
            if len(items) < WINDOW_LIMIT:
                break
            since = render_time(int(parse_time(items[-1]["updated_at"]) or 0) + 1)  # (ties ignored: raw)
    return records, time.perf_counter() - started, requests


def pull_throughput(contacts: int = 20_000, runs: int = 3) -> list[Row]:
    with sandbox_server(
        "--no-rate-limits", "--count", f"growthgenius.contacts={contacts}", "--count", "growthgenius.messages=0"
    ) as url:
        creds = httpx.get(f"{url}/_sandbox/credentials").json()["growthgenius"]
        raw_runs: list[tuple[int, float, int]] = []
        ours_runs: list[tuple[int, float, int]] = []

        def raw() -> float:
            raw_runs.append(raw_keyset(creds["base_url"], creds["api_key"], creds["user_id"]))
            return raw_runs[-1][1]

        def ours() -> float:
            with tempfile.TemporaryDirectory() as tmp:
                db = Store(str(Path(tmp) / "bench.duckdb"))
                with connector.make_client(creds["base_url"], creds["api_key"], creds["user_id"]) as api:
                    started = time.perf_counter()
                    result = pull(api, "growthgenius", connector.streams(), ["contacts"], db)
                    ours_runs.append((result.records, time.perf_counter() - started, result.requests))
                db.close()
            return ours_runs[-1][1]

        ratios = [r / o for o, r in paired(ours, raw, runs)]
    records, _, requests = ours_runs[-1]
    ours_s = statistics.median(o[1] for o in ours_runs)
    raw_records, _, raw_requests = raw_runs[-1]
    raw_s = statistics.median(r[1] for r in raw_runs)
    return [
        (
            f"GrowthGenius: pull contacts into DuckDB ({records:,} records, windows, loopback)",
            f"{records / ours_s:,.0f} rec/s",
            f"median {ours_s:.2f} s, {requests} requests",
            f"vs raw keyset loop {median_goal(ratios, 0.8, at_least=True)}",
        ),
        (
            "GrowthGenius: raw httpx keyset loop over the same list (no store)",
            f"{raw_records / raw_s:,.0f} rec/s",
            f"median {raw_s:.2f} s, {raw_requests} requests",
            "1.00x",
        ),
    ]
