"""What the browser tests share: Debian's Chromium (required in CI, else the module is skipped), a
console served on a loopback port, screenshots under ``test-output/console/`` and the outbox source."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import uvicorn

from engagesync.console import Guard, create_app
from engagesync.sandbox.app import Sandbox
from engagesync.sync.store import Store
from tests.cli_helpers import run_cli

if TYPE_CHECKING:
    from playwright.sync_api import Page

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
SHOTS = Path(__file__).resolve().parents[2] / "test-output" / "console"


def require_chromium() -> None:
    """Call at a browser test module's top: never skipped in CI (``.ci/run`` installs Chromium)."""
    if os.path.exists(CHROMIUM):
        return
    if os.environ.get("CI") == "true":
        raise RuntimeError(f"{CHROMIUM} is missing: .ci/run installs it (apt-get install chromium)")
    pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)", allow_module_level=True)


@contextmanager
def served(app: Any) -> Iterator[str]:
    """``app`` on uvicorn on a free loopback port, in a thread: its base URL."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)


@contextmanager
def browser_page() -> Iterator[Page]:
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        tab = browser.new_page(viewport={"width": 1400, "height": 1000})
        tab.set_default_timeout(20_000)
        try:
            yield tab
        finally:
            browser.close()


def shot(page: Page, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def outbox(path: str, sandbox: Sandbox, first: int, count: int) -> None:
    """Rows ``first``.. of a ``main.outbox`` table in the store: tickets for the sandbox's first mailbox."""
    mailbox = sandbox.credentials()["groove-helpdesk"]["samples"]["mailbox_ids"][0]
    with Store(path) as db:
        db.execute(
            'CREATE TABLE IF NOT EXISTS main.outbox (n INTEGER, subject VARCHAR, body VARCHAR, "from" VARCHAR, '
            "mailbox VARCHAR, team VARCHAR)"
        )
        db.execute(
            "INSERT INTO main.outbox SELECT i, 'Outbox ' || i, 'Body ' || i, 'c' || i || '@outbox.example', ?, "
            "CASE WHEN i % 2 = 0 THEN 'red' ELSE 'blue' END FROM range(?, ?) t(i)",
            [mailbox, first, first + count],
        )


@contextmanager
def console_on(home: Path, sandbox: Sandbox, rows: int = 4) -> Iterator[tuple[str, Guard, str]]:
    """A console on a store holding ``rows`` outbox rows, every API of ``sandbox`` connected:
    (url, guard, store path)."""
    assert run_cli("connect", "--sandbox", str(sandbox.url))[0] == 0
    store = str(home / "store.duckdb")
    outbox(store, sandbox, 0, rows)
    guard = Guard()
    with served(create_app(store, str(sandbox.url), guard)) as url:
        yield url, guard, store
