"""The rate-limited bench starts a long-window run at a set phase of the server's window (issue 15):
where a run starts decides its optimum, so without it one run measured 2.3x and the next 1.0x."""

from __future__ import annotations

import time

from bench.connector_bench import align_window

from engagesync.sandbox.app import Sandbox


def test_align_window_puts_the_server_a_set_lead_before_its_window_ends(live_sandbox: Sandbox) -> None:
    url = str(live_sandbox.url)
    for lead in (15.0, 50.0):
        offset = align_window(url, 60.0, lead)
        server = time.time() + offset
        assert abs(server - live_sandbox.ctx.clock.now()) < 0.5  # the offset is the server's clock minus ours
        assert 60.0 - lead - 0.5 < server % 60.0 <= 60.0 - lead + 0.5, server % 60.0
