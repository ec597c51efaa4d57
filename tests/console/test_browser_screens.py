"""Every console screen clicked through in a real browser (Playwright + Debian's Chromium), each click
checked where it lands: the connections file, the store, the sandbox's admin API and journal.

The browser, console server and screenshots come from ``tests/console/browser.py``; screenshots go to
``test-output/console/``.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from engagesync.console import Guard, create_app
from engagesync.sandbox.app import Sandbox
from engagesync.sync import destinations as dest
from engagesync.sync.connections import Connection, ConnectionStore
from engagesync.sync.destinations import rejects as dest_rejects
from engagesync.sync.store import Store
from engagesync.sync.store.base import table_for
from engagesync.sync.webhooks import verify
from engagesync.sync.webhooks.endpoints import EndpointFile
from engagesync.sync.webhooks.receiver import Receiver
from engagesync.sync.webhooks.storage import EventStore
from tests.cli_helpers import run_cli
from tests.console.browser import outbox, require_chromium, served, shot

require_chromium()

from playwright.sync_api import Page, expect  # noqa: E402


@pytest.fixture
def serve(home: Path, live_sandbox: Sandbox) -> Iterator[Callable[[], tuple[str, Guard, str]]]:
    """Start a console on the test's store and sandbox (after the test's own set-up): (url, guard, store)."""
    with ExitStack() as stack:

        def start() -> tuple[str, Guard, str]:
            store, guard = str(home / "store.duckdb"), Guard()
            url = stack.enter_context(served(create_app(store, str(live_sandbox.url), guard)))
            return url, guard, store

        yield start


def _connect(sandbox: Sandbox) -> None:
    code, output = run_cli("connect", "--sandbox", str(sandbox.url))
    assert code == 0, output


def _no_trace(page: Page) -> None:
    html = page.content()
    assert "Traceback" not in html and 'File "' not in html


# -- connections -------------------------------------------------------------------------------------


def test_connect_to_the_sandbox_then_check_a_good_and_a_refused_connection(
    serve: Callable[[], tuple[str, Guard, str]], live_sandbox: Sandbox, page: Page
) -> None:
    url, guard, _ = serve()
    page.goto(f"{url}/connections?token={guard.token}")
    expect(page.locator("#connections")).to_contain_text("No connection saved yet.")
    expect(page.locator("#sandbox-url")).to_have_value(str(live_sandbox.url))
    page.click("#connect-sandbox")
    expect(page.locator("#message")).to_contain_text("saved connections")
    expect(page.locator("#connections")).to_contain_text("groove-helpdesk")

    file = ConnectionStore().path
    assert stat.S_IMODE(file.stat().st_mode) == 0o600
    saved = {c.name: c for c in ConnectionStore().all()}
    assert "groove-helpdesk" in saved and saved["groove-helpdesk"].base_url.startswith(str(live_sandbox.url))
    secrets = [str(v) for c in saved.values() for v in c.secrets.values() if len(str(v)) >= 8]
    assert secrets
    html = page.content()
    assert not [s for s in secrets if s in html], "a secret was rendered into the connections page"
    shot(page, "connections-connected")

    row = page.locator("#connections tr", has_text="groove-helpdesk").first
    row.get_by_role("button", name="Check").click()
    expect(page.locator("#message")).to_contain_text("ok groove-helpdesk")

    good = saved["groove-helpdesk"]
    ConnectionStore().put(Connection("refused", good.api, good.base_url, {"token": "not-a-token-the-sandbox-knows"}))
    page.reload()
    page.locator("#connections tr", has_text="refused").first.get_by_role("button", name="Check").click()
    expect(page.locator("#error")).to_contain_text("refused: the credential was refused (401")
    error = page.locator("#error").inner_text()
    assert "\n" not in error.strip() and "not-a-token" not in error
    _no_trace(page)
    shot(page, "connections-refused")


# -- destinations ------------------------------------------------------------------------------------


def test_a_template_destination_activate_deactivate_dismiss_a_reject_and_delete(
    serve: Callable[[], tuple[str, Guard, str]], live_sandbox: Sandbox, page: Page
) -> None:
    _connect(live_sandbox)
    url, guard, store = serve()
    outbox(store, live_sandbox, 0, 2)
    page.on("dialog", lambda dialog: dialog.accept())  # Delete asks for confirmation
    page.goto(f"{url}/destinations?token={guard.token}")
    page.locator("summary", has_text="groove-helpdesk").click()
    page.get_by_role("link", name="create_ticket", exact=True).click()
    expect(page.locator("#mode")).to_have_value("template")
    expect(page.locator("#template-panel")).to_be_visible()
    expect(page.locator("#template")).to_have_value("create_ticket")
    page.fill("#name", "tickets")
    page.fill("#source", "duckdb::main.outbox")
    page.fill("#map", "from=from\nsubject=Outbox {n}")
    page.fill("#key", "n")
    expect(page.locator("#samples")).to_have_attribute("data-state", "ready")
    expect(page.locator("pre.sample").first).to_contain_text("POST ")
    expect(page.locator("pre.sample").first).to_contain_text("Outbox 0")
    shot(page, "destination-template")
    page.click("#done")
    expect(page.locator("#message")).to_contain_text("created tickets")
    with Store(store) as db:
        saved = dest.find(db, "tickets")
    assert saved.config.endpoint.template == "create_ticket" and not saved.active

    page.click("#activate")
    expect(page.locator("#state")).to_have_text("active")
    with Store(store) as db:
        assert dest.find(db, "tickets").active
    page.click("#deactivate")
    expect(page.locator("#state")).to_have_text("inactive")
    expect(page.locator("#message")).to_contain_text("nothing is sent until it is activated again")
    with Store(store) as db:
        assert not dest.find(db, "tickets").active

    # the sandbox refuses the tickets: two rejects; dismissing closes them in the store, unsent
    refuse = {"match": {"api": "groove-helpdesk", "method": "POST", "path": "/tickets"}, "effect": {"status": 422}}
    live_sandbox.ctx.faults.replace([refuse])
    page.click("#run-now")
    expect(page.locator("#rejects tr")).to_have_count(3)
    live_sandbox.ctx.faults.replace([])
    page.locator('#rejects input[name="id"]').first.check()
    page.click("#dismiss")
    expect(page.locator("#message")).to_contain_text("1 reject(s) dismissed")
    expect(page.locator("#rejects tr")).to_have_count(2)
    with Store(store) as db:
        assert len(dest_rejects.open_rejects(db, "tickets")) == 1
    page.click("#dismiss")  # none selected: all
    expect(page.locator("#rejects")).to_contain_text("No open reject")
    with Store(store) as db:
        assert dest_rejects.open_rejects(db, "tickets") == []
    assert not live_sandbox.ctx.store.all("SELECT title FROM gh_tickets WHERE title LIKE 'Outbox %'")
    shot(page, "destination-dismissed")

    page.get_by_role("button", name="Delete").click()
    expect(page.locator("h1")).to_have_text("Destinations")
    expect(page.locator("#message")).to_contain_text("deleted destination tickets")
    expect(page.locator("#destinations")).not_to_contain_text("tickets")
    with Store(store) as db:
        assert [d.name for d in dest.list_all(db)] == []


# -- streams -----------------------------------------------------------------------------------------


def test_the_first_rows_page_shows_the_rows_the_store_holds(
    serve: Callable[[], tuple[str, Guard, str]], live_sandbox: Sandbox, page: Page
) -> None:
    _connect(live_sandbox)
    url, guard, store = serve()
    code, output = run_cli("pull", "groove-helpdesk", "mailboxes", "agents", "--store", store)
    assert code == 0, output
    page.goto(f"{url}/streams?token={guard.token}")
    row = page.locator("#streams tr", has_text="mailboxes").first
    with Store(store) as db:
        count = db.count("groove-helpdesk", "mailboxes")
        names, rows = next(iter(db.iter_query(f"SELECT * FROM {table_for('groove-helpdesk', 'mailboxes')}", [])))
    assert count >= 2
    expect(row.locator("td").nth(1)).to_have_text(str(count))
    expect(row.locator("td").nth(2)).to_have_text("complete")
    row.get_by_role("link", name="mailboxes").click()
    expect(page.locator("h1")).to_contain_text("groove-helpdesk / mailboxes")
    headers = page.locator("#rows tr").first.locator("th").all_inner_texts()
    assert headers == list(names)
    body = page.locator("#rows tr")
    expect(body).to_have_count(1 + min(count, 20))
    key = list(names).index("id")
    shown = [body.nth(i + 1).locator("td").nth(key).inner_text() for i in range(min(count, 20))]
    assert shown == [str(r[key]) for r in rows[:20]]
    shot(page, "stream-rows")


# -- webhook sources ---------------------------------------------------------------------------------


def _post_event(store: str, path: str, secret: str, payload: dict[str, Any]) -> None:
    """One signed Standard Webhooks delivery through the receiver `engagesync listen` serves."""
    import asyncio

    body = json.dumps(payload).encode()
    stamp = int(time.time())
    headers = {
        "webhook-id": "msg_console_1",
        "webhook-timestamp": str(stamp),
        "webhook-signature": verify.standard_sign(secret, "msg_console_1", stamp, body),
        "content-type": "application/json",
    }
    with Store(store) as db:
        receiver = Receiver(EventStore(db), EndpointFile())

        async def run() -> httpx.Response:
            async with receiver.lifespan(receiver.app):
                transport = httpx.ASGITransport(app=receiver.app)
                async with httpx.AsyncClient(transport=transport, base_url="http://listen") as client:
                    return await client.post(path, content=body, headers=headers)

        done: list[httpx.Response] = []
        worker = threading.Thread(target=lambda: done.append(asyncio.run(run())))  # Playwright owns this loop
        worker.start()
        worker.join(30)
        response = done[0]
    assert response.status_code < 300, response.text


def test_the_webhook_sources_screen_lists_endpoints_hooks_and_the_latest_events(
    serve: Callable[[], tuple[str, Guard, str]], live_sandbox: Sandbox, page: Page
) -> None:
    _connect(live_sandbox)
    code, output = run_cli(
        "webhooks", "register", "groove-helpdesk", "--url", "http://127.0.0.1:9", "--events", "ticket_started"
    )
    assert code == 0, output
    code, output = run_cli("webhooks", "endpoint", "add", "orders")
    assert code == 0, output
    lines = output.replace("\n ", "").splitlines()
    path = next(x for x in lines if "endpoint path" in x).rsplit(" ", 1)[1]
    secret = next(x for x in lines if "signing secret" in x).rsplit(" ", 1)[1]
    url, guard, store = serve()
    _post_event(store, path, secret, {"type": "order.created", "order": "A-1001"})

    page.goto(f"{url}/webhooks?token={guard.token}")
    orders = page.locator("section", has_text="orders")
    expect(orders).to_contain_text("A-1001")
    expect(orders).to_contain_text("order.created")
    assert "b\\u0027" not in orders.inner_text()  # the body shown as the text received, not b'...'
    helpdesk = page.locator("section", has_text="groove-helpdesk")
    hooks = EndpointFile().get("groove-helpdesk")
    assert hooks is not None and hooks.hooks
    expect(helpdesk).to_contain_text(hooks.hooks[0]["id"])
    expect(helpdesk).to_contain_text("ticket_started")
    expect(helpdesk).to_contain_text("No event yet.")
    html = page.content()
    assert secret not in html and path.rsplit("/", 1)[1] not in html
    shot(page, "webhooks-events")


# -- the sandbox -------------------------------------------------------------------------------------


def test_the_sandbox_screen_drives_the_clock_faults_rate_limits_and_tails_the_journal(
    serve: Callable[[], tuple[str, Guard, str]], live_sandbox: Sandbox, page: Page
) -> None:
    url, guard, _ = serve()
    base = str(live_sandbox.url)
    creds = live_sandbox.credentials(base_url=f"{base}")["groove-helpdesk"]
    api = httpx.Client(base_url=creds["base_url"], headers={"Authorization": f"Bearer {creds['token']}"})
    admin = httpx.Client(base_url=f"{base}/_sandbox")
    page.goto(f"{url}/sandbox?token={guard.token}")
    expect(page.locator("#journal")).to_be_visible()

    # the live tail shows a request made after the page loaded
    assert api.get("/tickets/987654").status_code == 404
    expect(page.locator("#journal")).to_contain_text("404 GET groove-helpdesk /tickets/987654")

    # advance: the sandbox's own clock moves by that amount; freeze: it stops
    before = admin.get("/clock").json()
    page.fill('input[name="seconds"]', "3600")
    page.click("#advance")
    expect(page.locator("#message")).to_contain_text("clock advanced 3600 s")
    after = admin.get("/clock").json()
    assert after["offset_seconds"] - before["offset_seconds"] == pytest.approx(3600)
    assert 3600 <= after["epoch"] - before["epoch"] < 3660
    page.click("#freeze")
    expect(page.locator("#message")).to_contain_text("clock: freeze")
    frozen = admin.get("/clock").json()
    assert frozen["frozen"] is True
    expect(page.locator("#clock")).to_contain_text('"frozen": true')
    assert admin.get("/clock").json()["epoch"] == frozen["epoch"]

    # a fault: the next matching API request fails as configured
    rule = [{"match": {"api": "groove-helpdesk", "method": "GET", "path": "/mailboxes"}, "effect": {"status": 503}}]
    page.fill("#fault-rules", json.dumps(rule))
    page.click("#set-faults")
    expect(page.locator("#message")).to_contain_text("1 fault rule(s) set")
    assert api.get("/mailboxes").status_code == 503
    assert api.get("/agents").status_code == 200
    page.fill("#fault-rules", "")
    page.click("#set-faults")
    expect(page.locator("#message")).to_contain_text("0 fault rule(s) set")
    assert admin.get("/faults").json()["rules"] == []
    assert api.get("/mailboxes").status_code == 200

    # a rate limit: the sandbox reports it, and the request past it gets a 429
    page.select_option('select[name="api"]', "groove-helpdesk")
    page.fill('input[name="limit"]', "2")
    page.fill('input[name="window_seconds"]', "60")
    page.get_by_role("button", name="Set", exact=True).click()
    expect(page.locator("#message")).to_contain_text("groove-helpdesk: 2 requests per 60 s")
    limit = admin.get("/rate-limits/groove-helpdesk").json()
    assert limit["default"]["limit"] == 2, limit
    expect(page.locator("#rate-limits tr", has_text="groove-helpdesk")).to_contain_text("2 per 60 s")
    statuses = [api.get("/agents").status_code for _ in range(3)]
    assert statuses[-1] == 429 and 429 not in statuses[:2], statuses
    shot(page, "sandbox-driven")

    # a bad fault rule is a message on the page, nothing changed
    page.fill("#fault-rules", "[{not json")
    page.click("#set-faults")
    expect(page.locator("#error")).to_contain_text("fault rules: not JSON")
    _no_trace(page)
    api.close()
    admin.close()


# -- security ----------------------------------------------------------------------------------------


def test_a_stale_or_missing_csrf_token_is_a_message_and_changes_nothing(
    serve: Callable[[], tuple[str, Guard, str]], live_sandbox: Sandbox, page: Page
) -> None:
    url, guard, _ = serve()
    for how, script in (
        ("stale", "document.querySelector('form[action=\"/connections/sandbox\"] input[name=csrf]').value='stale'"),
        ("missing", "document.querySelector('form[action=\"/connections/sandbox\"] input[name=csrf]').remove()"),
    ):
        page.goto(f"{url}/connections?token={guard.token}")
        page.evaluate(script)
        page.click("#connect-sandbox")
        expect(page.locator("#error")).to_contain_text("CSRF token is missing or stale; reload the page")
        _no_trace(page)
        assert not ConnectionStore().path.exists(), how
    shot(page, "csrf-refused")
    response = page.goto(f"{url}/connections?token=wrong-{guard.token}")
    assert response is not None and response.status == 403


@contextmanager
def _console_process(home: Path, *args: str) -> Iterator[subprocess.Popen[str]]:
    env = {**os.environ, "ENGAGESYNC_HOME": str(home / "home")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "engagesync.cli.main", "console", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
        proc.communicate(timeout=30)


def test_the_console_command_prints_a_url_with_a_token_and_refuses_a_remote_host(home: Path, page: Page) -> None:
    store = str(home / "store.duckdb")
    with _console_process(home, "--port", "0", "--store", store) as proc:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("engagesync console: http://127.0.0.1:"), line
        printed = line.split(": ", 1)[1].strip()
        base, _, token = printed.partition("/?token=")
        assert len(token) >= 24
        response = page.goto(printed)
        assert response is not None and response.status == 200
        expect(page.locator("h1")).to_have_text("Destinations")
        assert token not in page.content()
        shot(page, "console-command")
        assert httpx.get(f"{base}/destinations").status_code == 403
        assert httpx.get(f"{base}/").status_code == 403
        assert httpx.get(f"{base}/?token=not-{token}").status_code == 403

    with _console_process(home, "--host", "0.0.0.0", "--port", "0", "--store", store) as proc:
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 2, err
        assert err.strip().count("\n") == 0 and "--allow-remote" in err and "Traceback" not in err, err
