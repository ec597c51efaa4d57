"""End to end over loopback: the sandbox (uvicorn in this process) sends its Groove helpdesk and Volt
events to a real `engagesync listen` process; each arrives in the store exactly once with typed
columns. `listen` SIGKILLed at a progress line while the sandbox keeps retrying loses nothing
acknowledged and stores nothing twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from engagesync.apis.volt import contract
from engagesync.sandbox.app import Sandbox
from engagesync.sync.store import table_for
from engagesync.sync.webhooks.endpoints import EndpointFile

from ..cli_helpers import run_cli

GROOVE = "/groove-helpdesk/v1"


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Listener:
    """`engagesync listen` as a subprocess; stderr lines are read as they come."""

    def __init__(self, home: Path, store: Path, port: int) -> None:
        self.home, self.store, self.port = home, store, port
        self.url = f"http://127.0.0.1:{port}"
        self.proc: subprocess.Popen[str] | None = None

    def start(self) -> None:
        env = {**os.environ, "ENGAGESYNC_HOME": str(self.home)}
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "engagesync.cli.main",
                "listen",
                "--port",
                str(self.port),
                "--store",
                str(self.store),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.05)
        raise AssertionError("listen did not come up")

    def kill_at(self, total: int) -> bool:
        """SIGKILL once a progress line reports at least ``total`` stored events; True if it was killed."""
        assert self.proc is not None and self.proc.stderr is not None
        for line in self.proc.stderr:
            if line.startswith("progress webhooks:") and int(line.rsplit("total ", 1)[1].rstrip(")\n")) >= total:
                self.proc.send_signal(signal.SIGKILL)
                self.proc.wait()
                return True
        self.proc.wait()
        return False

    def stop(self) -> str:
        """SIGTERM (graceful) and what it printed."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        _, err = self.proc.communicate(timeout=30)
        assert self.proc.returncode == 0, err[-2000:]
        return err


