"""Where a sandbox page's time goes: ``python -m bench.sandbox_profile [REQUESTS] [--tree] [--after-write]``.

Calls the sandbox's ASGI app directly with the scope uvicorn would build (no socket, no HTTP client),
so both figures hold only the sandbox's own work for ``GET /groove-helpdesk/v1/tickets?per_page=50``
over a 500-ticket seed: CPU ms per request (``time.process_time``, which other processes on a shared
machine do not inflate), then a pyinstrument (bench-only extra) profile summed into components, each
sample charged to the innermost frame that names one (so SQLite called from rendering counts as
SQLite). ``--tree`` also prints pyinstrument's call tree. ``--after-write`` writes to the store
before each request (outside the measured time): the page a client reads after the data changed,
which runs the list query instead of reusing the page built for the unchanged data.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections import Counter
from typing import Any

from engagesync.testing import make_sandbox

#: (component, substrings of a frame's "file:function"), checked innermost frame first.
COMPONENTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("SQLite (queries, row fetch)", ("sqlite3", "sandbox/store.py")),
    ("JSON encoding", ("json/encoder.py", "json/__init__.py:dumps", "responses.py:render", "ticket_cache.py:dumps")),
    (
        "rendering rows",
        ("ticket_store.py", "ticket_cache.py", "sandbox/clock.py:iso8601", "emulator/people.py"),
    ),
    ("list handler (params, paging, meta)", ("emulator/tickets.py", "emulator/common.py")),
    ("gate: journal", ("sandbox/journal.py", "gate.py:_journaled", "gate.py:tee")),
    ("gate: rate limit", ("sandbox/ratelimit.py", "ratemodel", "rate_limit_for")),
    ("gate: auth", ("authenticate", "sandbox/auth.py")),
    ("gate: faults", ("sandbox/faults.py",)),
    ("gate (rest) and dispatch", ("sandbox/gate.py", "sandbox/app.py", "sandbox/clock.py")),
    ("Starlette (routing, request, response)", ("starlette/",)),
)


def component(frame_id: str) -> str | None:
    for name, needles in COMPONENTS:
        if any(needle in frame_id for needle in needles):
            return name
    return None


def summarize(root: Any) -> Counter[str]:
    """Seconds per component: each frame's own time goes to the innermost enclosing named component."""
    totals: Counter[str] = Counter()
    stack: list[tuple[Any, str]] = [(root, "other (asyncio, bench driver)")]
    while stack:
        frame, current = stack.pop()
        named = component(f"{frame.file_path or ''}:{frame.function or ''}")
        current = named or current
        own = frame.time - sum(child.time for child in frame.children)
        totals[current] += max(0.0, own)
        stack.extend((child, current) for child in frame.children)
    return totals


def _scope(path: str, query: bytes, token: str) -> dict[str, Any]:
    """What uvicorn hands the app for a loopback GET (the headers httpx sends)."""
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "root_path": "",
        "headers": [
            (b"host", b"127.0.0.1:8765"),
            (b"accept", b"*/*"),
            (b"accept-encoding", b"gzip, deflate"),
            (b"connection", b"keep-alive"),
            (b"user-agent", b"python-httpx/0.28.1"),
            (b"authorization", f"Bearer {token}".encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8765),
        "state": {},
    }


async def _run(requests: int, tree: bool, after_write: bool = False) -> None:
    from pyinstrument import Profiler

    sandbox = make_sandbox(limits=False, counts={"groove-helpdesk.tickets": 500})
    creds = sandbox.credentials()["groove-helpdesk"]
    path = creds["base_url"].removeprefix("http://sandbox") + "/tickets"
    body_size = 0
    spent = [0.0]  # CPU seconds inside the app

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def one() -> None:
        nonlocal body_size
        status: list[int] = []
        chunks: list[bytes] = []

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        if after_write:  # a new version of the data: the page cannot be the one built before
            sandbox.ctx.store.set_meta("bench-touch", time.perf_counter())
        started = time.process_time()
        await sandbox.app(_scope(path, b"per_page=50", creds["token"]), receive, send)
        spent[0] += time.process_time() - started
        if status != [200]:
            raise RuntimeError(f"GET {path} answered {status}")
        body_size = sum(map(len, chunks))

    try:
        for _ in range(50):  # warm-up
            await one()
        spent[0], wall = 0.0, time.perf_counter()
        for _ in range(requests):
            await one()
        cpu, wall = spent[0], time.perf_counter() - wall
        profiler = Profiler(interval=0.0002, async_mode="disabled")
        profiler.start()
        for _ in range(requests):
            await one()
        profiler.stop()
    finally:
        sandbox.close()
    print(
        f"{requests} x GET {path}?per_page=50 ({body_size:,} bytes) straight into the ASGI app"
        f"{', each after a write' if after_write else ''}: "
        f"{cpu * 1000 / requests:.3f} ms CPU per request ({wall * 1000 / requests:.3f} ms wall, writes included), "
        f"{requests / cpu:,.0f} requests per CPU second"
    )
    session = profiler.last_session
    root = session.root_frame() if session else None
    if root is None:
        return
    totals = summarize(root)
    whole = sum(totals.values()) or 1.0
    print("where the time goes (pyinstrument samples, innermost named component):")
    for name, seconds in totals.most_common():
        print(f"  {seconds / whole:6.1%}  {name}")
    if tree:
        print(profiler.output_text(unicode=False, color=False, show_all=False, time="percent_of_total"))


def main(argv: list[str]) -> None:
    flags = {"--tree", "--after-write"}
    numbers = [a for a in argv if a not in flags]
    asyncio.run(_run(int(numbers[0]) if numbers else 500, "--tree" in argv, "--after-write" in argv))


if __name__ == "__main__":
    main(sys.argv[1:])
