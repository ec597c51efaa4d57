"""Incremental pulls against the sandbox: only new or changed rows are written, children are fetched
only for changed parents, and a full refresh tombstones what vanished."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from engagesync.apis.groove_helpdesk.connector import GrooveHelpdesk, make_client, streams
from engagesync.client.http import ApiClient
from engagesync.client.streams import Page, Stream
from engagesync.sandbox.app import Sandbox
from engagesync.sync.pull import PullError, PullResult, pull
from engagesync.sync.store import Store, table_for

CONN = "groove-helpdesk"
TICKETS, PER_TICKET = 12, 3


class Recorder(httpx.BaseTransport):
    """The sandbox's in-process transport, remembering each request path."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner, self.paths = inner, list[str]()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(request.url.path)
        return self.inner.handle_request(request)

    def close(self) -> None:
        pass


@pytest.fixture
def recorder(sandbox: Sandbox) -> Recorder:
    sandbox.reset(
        seed=5, counts={"groove-helpdesk.tickets": TICKETS, "groove-helpdesk.messages_per_ticket": PER_TICKET}
    )
    return Recorder(sandbox.transport())


@pytest.fixture
def client(sandbox: Sandbox, recorder: Recorder) -> Iterator[ApiClient]:
    cred = sandbox.credentials()["groove-helpdesk"]
    with make_client(cred["base_url"], cred["token"], transport=recorder) as c:
        yield c


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(str(tmp_path / "store.duckdb")) as s:
        yield s


def run(client: ApiClient, store: Store, recorder: Recorder, *, full: bool = False) -> tuple[PullResult, list[str]]:
    recorder.paths.clear()
    result = pull(client, CONN, streams(per_page=5), ["tickets", "messages"], store, full_refresh=full)
    assert result.ok
    return result, [p for p in recorder.paths if p.endswith("/messages")]


def test_a_second_pull_writes_nothing_and_fetches_no_messages(
    client: ApiClient, store: Store, recorder: Recorder
) -> None:
    first, fetched = run(client, store, recorder)
    tickets, messages = first.streams["tickets"], first.streams["messages"]
    assert (tickets.records, tickets.new, tickets.changed, tickets.unchanged) == (TICKETS, TICKETS, 0, 0)
    assert messages.new == TICKETS * PER_TICKET and len(fetched) == TICKETS
    synced = store.execute(f"SELECT max(_synced_at) FROM {table_for(CONN, 'tickets')}")

    second, fetched = run(client, store, recorder)
    tickets, messages = second.streams["tickets"], second.streams["messages"]
    assert (tickets.records, tickets.new, tickets.changed, tickets.unchanged) == (TICKETS, 0, 0, TICKETS)
    assert second.written == 0 and fetched == [] and messages.requests == 0
    assert store.execute(f"SELECT max(_synced_at) FROM {table_for(CONN, 'tickets')}") == synced  # not rewritten


def test_one_changed_ticket_writes_one_row_and_fetches_its_messages_only(
    client: ApiClient, store: Store, recorder: Recorder
) -> None:
    run(client, store, recorder)
    GrooveHelpdesk(client).create_message(7, body="one more", note=True)
    result, fetched = run(client, store, recorder)
    tickets, messages = result.streams["tickets"], result.streams["messages"]
    assert (tickets.new, tickets.changed, tickets.unchanged) == (0, 1, TICKETS - 1)
    assert [p.rsplit("/v1", 1)[-1] for p in fetched] == ["/tickets/7/messages"]
    assert (messages.new, messages.changed, messages.unchanged) == (1, 0, PER_TICKET)
    assert store.count(CONN, "messages") == TICKETS * PER_TICKET + 1


def delete_ticket(sandbox: Sandbox, number: int) -> None:
    tenant = sandbox.credentials()["tenant"]["id"]
    with sandbox.client() as admin:
        response = admin.delete(f"http://sandbox/_sandbox/groove-helpdesk/tickets/{number}", params={"tenant": tenant})
        assert response.status_code in (200, 204)


def tombstoned(store: Store, stream: str) -> list[tuple[object, ...]]:
    key = "number" if stream == "tickets" else "ticket_number"
    return store.execute(f"SELECT DISTINCT {key} FROM {table_for(CONN, stream)} WHERE _deleted_at IS NOT NULL")


def test_a_full_refresh_tombstones_what_vanished_and_an_incremental_pull_does_not(
    sandbox: Sandbox, client: ApiClient, store: Store, recorder: Recorder
) -> None:
    run(client, store, recorder)
    delete_ticket(sandbox, 4)
    run(client, store, recorder)
    assert tombstoned(store, "tickets") == [] and store.count(CONN, "tickets") == TICKETS

    result, fetched = run(client, store, recorder, full=True)
    assert len(fetched) == TICKETS - 1  # a full refresh re-reads every child
    assert result.written == 0
    assert tombstoned(store, "tickets") == [(4,)] and tombstoned(store, "messages") == [(4,)]
    assert store.count(CONN, "tickets") == TICKETS  # kept, never deleted
    # the next incremental pull leaves the tombstones alone
    run(client, store, recorder)
    assert tombstoned(store, "tickets") == [(4,)]


def test_a_full_refresh_cut_short_resumes_as_one_and_sweeps_correctly(
    sandbox: Sandbox, client: ApiClient, store: Store, recorder: Recorder
) -> None:
    run(client, store, recorder)
    delete_ticket(sandbox, 11)
    fails = FailingAfter(streams(per_page=5)["tickets"], pages=1)
    with pytest.raises(PullError):
        pull(client, CONN, {"tickets": fails}, None, store, full_refresh=True, commit_records=1)
    assert tombstoned(store, "tickets") == []
    again = pull(client, CONN, streams(per_page=5), ["tickets"], store)  # no flag: the pass resumes as it was
    assert again.streams["tickets"].resumed and tombstoned(store, "tickets") == [(11,)]


class FailingAfter:
    """A stream that raises after yielding ``pages`` pages (the pull is cut short)."""

    def __init__(self, inner: Stream, pages: int) -> None:
        self.inner, self.spec, self.left = inner, inner.spec, pages

    def pages(self, client: ApiClient, state: dict[str, Any] | None) -> Iterator[Page]:
        for page in self.inner.pages(client, state):
            if self.left == 0:
                raise ConnectionError("cut short")
            self.left -= 1
            yield page
