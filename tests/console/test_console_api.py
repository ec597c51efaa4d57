"""The console's form and JSON endpoints without a browser: ``create_app`` over httpx's ASGI transport,
the destinations' target a loopback sandbox (the engine sends real requests)."""

from __future__ import annotations

import html
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from engagesync.console import Guard, create_app
from engagesync.console.security import COOKIE, CSRF_HEADER
from engagesync.sandbox.app import Sandbox
from engagesync.sandbox.inprocess import SyncASGITransport
from engagesync.sync import destinations as dest
from engagesync.sync.store import Store
from tests.cli_helpers import run_cli
from tests.console.browser import outbox


@pytest.fixture
def console(home: Path, live_sandbox: Sandbox) -> Iterator[tuple[httpx.Client, str]]:
    assert run_cli("connect", "--sandbox", str(live_sandbox.url))[0] == 0
    store = str(home / "store.duckdb")
    outbox(store, live_sandbox, 0, 3)
    guard = Guard()
    app = create_app(store, str(live_sandbox.url), guard)
    with httpx.Client(transport=SyncASGITransport(app), base_url="http://127.0.0.1") as client:
        client.cookies.set(COOKIE, guard.token)
        client.headers[CSRF_HEADER] = guard.csrf
        yield client, store


MANUAL = {
    "mode": "manual", "connection": "groove-helpdesk", "source": "duckdb::main.outbox", "method": "POST",
    "url": "/tickets", "format": "json", "key": "n", "batch_size": "100", "grouping": "fixed",
}  # fmt: skip


def _input(html: str, name: str) -> str:
    found = re.search(rf'<input name="{name}" id="{name}" value="([^"]*)"', html)
    assert found, f"no input {name} in the page"
    return found.group(1)


def _saved(store: str, name: str) -> Any:
    with Store(store) as db:
        return dest.find(db, name).config


def test_response_headers_are_edited_in_the_form_and_round_trip(console: tuple[httpx.Client, str]) -> None:
    client, store = console
    fresh = client.get("/destinations/new").text
    assert _input(fresh, "response_headers") == "content-type, location"  # the engine's default, shown

    form = {**MANUAL, "name": "kept", "responses": "on", "response_headers": "X-Request-Id, Location"}
    saved = client.post("/destinations/save", data=form)
    assert saved.status_code == 303, saved.text
    assert _saved(store, "kept").responses.headers == ["x-request-id", "location"]
    page = client.get("/destinations/kept").text
    assert _input(page, "response_headers") == "x-request-id, location"

    # saved again from the reloaded page: unchanged; then edited: a new version with the new list
    again = {**form, "original": "kept", "response_headers": _input(page, "response_headers")}
    assert client.post("/destinations/save", data=again).status_code == 303
    with Store(store) as db:
        assert dest.find(db, "kept").version == 1
    edited = {**again, "response_headers": "etag"}
    assert client.post("/destinations/save", data=edited).status_code == 303
    with Store(store) as db:
        found = dest.find(db, "kept")
    assert (found.version, found.config.responses.headers) == (2, ["etag"])

    # reflected in the Sample Payload panel's data, and a bad name is a message naming it, nothing saved
    shown = client.post("/api/preview", data={**edited, "response_headers": "etag, x-trace"}).json()
    assert shown["responses"]["headers"] == ["etag", "x-trace"] and shown["requests"]
    bad = client.post("/destinations/save", data={**edited, "response_headers": "etag: yes"})
    assert bad.status_code == 200 and 'id="error"' in bad.text
    assert "responses.headers: header name 'etag: yes' is not valid" in html.unescape(bad.text)
    assert _saved(store, "kept").responses.headers == ["etag"]


def test_a_form_without_the_field_keeps_the_saved_response_headers(console: tuple[httpx.Client, str]) -> None:
    client, store = console
    form = {**MANUAL, "name": "kept", "responses": "on", "response_headers": "etag"}
    assert client.post("/destinations/save", data=form).status_code == 303
    older = {k: v for k, v in form.items() if k != "response_headers"}  # e.g. a page rendered before the field
    assert client.post("/destinations/save", data={**older, "original": "kept", "key": ""}).status_code == 303
    assert _saved(store, "kept").responses.headers == ["etag"]


def test_the_test_tab_sends_a_template_form_before_it_is_saved(
    console: tuple[httpx.Client, str], live_sandbox: Sandbox
) -> None:
    client, store = console
    form = {"mode": "template", "template": "create_ticket", "connection": "groove-helpdesk",
            "source": "duckdb::main.outbox", "key": "n", "name": "draft"}  # fmt: skip
    picked = client.post("/api/sample", data=form).json()
    assert picked["sample"]["subject"] == "Outbox 0", picked
    result = client.post("/api/test", data={**form, "test_payload": "", "test_original": ""}).json()
    assert result["saved"] is False and result["edited"] is False and result["response"]["status"] == 201, result
    titles = [r["title"] for r in live_sandbox.ctx.store.all("SELECT title FROM gh_tickets WHERE title LIKE 'Outbox%'")]
    assert titles == ["Outbox 0"]
    with Store(store) as db:
        assert dest.list_all(db) == []
    # an edited sample that is not JSON: one line, nothing sent
    broken = client.post("/api/test", data={**form, "test_payload": "{", "test_original": "{}"}).json()
    assert broken["error"].startswith("edited sample: not JSON")
    # the unsaved test wrote no ledger entry: the same record is still the next sample
    assert client.post("/api/sample", data=form).json()["sample"]["subject"] == "Outbox 0"


