"""Where a sandbox page's time goes: ``python -m bench.sandbox_profile [REQUESTS]``.

Runs the sandbox's ASGI app in this thread (httpx's ASGI transport, no socket, so the profile holds
only the sandbox's own work: gate, journal, handler, SQL, rendering, JSON) under pyinstrument (a
bench-only extra), ``GET /groove-helpdesk/v1/tickets?per_page=50`` over a 500-ticket seed. Prints
ms per request and pyinstrument's call tree trimmed to the frames above 2% of the time.
"""

from __future__ import annotations

import asyncio
import sys
import time

from engagesync.testing import make_sandbox


async def _run(requests: int) -> None:
    from pyinstrument import Profiler

    sandbox = make_sandbox(limits=False, counts={"groove-helpdesk.tickets": 500})
    creds = sandbox.credentials()["groove-helpdesk"]
    url = f"{creds['base_url']}/tickets"
    headers = {"Authorization": f"Bearer {creds['token']}"}
    params = {"per_page": "50"}
    try:
        async with sandbox.async_client(headers=headers) as client:
            for _ in range(30):  # warm-up
                (await client.get(url, params=params)).raise_for_status()
            started = time.perf_counter()
            for _ in range(requests):
                (await client.get(url, params=params)).raise_for_status()
            plain = time.perf_counter() - started
            profiler = Profiler(interval=0.0005, async_mode="disabled")
            started = time.perf_counter()
            profiler.start()
            for _ in range(requests):
                (await client.get(url, params=params)).raise_for_status()
            profiler.stop()
            elapsed = time.perf_counter() - started
    finally:
        sandbox.close()
    print(
        f"{requests} requests in-process: {plain * 1000 / requests:.2f} ms per request unprofiled, "
        f"{elapsed * 1000 / requests:.2f} ms profiled"
    )
    print(profiler.output_text(unicode=False, color=False, show_all=False, time="percent_of_total"))


def main(argv: list[str]) -> None:
    asyncio.run(_run(int(argv[0]) if argv else 300))


if __name__ == "__main__":
    main(sys.argv[1:])
