"""The console in a real browser: Playwright driving Debian's Chromium against the loopback sandbox.

Never skipped in CI (``.ci/run`` installs /usr/bin/chromium). Screenshots of each screen go to
``test-output/console/`` for a reviewer.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from engagesync.console import Guard
from engagesync.sandbox.app import Sandbox
from engagesync.sync import destinations as dest
from engagesync.sync.store import Store
from tests.console.browser import console_on, outbox, require_chromium, shot

require_chromium()

from playwright.sync_api import Page, expect  # noqa: E402


@pytest.fixture
def console(home: Path, live_sandbox: Sandbox) -> Iterator[tuple[str, Guard, str]]:
    with console_on(home, live_sandbox) as started:
        yield started


def _sample_settles(page: Page) -> None:
    expect(page.locator("#samples")).to_have_attribute("data-state", "ready")
    page.wait_for_timeout(350)  # a change re-renders after a 200 ms debounce
    expect(page.locator("#samples")).to_have_attribute("data-state", "ready")


def test_a_wrong_token_gets_a_403_page(console: tuple[str, Guard, str], page: Page) -> None:
    url, _, _ = console
    response = page.goto(f"{url}/destinations?token=wrong")
    assert response is not None and response.status == 403
    expect(page.locator("#error")).to_contain_text("valid access token is required")
    response = page.goto(f"{url}/destinations")  # no cookie either
    assert response is not None and response.status == 403
    shot(page, "forbidden")


def test_create_preview_exclude_batch_test_activate_deliver_and_retry(
    console: tuple[str, Guard, str], live_sandbox: Sandbox, page: Page
) -> None:
    url, guard, store = console
    page.goto(f"{url}/?token={guard.token}")
    expect(page.locator("h1")).to_have_text("Destinations")
    page.click("#new-manual")
    page.fill("#name", "outbox")
    page.select_option("#connection", "groove-helpdesk")
    page.fill("#source", "duckdb::main.outbox")
    page.fill("#url", "/tickets")
    page.fill("#key", "n")
    _sample_settles(page)
    first = page.locator("pre.sample").first
    expect(first).to_contain_text("POST ")
    expect(first).to_contain_text('"team":"red"')

    # exclude an attribute: the chip appears and the sample payload loses it; the chip's X brings it back
    page.select_option("#exclude-add", "team")
    expect(page.locator("#chips .chip")).to_have_count(1)
    _sample_settles(page)
    expect(page.locator("pre.sample").first).not_to_contain_text('"team"')
    page.select_option("#exclude-add", "n")
    _sample_settles(page)
    page.click('#chips .chip[data-value="n"] .chip-x')
    expect(page.locator("#chips .chip")).to_have_count(1)

    # batching by attribute: the first request groups the "red" records (lines 1 and 3)
    page.check("#batching")
    page.fill("#batch_size", "10")
    page.select_option("#grouping", "by_attribute")
    page.fill("#group_by", "team")
    _sample_settles(page)
    expect(page.locator("#samples .hint").first).to_contain_text("2 record(s), source line(s) 1, 3")
    page.locator("pre.sample").first.click()
    expect(page.locator("pre.sample.open")).to_have_count(1)
    shot(page, "destination-form")
    page.uncheck("#batching")  # Groove's /tickets takes one ticket a call
    _sample_settles(page)
    page.click("#done")
    expect(page.locator("#message")).to_contain_text("created outbox")
    expect(page.locator("#message")).not_to_contain_text(guard.token)

    # the Test tab: edit the sample in place and send it; the sandbox answers 201
    page.click("#test-tab")
    page.wait_for_function("document.querySelector('#test-payload').value.includes('Outbox 0')")
    edited = page.locator("#test-payload").input_value().replace("Outbox 0", "Edited in the console")
    page.fill("#test-payload", edited)
    page.click("#send-test")
    expect(page.locator("#test-result")).to_have_attribute("data-state", "done")
    expect(page.locator("#test-result")).to_contain_text('"status": 201')
    shot(page, "destination-test")
    titles = [r["title"] for r in live_sandbox.ctx.store.all("SELECT title FROM gh_tickets WHERE title LIKE 'Edited%'")]
    assert titles == ["Edited in the console"]

    # activate, append rows, one worker pass: delivered (sandbox journal) and listed in the runs
    page.fill('input[name="every"]', "1s")
    page.click("#activate")
    expect(page.locator("#state")).to_have_text("active")
    outbox(store, live_sandbox, 4, 2)
    with Store(store) as db:
        result = dest.deliver(db, "outbox")
    assert result.counts["done"] == 6, result.counts
    page.reload()
    expect(page.locator("#runs tr").nth(1)).to_contain_text("ok")
    expect(page.locator("#runs tr").nth(1)).to_contain_text("6")
    journal = live_sandbox.ctx.store.all("SELECT title FROM gh_tickets WHERE title LIKE 'Outbox %'")
    assert len(journal) == 6
    shot(page, "destination-runs")

    # a refused record becomes a reject; fixing the target and clicking Retry delivers it
    refuse = {"match": {"api": "groove-helpdesk", "method": "POST", "path": "/tickets"}, "effect": {"status": 422}}
    live_sandbox.ctx.faults.replace([refuse])
    outbox(store, live_sandbox, 6, 1)
    page.click("#run-now")
    expect(page.locator("#rejects tr")).to_have_count(2)
    live_sandbox.ctx.faults.replace([])
    page.click("#retry")
    expect(page.locator("#message")).to_contain_text("1 done")
    expect(page.locator("#rejects")).to_contain_text("No open reject")
    assert live_sandbox.ctx.store.all("SELECT title FROM gh_tickets WHERE title = 'Outbox 6'")

    # the other screens render (screenshots for the reviewer)
    for screen in ("destinations", "connections", "streams", "webhooks", "sandbox"):
        page.goto(f"{url}/{screen}")
        expect(page.locator("#error")).to_have_count(0)
        shot(page, screen)
    expect(page.locator("#journal")).to_contain_text("/tickets")
