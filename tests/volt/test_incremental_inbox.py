"""Volt's newest-first inbox: after a complete pull the next one stops at the newest conversation it saw
instead of paging to the end, and still reads a conversation that got a new message."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engagesync.apis.volt import connector
from engagesync.client.http import ApiClient
from engagesync.sandbox.app import Sandbox
from engagesync.sync import connectors
from engagesync.sync.connections import Connection
from engagesync.sync.pull import pull
from engagesync.sync.push import Pusher
from engagesync.sync.store import Store
from tests.volt.test_connector import FAST, Keep

CONN = "volt"


@pytest.fixture
def creds(sandbox: Sandbox) -> dict[str, Any]:
    return dict(sandbox.credentials()["volt"])


@pytest.fixture
def transport(sandbox: Sandbox) -> Keep:
    return Keep(sandbox.transport())


@pytest.fixture
def client(creds: dict[str, Any], transport: Keep) -> Iterator[ApiClient]:
    url, secrets, settings = connectors.from_sandbox(CONN, creds)
    with connectors.client_for(Connection(CONN, CONN, url, secrets, settings), transport=transport, retry=FAST) as c:
        yield c


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(str(tmp_path / "pulled.duckdb")) as s:
        yield s


def test_a_second_inbox_pull_stops_at_the_newest_conversation_seen(
    creds: dict[str, Any], client: ApiClient, transport: Keep, store: Store
) -> None:
    streams = connector.streams(primary_phone=creds["primary_phone"])
    first = pull(client, CONN, streams, ["conversations"], store).streams["conversations"]
    assert first.pages > 1 and first.new == store.count(CONN, "conversations")  # several inbox pages

    before = transport.graphql
    second = pull(client, CONN, streams, ["conversations"], store).streams["conversations"]
    assert transport.graphql - before == 1
    assert (second.new, second.changed) == (0, 0)

    peer = creds["samples"]["contact_phones"][-1]
    send = connector.actions()["send_message"]
    assert (
        Pusher(client, CONN, send, store)
        .run(iter([(2, {"to": peer, "from": creds["primary_phone"], "body": "hi"})]))
        .done
        == 1
    )
    before = transport.graphql
    third = pull(client, CONN, streams, ["conversations"], store).streams["conversations"]
    assert transport.graphql - before == 1
    assert (third.new + third.changed) == 1
    assert store.execute('SELECT "lastMessage" FROM volt.conversations WHERE "phoneNumber" = ?', [peer]) == [("hi",)]
