"""Incremental pull benchmark: what a second pull of unchanged Groove helpdesk tickets (and their
messages) costs in requests and rows written, and what a pull after 1% of the tickets changed costs."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import httpx

from engagesync.apis.groove_helpdesk import connector
from engagesync.apis.groove_helpdesk.connector import GrooveHelpdesk
from engagesync.sync.pull import PullResult, pull
from engagesync.sync.store import Store

from .harness import goal, sandbox_server

Row = tuple[str, str, str, str]
STREAMS = ["tickets", "messages"]


def _figures(result: PullResult) -> tuple[int, int, int]:
    """(tickets written, message requests, messages written)."""
    tickets, messages = result.streams["tickets"], result.streams["messages"]
    return tickets.new + tickets.changed, messages.requests, messages.new + messages.changed


def incremental(tickets: int = 20_000, changed_share: float = 0.01) -> list[Row]:
    with (
        sandbox_server(
            "--no-rate-limits",
            "--count",
            f"groove-helpdesk.tickets={tickets}",
            "--count",
            "groove-helpdesk.messages_per_ticket=1",
            ready_timeout=120,
        ) as url,
        tempfile.TemporaryDirectory() as tmp,
    ):
        creds = httpx.get(f"{url}/_sandbox/credentials").json()["groove-helpdesk"]
        with (
            Store(str(Path(tmp) / "bench.duckdb")) as db,
            connector.make_client(creds["base_url"], creds["token"]) as client,
        ):
            streams = connector.streams()
            started = time.perf_counter()
            first = pull(client, "groove-helpdesk", streams, STREAMS, db)
            first_s = time.perf_counter() - started
            started = time.perf_counter()
            second = pull(client, "groove-helpdesk", streams, STREAMS, db)
            second_s = time.perf_counter() - started
            changed = max(1, int(tickets * changed_share))
            api = GrooveHelpdesk(client)
            for number in range(1, tickets + 1, tickets // changed):
                api.create_message(number, body="bench: one more", note=True)
            started = time.perf_counter()
            third = pull(client, "groove-helpdesk", streams, STREAMS, db)
            third_s = time.perf_counter() - started
    rows: list[Row] = []
    t, m_req, m_rows = _figures(first)
    rows.append(
        (
            f"first pull: {tickets:,} tickets + messages",
            f"{first.requests:,} requests",
            f"{first_s:.1f} s; {t:,} tickets, {m_rows:,} messages written",
            "baseline",
        )
    )
    t, m_req, m_rows = _figures(second)
    rows.append(
        (
            "second pull, nothing changed",
            f"{second.requests:,} requests ({m_req} for messages)",
            f"{second_s:.1f} s; {second.written:,} rows written",
            f"rows {goal(second.written, 0, at_least=False, unit='')}; "
            f"message requests {goal(m_req, 0, at_least=False, unit='')}",
        )
    )
    t, m_req, m_rows = _figures(third)
    rows.append(
        (
            f"pull after {changed_share:.0%} changed ({changed:,} tickets got a message)",
            f"{third.requests:,} requests ({m_req} for messages)",
            f"{third_s:.1f} s; {t:,} tickets, {m_rows:,} messages written",
            f"tickets written {goal(t, changed, at_least=False, unit='')}; "
            f"message requests {goal(m_req, changed, at_least=False, unit='')}",
        )
    )
    return rows