def test_a_credential_like_header_is_masked_in_the_form_and_kept_on_save(console: tuple[httpx.Client, str]) -> None:
    client, store = console
    form = {**MANUAL, "name": "keyed", "headers": "X-Api-Key:s3cr3t-value,X-Source:console"}
    assert client.post("/destinations/save", data=form).status_code == 303
    page = client.get("/destinations/keyed").text
    assert "s3cr3t-value" not in page
    shown = html.unescape(_input(page, "headers"))
    assert shown == "X-Api-Key:[redacted],X-Source:console"
    # saved from the page as shown: the key is kept, the other header changed
    edited = {**form, "original": "keyed", "headers": shown.replace("console", "form")}
    assert client.post("/destinations/save", data=edited).status_code == 303
    manual = _saved(store, "keyed").endpoint.manual
    assert manual.headers == {"X-Api-Key": "s3cr3t-value", "X-Source": "form"}
    # nor in what the Sample Payload panel or the Test tab get back
    shown_requests = client.post("/api/preview", data={**edited, "name": "keyed"}).text
    tested = client.post("/api/test", data={**edited, "name": "keyed", "test_payload": "", "test_original": ""}).text
    assert (
        "s3cr3t-value" not in shown_requests + tested
        and json.loads(tested)["request"]["headers"]["x-api-key"] == "[redacted]"
    )


def test_the_webhook_signing_secret_is_never_in_a_page_or_a_url(console: tuple[httpx.Client, str]) -> None:
    client, store = console
    created = client.post("/destinations/save", data={**MANUAL, "name": "signed", "responses": "on"})
    assert created.status_code == 303
    with Store(store) as db:
        secret = dest.signing_secret(db, "signed")
    page = client.get(created.headers["location"]).text
    assert secret not in created.headers["location"] + page
    assert "engagesync destinations secret signed" in html.unescape(page)


def test_the_cli_tests_an_unsaved_configuration_through_the_same_engine_call(
    console: tuple[httpx.Client, str], live_sandbox: Sandbox, tmp_path: Path
) -> None:
    """The console's unsaved Test tab has a CLI equivalent: ``destinations test NAME --from-file``."""
    client, store = console
    config = tmp_path / "draft.yaml"
    config.write_text(
        "connection: groove-helpdesk\nsource: duckdb::main.outbox\nkey: n\n"
        "endpoint:\n  manual:\n    method: POST\n    url: /tickets\n"
    )
    code, output = run_cli("destinations", "test", "draft", "--from-file", str(config), "--store", store, "--json")
    assert code == 0, output
    answer = json.loads(output)
    assert (answer["saved"], answer["response"]["status"]) == (False, 201)
    with Store(store) as db:
        assert dest.list_all(db) == []
    # the console's form with the same settings picks the same (still undelivered) record
    form = {**MANUAL, "name": "draft"}
    assert client.post("/api/sample", data=form).json()["sample"]["subject"] == "Outbox 0"


def _finished(client: httpx.Client, job: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        state = client.get(f"/api/pulls/{job}").json()
        if state["state"] != "running":
            return dict(state)
        time.sleep(0.05)  # polling the job, as console.js does
    raise AssertionError(f"pull job {job} still running")


def test_pull_now_runs_in_the_background_one_per_store(
    console: tuple[httpx.Client, str], live_sandbox: Sandbox
) -> None:
    client, store = console
    slow = {"match": {"api": "groove-helpdesk", "method": "GET", "path": "/agents"}, "effect": {"latency": 400}}
    live_sandbox.ctx.faults.replace([slow])
    started = client.post("/streams/pull", data={"connection": "groove-helpdesk", "stream": "agents"})
    assert started.status_code == 303  # back at once: the pull takes at least 400 ms
    job = httpx.URL(started.headers["location"]).params["job"]
    assert client.get(f"/api/pulls/{job}").json()["state"] == "running"
    again = client.post("/streams/pull", data={"connection": "groove-helpdesk", "stream": "mailboxes"})
    assert "a pull is already running" in httpx.URL(again.headers["location"]).params["err"]
    assert client.get("/destinations").status_code == 200  # other pages answer meanwhile
    done = _finished(client, job)
    assert done["state"] == "done" and done["error"] is None, done
    assert done["summary"]["streams"][0]["status"] == "complete" and done["records"] > 0
    with Store(store) as db:  # the job closed the store: the file opens again
        assert db.count("groove-helpdesk", "agents") == done["records"]

    # a failure is one line in the job, never a traceback; an unknown job is a JSON error
    failed = client.post("/streams/pull", data={"connection": "nope"})
    state = _finished(client, httpx.URL(failed.headers["location"]).params["job"])
    assert state["state"] == "failed" and "no connection named 'nope'" in state["error"]
    assert "Traceback" not in str(state)
    missing = client.get("/api/pulls/999")
    assert missing.status_code == 404 and missing.json() == {"error": "no pull job 999"}


def test_a_sandbox_control_with_a_bad_number_is_one_line_naming_the_field(
    console: tuple[httpx.Client, str], live_sandbox: Sandbox
) -> None:
    client, _ = console
    before = httpx.get(f"{live_sandbox.url}/_sandbox/clock").json()["offset_seconds"]
    for path, form, line in (
        ("/sandbox/advance", {"seconds": "soon"}, "seconds: 'soon' is not a number"),
        ("/sandbox/rate-limit", {"api": "groove-helpdesk", "limit": "2.5"}, "limit: '2.5' is not a whole number"),
    ):
        sent = client.post(path, data=form)
        assert sent.status_code == 303
        page = html.unescape(client.get(sent.headers["location"]).text)
        assert line in page and "Traceback" not in page and "ValueError" not in page
    assert httpx.get(f"{live_sandbox.url}/_sandbox/clock").json()["offset_seconds"] == before