def rows(store: Path, name: str) -> list[dict[str, Any]]:
    with duckdb.connect(str(store), read_only=True) as con:
        cur = con.execute(f"SELECT * FROM {table_for(name, 'webhook_events')} ORDER BY received_at")
        names = [d[0] for d in cur.description or []]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def settled(admin: httpx.Client, api: str, expected: int, timeout: float = 60) -> list[dict[str, Any]]:
    """The API's deliveries once ``expected`` of them are delivered and none is pending."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = admin.get("webhooks/deliveries", params={"api": api, "limit": 10_000}).json()["deliveries"]
        done = [d for d in found if d["status"] == "delivered"]
        if len(done) >= expected and not any(d["status"] == "pending" for d in found):
            return found
        time.sleep(0.1)
    raise AssertionError(f"{api}: deliveries did not settle")


@pytest.fixture
def setup(
    tmp_path: Path, live_sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Listener, httpx.Client]]:
    home = tmp_path / "home"
    monkeypatch.setenv("ENGAGESYNC_HOME", str(home))
    assert run_cli("connect", "--sandbox", str(live_sandbox.url))[0] == 0
    listener = Listener(home, tmp_path / "events.duckdb", free_port())
    listener.start()
    with httpx.Client(base_url=f"{live_sandbox.url}/_sandbox/") as admin:
        try:
            yield listener, admin
        finally:
            if listener.proc and listener.proc.poll() is None:
                listener.proc.kill()
                listener.proc.wait()


def groove_client(sandbox: Sandbox) -> httpx.Client:
    creds = sandbox.credentials(base_url=str(sandbox.url))["groove-helpdesk"]
    return httpx.Client(base_url=creds["base_url"] + "/", headers={"Authorization": f"Bearer {creds['token']}"})


def create_tickets(client: httpx.Client, n: int, prefix: str) -> list[int]:
    mailbox = client.get("mailboxes").json()["mailboxes"][0]["email"]
    numbers = []
    for i in range(n):
        response = client.post(
            "tickets", json={"body": f"question {i}", "from": f"{prefix}{i}@example.com", "to": mailbox}
        )
        assert response.status_code == 201, response.text
        numbers.append(response.json()["ticket"]["number"])
    return numbers


def test_groove_helpdesk_events_arrive_once_with_typed_columns(
    setup: tuple[Listener, httpx.Client], live_sandbox: Sandbox
) -> None:
    listener, admin = setup
    code, output = run_cli(
        "webhooks", "register", "groove-helpdesk", "--url", listener.url, "--events", "ticket_started"
    )
    assert code == 0, output
    assert "/hooks/groove-helpdesk/" in output
    code, listing = run_cli("webhooks", "list", "groove-helpdesk", "--json")
    assert code == 0 and "***" in listing and output.split("/hooks/groove-helpdesk/")[1].split()[0] not in listing
    code, streams = run_cli("streams", "groove-helpdesk", "--json")  # works while listen holds the store
    assert code == 0 and '"webhook_events"' in streams
    with groove_client(live_sandbox) as client:
        numbers = create_tickets(client, 5, "e2e")
    deliveries = settled(admin, "groove-helpdesk", 5)
    # a replay of a genuine delivery (same bytes, same headers) is acknowledged and not stored again
    first = deliveries[0]
    body = httpx.Request("POST", "/", json=first["payload"]).content
    replay = httpx.post(first["url"], content=body.replace(b", ", b",").replace(b": ", b":"), headers=first["headers"])
    assert (replay.status_code, replay.json()["stored"]) == (200, False)
    listener.stop()
    stored = rows(listener.store, "groove-helpdesk")
    assert sorted(r["number"] for r in stored) == sorted(numbers)
    assert len({r["id"] for r in stored}) == 5
    assert {(r["type"], r["scheme"], r["state"]) for r in stored} == {("ticket_started", "url-secret", "unread")}


def test_volt_signed_events_arrive_once_with_typed_columns(
    setup: tuple[Listener, httpx.Client], live_sandbox: Sandbox
) -> None:
    listener, admin = setup
    admin.put("volt/settings", json={"sent_after_seconds": 0, "delivered_after_seconds": 0})
    code, output = run_cli("webhooks", "register", "volt", "--url", listener.url)  # Volt's signed test request
    assert code == 0, output
    creds = live_sandbox.credentials(base_url=str(live_sandbox.url))["volt"]
    with httpx.Client(headers={"Authorization": f"Bearer {creds['token']}"}) as volt:
        for i in range(3):
            sent = volt.post(
                creds["graphql_url"],
                json={
                    "query": 'mutation s($b: String!) { createMessage(to: "+15555556893", from: "+15555554321", '
                    "body: $b) { id } }",
                    "variables": {"b": f"hello {i}"},
                },
            )
            assert "errors" not in sent.json(), sent.text
    settled(admin, "volt", 7)  # the test request, then sent + finalized per message
    listener.stop()
    stored = rows(listener.store, "volt")
    assert len(stored) == len({r["id"] for r in stored}) == 7
    by_type = sorted((r["type"], r["text"] or "") for r in stored)
    assert by_type[-1] == ("webhook.test", "")
    messages = [r for r in stored if r["type"] != "webhook.test"]
    assert sorted((r["type"], r["text"], r["status"]) for r in messages) == sorted(
        [
            (t, f"hello {i}", s)
            for i in range(3)
            for t, s in (("message.sent", "sent"), ("message.finalized", "delivered"))
        ]
    )
    assert {(r["scheme"], r["to_number"]) for r in messages} == {("rsa-sha256", "+15555556893")}


def test_listen_killed_mid_stream_loses_no_acknowledged_event_and_stores_none_twice(
    setup: tuple[Listener, httpx.Client], live_sandbox: Sandbox
) -> None:
    listener, admin = setup
    admin.put("webhooks/config", json={"backoff_seconds": [0.2] * 50})
    assert (
        run_cli("webhooks", "register", "groove-helpdesk", "--url", listener.url, "--events", "ticket_started")[0] == 0
    )
    numbers: list[int] = []
    with groove_client(live_sandbox) as client:
        sender = threading.Thread(target=lambda: numbers.extend(create_tickets(client, 60, "crash")))
        sender.start()  # the sandbox keeps creating events (and delivering them) while listen dies
        killed = listener.kill_at(5)
        sender.join()
    assert killed, "listen finished before it was killed"
    listener.start()
    deliveries = settled(admin, "groove-helpdesk", 60)
    assert all(d["status"] == "delivered" for d in deliveries)
    retried = [d for d in deliveries if len(d["attempts"]) > 1]
    assert retried, "no delivery needed a retry: the kill did not interrupt the stream"
    listener.stop()
    stored = rows(listener.store, "groove-helpdesk")
    assert len(stored) == len({r["id"] for r in stored})  # none twice
    assert sorted(r["number"] for r in stored) == sorted(numbers)  # every acknowledged one (all, in the end)


def test_a_changed_volt_key_is_refused_until_accepted(setup: tuple[Listener, httpx.Client], tmp_path: Path) -> None:
    listener, _ = setup
    assert run_cli("webhooks", "register", "volt", "--url", listener.url)[0] == 0
    endpoints = EndpointFile(tmp_path / "home" / "webhooks.json")
    pinned = endpoints.get("volt")
    assert pinned is not None and pinned.public_key
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pinned.public_key = contract.pem_public_key(other)  # what was pinned before Volt rotated its key
    endpoints.put(pinned)
    code, output = run_cli("webhooks", "register", "volt", "--url", listener.url)
    assert code == 2 and "key changed" in output and "--accept-new-key" in output
    assert endpoints.get("volt").public_key == contract.pem_public_key(other)  # type: ignore[union-attr]
    code, output = run_cli("webhooks", "register", "volt", "--url", listener.url, "--accept-new-key")
    assert code == 0, output
    assert endpoints.get("volt").public_key != contract.pem_public_key(other)  # type: ignore[union-attr]
