"""GrowthGenius pull benchmark: contacts through adaptive ``updated_at`` windows into DuckDB, next to a
raw httpx loop that walks the same list with the emulator's ordering knowledge (keyset on updated_at)."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import httpx

from engagesync.apis.growthgenius import connector
from engagesync.apis.growthgenius.contract import WINDOW_LIMIT, parse_time, render_time
from engagesync.sync.pull import pull
from engagesync.sync.store import Store

from .harness import goal, sandbox_server

Row = tuple[str, str, str, str]


def pull_throughput(contacts: int = 20_000) -> list[Row]:
    with sandbox_server(
        "--no-rate-limits", "--count", f"growthgenius.contacts={contacts}", "--count", "growthgenius.messages=0"
    ) as url:
        creds = httpx.get(f"{url}/_sandbox/credentials").json()["growthgenius"]
        # raw loop: oldest-first pages, next "from" = the last record's updated_at (+1 ms); nothing stored
        started = time.perf_counter()
        raw_records = requests = 0
        with httpx.Client(headers={"Authorization": creds["api_key"]}, timeout=30) as client:
            since: str | None = None
            while True:
                params = {"user_id": creds["user_id"], **({"from": since} if since else {})}
                items = client.get(f"{creds['base_url']}/contacts", params=params).json()["contacts"]
                requests += 1
                raw_records += len(items)
                if len(items) < WINDOW_LIMIT:
                    break
                since = render_time(int(parse_time(items[-1]["updated_at"]) or 0) + 1)  # (ties ignored: raw)
        raw = time.perf_counter() - started
        with tempfile.TemporaryDirectory() as tmp:
            db = Store(str(Path(tmp) / "bench.duckdb"))
            with connector.make_client(creds["base_url"], creds["api_key"], creds["user_id"]) as api:
                started = time.perf_counter()
                result = pull(api, "growthgenius", connector.streams(), ["contacts"], db)
                ours = time.perf_counter() - started
            db.close()
    records = result.records
    return [
        (
            f"GrowthGenius: pull contacts into DuckDB ({records:,} records, windows, loopback)",
            f"{records / ours:,.0f} rec/s",
            f"{ours:.2f} s, {result.requests} requests",
            f"vs raw keyset loop {goal(raw / ours, 0.8, at_least=True)}",
        ),
        (
            "GrowthGenius: raw httpx keyset loop over the same list (no store)",
            f"{raw_records / raw:,.0f} rec/s",
            f"{raw:.2f} s, {requests} requests",
            "1.00x",
        ),
    ]
