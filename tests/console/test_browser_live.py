"""The console's live parts in a real browser: Pull now with live progress, the Test tab before saving,
the response-webhook headers field. Same Chromium, sandbox and screenshots as ``test_browser``."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from playwright.sync_api import Page, expect, sync_playwright

from engagesync.console import Guard, create_app
from engagesync.sandbox.app import Sandbox
from tests.cli_helpers import run_cli
from tests.console.test_browser import ARGS, CHROMIUM, SHOTS, _outbox  # also skips without Chromium

TICKETS = 1000  # 20 pages of 50


def _serve(app: Any) -> Iterator[str]:
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    server.should_exit = True
    thread.join(10)


@pytest.fixture
def console(home: Path, live_sandbox: Sandbox) -> Iterator[tuple[str, Guard, str]]:
    live_sandbox.reset(seed=0, counts={"groove-helpdesk.tickets": TICKETS})
    assert run_cli("connect", "--sandbox", str(live_sandbox.url))[0] == 0
    store = str(home / "store.duckdb")
    _outbox(store, live_sandbox, 0, 4)
    guard = Guard()
    for url in _serve(create_app(store, str(live_sandbox.url), guard)):
        yield url, guard, store


@pytest.fixture
def page() -> Iterator[Page]:
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        tab = browser.new_page(viewport={"width": 1400, "height": 1000})
        tab.set_default_timeout(20_000)
        yield tab
        browser.close()


def _shot(page: Page, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _records(page: Page) -> int:
    return int(page.locator("#pull-progress").get_attribute("data-records") or "0")


def test_pull_now_shows_live_progress_then_the_new_row_counts(
    console: tuple[str, Guard, str], live_sandbox: Sandbox, page: Page
) -> None:
    url, guard, _ = console
    # each ticket page takes 250 ms: the 20 pages take about 5 s, committed (and reported) about every second
    slow = {"match": {"api": "groove-helpdesk", "method": "GET", "path": "/tickets"}, "effect": {"latency": 250}}
    live_sandbox.ctx.faults.replace([slow])
    page.goto(f"{url}/streams?token={guard.token}")
    tickets = page.locator("#streams tr", has=page.locator('a:text-is("tickets")'))
    expect(tickets.locator("td").nth(1)).to_have_text("0")
    tickets.locator("button", has_text="Pull now").click()

    progress = page.locator("#pull-progress")
    expect(progress).to_contain_text("pulling groove-helpdesk/tickets")
    page.wait_for_function(
        "() => { const p = document.querySelector('#pull-progress');"
        " return p.dataset.state === 'running' && Number(p.dataset.records) > 0; }"
    )
    first = _records(page)
    assert 0 < first < TICKETS
    expect(progress).to_contain_text(f"{first:,} records")
    _shot(page, "streams-pulling")

    # a second click while it runs: told so, and the page follows the running pull
    tickets = page.locator("#streams tr", has=page.locator('a:text-is("tickets")'))
    tickets.locator("button", has_text="Pull now").click()
    expect(page.locator("#error")).to_contain_text("a pull is already running")
    page.wait_for_function(
        f"() => {{ const p = document.querySelector('#pull-progress');"
        f" return p.dataset.state === 'running' && Number(p.dataset.records) > {first}; }}"
    )
    assert first < _records(page) < TICKETS  # the count grew while the pull was still running

    # another page answers while the pull runs (it reads between the pull's commits)
    other = page.request.get(f"{url}/destinations")
    assert other.status == 200 and "<h1>Destinations</h1>" in other.text()
    assert progress.get_attribute("data-state") == "running"

    expect(progress).to_have_attribute("data-state", "done", timeout=30_000)
    expect(progress).to_contain_text(f"tickets complete ({TICKETS:,} read, {TICKETS:,} new, 0 changed)")
    expect(tickets.locator("td").nth(1)).to_have_text(str(TICKETS))
    expect(tickets.locator("td").nth(2)).to_have_text("complete")
    _shot(page, "streams-pulled")
