"""The console's live parts in a real browser: Pull now with live progress, the Test tab before saving,
the response-webhook headers field. Same Chromium, sandbox and screenshots as ``test_browser``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from engagesync.console import Guard
from engagesync.sandbox.app import Sandbox
from engagesync.sync import destinations as dest
from engagesync.sync.store import Store
from tests.console.browser import console_on, require_chromium, shot

require_chromium()

TICKETS = 1000  # 20 pages of 50


@pytest.fixture
def console(home: Path, live_sandbox: Sandbox) -> Iterator[tuple[str, Guard, str]]:
    live_sandbox.reset(seed=0, counts={"groove-helpdesk.tickets": TICKETS})
    with console_on(home, live_sandbox) as started:
        yield started


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
    shot(page, "streams-pulling")

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
    shot(page, "streams-pulled")


def _sample_settles(page: Page) -> None:
    expect(page.locator("#samples")).to_have_attribute("data-state", "ready")
    page.wait_for_timeout(350)  # a change re-renders after a 200 ms debounce (as test_browser waits)
    expect(page.locator("#samples")).to_have_attribute("data-state", "ready")


def test_the_test_tab_sends_the_unsaved_form_and_response_headers_are_editable(
    console: tuple[str, Guard, str], live_sandbox: Sandbox, page: Page
) -> None:
    url, guard, store = console
    page.goto(f"{url}/destinations/new?token={guard.token}")
    page.fill("#name", "draft")
    page.select_option("#connection", "groove-helpdesk")
    page.fill("#source", "duckdb::main.outbox")
    page.fill("#url", "/tickets")
    page.fill("#headers", "X-Source:console")
    page.fill("#key", "n")
    _sample_settles(page)

    # the Test tab before Done: the form's sample, edited in place, sent with the form's settings
    page.click("#test-tab")
    expect(page.locator("#unsaved-hint")).to_contain_text("Not saved yet")
    page.wait_for_function("document.querySelector('#test-payload').value.includes('Outbox 0')")
    edited = page.locator("#test-payload").input_value().replace("Outbox 0", "Edited before saving")
    page.fill("#test-payload", edited)
    since = _journal(live_sandbox)[-1]["id"]
    page.click("#send-test")
    result = page.locator("#test-result")
    expect(result).to_have_attribute("data-state", "done")
    expect(result).to_contain_text('"status": 201')
    expect(result).to_contain_text('"saved": false')
    shot(page, "destination-test-unsaved")
    sent = [e for e in _journal(live_sandbox) if e["id"] > since and e["api"] == "groove-helpdesk"]
    assert [(e["method"], e["path"], e["status"]) for e in sent] == [("POST", "/tickets", 201)], sent
    assert sent[0]["headers"]["x-source"] == "console" and sent[0]["headers"]["authorization"] == "[redacted]"
    assert json.loads(sent[0]["body"]) == json.loads(edited)  # exactly the edited sample
    assert json.loads(edited)["subject"] == "Edited before saving"
    with Store(store) as db:  # nothing saved: no destination, no run, no ledger entry
        assert dest.list_all(db) == []
    page.click("#load-sample")  # still the next record: the unsaved test delivered nothing
    page.wait_for_function("document.querySelector('#test-payload').value.includes('\"Outbox 0\"')")

    # the response webhook's headers: edited, saved, shown again after a reload, and in the sample panel
    page.click("#sample-tab")
    page.check("#responses")
    expect(page.locator("#response_headers")).to_have_value("content-type, location")
    page.fill("#response_headers", "Location, X-Request-Id")
    _sample_settles(page)
    expect(page.locator(".responses-note")).to_contain_text("draft.responses")
    expect(page.locator(".responses-note")).to_contain_text("location, x-request-id")
    page.click("#done")
    expect(page.locator("#message")).to_contain_text("created draft")
    page.reload()
    expect(page.locator("#response_headers")).to_have_value("location, x-request-id")
    with Store(store) as db:
        assert dest.find(db, "draft").config.responses.headers == ["location", "x-request-id"]
    shot(page, "destination-response-headers")


def _journal(sandbox: Sandbox) -> list[dict[str, Any]]:
    return list(httpx.get(f"{sandbox.url}/_sandbox/requests", params={"limit": 0}).json()["requests"])
