"""The webhook outbox: the built-in sink, retries with backoff on the virtual clock, real receivers."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from engagesync.sandbox.app import Sandbox
from engagesync.sandbox.clock import iso8601

from .echo_api import admin_client, echo_client, echo_sandbox

T2030 = 1_893_456_000


@dataclass
class Receiver:
    """A real webhook receiver on a loopback port (Starlette under uvicorn in a thread).

    It records each request's exact body bytes and headers and answers the queued ``statuses`` in
    turn (then 200), after ``delay`` seconds.
    """

    statuses: list[int] = field(default_factory=list)
    delay: float = 0.0
    bodies: list[bytes] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}/hook"
        app = Starlette(routes=[Route("/hook", self._hook, methods=["POST"])])
        self._server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True)

    async def _hook(self, request: Request) -> Response:
        self.bodies.append(await request.body())
        self.headers.append(dict(request.headers))
        if self.delay:
            await asyncio.sleep(self.delay)
        return Response(b"ok", status_code=self.statuses.pop(0) if self.statuses else 200)

    def start(self) -> Receiver:
        self._thread.start()
        while not self._server.started:
            assert self._thread.is_alive(), "receiver failed to start"
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._sock.close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.stop()


@pytest.fixture
def adm(sb: Sandbox) -> httpx.Client:
    client = admin_client(sb)
    assert client.post("clock/freeze").status_code == 200
    assert client.post("clock/set", json={"epoch": T2030}).status_code == 200
    return client


def set_hook(echo: httpx.Client, url: str) -> None:
    r = echo.put("hook", json={"url": url})
    assert r.status_code == 200, r.text


def configure(adm: httpx.Client, **config: Any) -> dict[str, Any]:
    r = adm.put("webhooks/config", json=config)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def delivery(adm: httpx.Client, delivery_id: int) -> dict[str, Any]:
    found = [d for d in adm.get("webhooks/deliveries").json()["deliveries"] if d["id"] == delivery_id]
    assert len(found) == 1
    return found[0]


def notify(adm: httpx.Client, echo: httpx.Client, item_id: int = 1, content: bytes | None = None) -> int:
    """Trigger a webhook; return once its first attempt is on record (inline or in the background)."""
    r = echo.post(f"items/{item_id}/notify", content=content)
    assert r.status_code == 202, r.text
    delivery_id: int = r.json()["delivery_id"]
    eventually(lambda: len(delivery(adm, delivery_id)["attempts"]) >= 1)
    return delivery_id


def eventually(check: Callable[[], bool], seconds: float = 3.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


# -- the built-in sink ---------------------------------------------------------------------------
def test_delivery_to_the_built_in_sink(adm: httpx.Client, echo: httpx.Client) -> None:
    item = echo.get("items/1").json()["item"]
    delivery_id = notify(adm, echo)
    received = adm.get("sink/echo-default").json()["received"]
    assert len(received) == 1
    assert received[0]["body"] == {"event": "item.notify", "item": item}
    assert received[0]["at"] == iso8601(T2030)
    headers = received[0]["headers"]
    assert headers["content-type"] == "application/json"
    assert headers["user-agent"] == "engagesync-sandbox/echo"
    assert headers["x-sandbox-delivery"] == str(delivery_id)
    assert headers["x-sandbox-attempt"] == "1"

    d = delivery(adm, delivery_id)
    assert d["status"] == "delivered"
    assert d["event"] == "item.notify"
    assert d["url"] == "http://sandbox/_sandbox/sink/echo-default"
    assert d["payload"] == {"event": "item.notify", "item": item}
    assert [(a["attempt"], a["status_code"], a["error"], a["at"]) for a in d["attempts"]] == [
        (1, 200, None, iso8601(T2030))
    ]
    assert d["next_attempt_at"] is None


def test_sink_answers_the_requested_status_and_can_be_cleared(adm: httpx.Client) -> None:
    r = adm.post("sink/manual", params={"status": 500}, content=b'{"a": 1}')
    assert r.status_code == 500
    assert adm.post("sink/manual", content=b"plain text").status_code == 200
    bodies = [x["body"] for x in adm.get("sink/manual").json()["received"]]
    assert bodies == [{"a": 1}, "plain text"]
    assert adm.get("sink/other").json()["received"] == []
    assert adm.delete("sink/manual").status_code == 204
    assert adm.get("sink/manual").json()["received"] == []


def test_deliveries_can_be_filtered(sb: Sandbox, adm: httpx.Client, echo: httpx.Client) -> None:
    notify(adm, echo)
    set_hook(echo, "http://sandbox/_sandbox/sink/down?status=500")
    notify(adm, echo, 2)
    statuses = [d["status"] for d in adm.get("webhooks/deliveries").json()["deliveries"]]
    assert statuses == ["delivered", "pending"]
    assert len(adm.get("webhooks/deliveries", params={"status": "pending"}).json()["deliveries"]) == 1
    assert adm.get("webhooks/deliveries", params={"api": "nope"}).json()["deliveries"] == []
    assert len(adm.get("webhooks/deliveries", params={"event": "item.notify"}).json()["deliveries"]) == 2
    assert adm.get("stats").json()["webhooks"] == {"delivered": 1, "pending": 1}


# -- retries -------------------------------------------------------------------------------------
def test_failing_receiver_is_retried_with_backoff_on_the_virtual_clock(adm: httpx.Client, echo: httpx.Client) -> None:
    assert configure(adm, backoff_seconds=[10, 60])["max_attempts"] == 3
    set_hook(echo, "http://sandbox/_sandbox/sink/down?status=500")
    delivery_id = notify(adm, echo)

    d = delivery(adm, delivery_id)
    assert d["status"] == "pending"
    assert [(a["attempt"], a["status_code"]) for a in d["attempts"]] == [(1, 500)]
    assert d["attempts"][0]["error"] == "receiver answered 500"
    assert d["last_error"] == "receiver answered 500"
    assert d["next_attempt_at"] == iso8601(T2030 + 10)

    adm.post("clock/advance", json={"seconds": 9})
    assert len(delivery(adm, delivery_id)["attempts"]) == 1  # not due yet
    adm.post("clock/advance", json={"seconds": 1})
    d = delivery(adm, delivery_id)
    assert [(a["attempt"], a["status_code"], a["at"]) for a in d["attempts"]] == [
        (1, 500, iso8601(T2030)),
        (2, 500, iso8601(T2030 + 10)),
    ]
    assert d["status"] == "pending"
    assert d["next_attempt_at"] == iso8601(T2030 + 70)

    adm.post("clock/advance", json={"seconds": 60})
    d = delivery(adm, delivery_id)
    assert d["status"] == "failed"
    assert [a["attempt"] for a in d["attempts"]] == [1, 2, 3]
    assert d["next_attempt_at"] is None
    assert d["last_error"] == "receiver answered 500"

    adm.post("clock/advance", json={"seconds": 100_000})
    assert len(delivery(adm, delivery_id)["attempts"]) == 3  # no attempts after giving up
    sink = adm.get("sink/down").json()["received"]
    assert [r["headers"]["x-sandbox-attempt"] for r in sink] == ["1", "2", "3"]
    assert adm.get("stats").json()["webhooks"] == {"failed": 1}


def test_receiver_that_recovers_gets_the_delivery(adm: httpx.Client, echo: httpx.Client, receiver: Receiver) -> None:
    configure(adm, backoff_seconds=[30, 30, 30])
    receiver.statuses = [503, 502]
    set_hook(echo, receiver.url)
    delivery_id = notify(adm, echo)
    assert delivery(adm, delivery_id)["status"] == "pending"
    adm.post("clock/advance", json={"seconds": 30})
    adm.post("clock/advance", json={"seconds": 30})
    d = delivery(adm, delivery_id)
    assert d["status"] == "delivered"
    assert [a["status_code"] for a in d["attempts"]] == [503, 502, 200]
    assert d["last_error"] is None
    assert len(receiver.bodies) == 3
    assert len(set(receiver.bodies)) == 1  # every attempt sends the same bytes


def test_unreachable_receiver_is_a_connect_error_and_retried(adm: httpx.Client, echo: httpx.Client) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound but not listening: connections are refused
        set_hook(echo, f"http://127.0.0.1:{port}/hook")
        configure(adm, backoff_seconds=[5])
        delivery_id = notify(adm, echo)
        first = delivery(adm, delivery_id)
        assert first["status"] == "pending"
        assert first["attempts"][0]["status_code"] is None
        assert first["attempts"][0]["error"].startswith("ConnectError")
        adm.post("clock/advance", json={"seconds": 5})
        assert delivery(adm, delivery_id)["status"] == "failed"


def test_slow_receiver_attempt_times_out(adm: httpx.Client, echo: httpx.Client, receiver: Receiver) -> None:
    configure(adm, timeout_seconds=0.2, backoff_seconds=[60])
    receiver.delay = 0.6
    set_hook(echo, receiver.url)
    d = delivery(adm, notify(adm, echo))
    assert d["status"] == "pending"
    assert d["attempts"][0]["error"].startswith("ReadTimeout")
    assert d["attempts"][0]["duration_ms"] >= 150


def test_slow_receiver_does_not_hold_up_the_api_response_in_process(
    sb: Sandbox, adm: httpx.Client, receiver: Receiver
) -> None:
    """The call that caused a webhook answers without waiting for the receiver, as over loopback.

    Over a socket the response is sent before delivery starts; in-process the client must not wait
    for (or time out on) a receiver's latency either.
    """
    receiver.delay = 1.0
    echo = echo_client(sb)
    set_hook(echo, receiver.url)
    started = time.perf_counter()
    r = echo.post("items/1/notify", timeout=0.5)
    assert r.status_code == 202
    assert time.perf_counter() - started < 0.5
    eventually(lambda: delivery(adm, r.json()["delivery_id"])["status"] == "delivered")


def test_manual_flush_runs_due_deliveries(adm: httpx.Client, echo: httpx.Client, receiver: Receiver) -> None:
    configure(adm, backoff_seconds=[0])
    receiver.statuses = [500]
    set_hook(echo, receiver.url)
    delivery_id = notify(adm, echo)
    assert delivery(adm, delivery_id)["status"] == "pending"
    assert adm.post("webhooks/flush").json() == {"attempted": 1}
    assert delivery(adm, delivery_id)["status"] == "delivered"
    assert adm.post("webhooks/flush").json() == {"attempted": 0}


# -- config --------------------------------------------------------------------------------------
def test_outbox_config_defaults_update_and_validation(adm: httpx.Client) -> None:
    defaults = adm.get("webhooks/config").json()
    assert defaults["max_attempts"] == len(defaults["backoff_seconds"]) + 1
    assert defaults["backoff_seconds"] == sorted(defaults["backoff_seconds"])
    updated = configure(adm, backoff_seconds=[1, 2.5], timeout_seconds=3)
    assert updated == {"backoff_seconds": [1.0, 2.5], "max_attempts": 3, "timeout_seconds": 3.0}
    assert configure(adm, timeout_seconds=4)["backoff_seconds"] == [1.0, 2.5]  # partial update
    for bad in (
        {"backoff_seconds": 5},
        {"backoff_seconds": [1, -1]},
        {"backoff_seconds": ["soon"]},
        {"timeout_seconds": "never"},
    ):
        r = adm.put("webhooks/config", json=bad)
        assert r.status_code == 400, bad
        assert r.json()["error"]
    assert adm.get("webhooks/config").json() == {
        "backoff_seconds": [1.0, 2.5],
        "max_attempts": 3,
        "timeout_seconds": 4.0,
    }


def test_no_backoff_means_one_attempt(adm: httpx.Client, echo: httpx.Client) -> None:
    assert configure(adm, backoff_seconds=[])["max_attempts"] == 1
    set_hook(echo, "http://sandbox/_sandbox/sink/down?status=503")
    d = delivery(adm, notify(adm, echo))
    assert d["status"] == "failed"
    assert [a["status_code"] for a in d["attempts"]] == [503]


# -- real loopback receivers ---------------------------------------------------------------------
def test_loopback_receiver_gets_the_exact_body_bytes(adm: httpx.Client, echo: httpx.Client, receiver: Receiver) -> None:
    raw = '{"z": 1,  "a": "café ☕", "n": [1.50, 2e3]}\n'.encode()
    set_hook(echo, receiver.url)
    delivery_id = notify(adm, echo, content=raw)
    assert receiver.bodies == [raw]
    assert receiver.headers[0]["content-type"] == "application/json"
    assert receiver.headers[0]["content-length"] == str(len(raw))
    assert receiver.headers[0]["x-sandbox-delivery"] == str(delivery_id)
    assert delivery(adm, delivery_id)["status"] == "delivered"


def test_non_json_bytes_are_delivered_untouched(adm: httpx.Client, echo: httpx.Client, receiver: Receiver) -> None:
    raw = b"\x00\xff binary \xfe"
    set_hook(echo, receiver.url)
    delivery_id = notify(adm, echo, content=raw)
    assert receiver.bodies == [raw]
    assert delivery(adm, delivery_id)["status"] == "delivered"


def test_second_sandboxs_sink_served_over_loopback(adm: httpx.Client, echo: httpx.Client) -> None:
    with echo_sandbox() as other:
        remote = other.serve()
        set_hook(echo, f"{remote}/_sandbox/sink/remote")
        delivery_id = notify(adm, echo)
        received = admin_client(other).get("sink/remote").json()["received"]
    assert len(received) == 1
    assert received[0]["body"]["event"] == "item.notify"
    assert received[0]["headers"]["x-sandbox-delivery"] == str(delivery_id)
    assert delivery(adm, delivery_id)["status"] == "delivered"


def test_webhooks_from_a_loopback_request_are_delivered(sb: Sandbox, adm: httpx.Client) -> None:
    base = sb.serve()
    with echo_client(sb, base=base) as live:
        assert live.put("hook", json={"url": f"{base}/_sandbox/sink/self"}).status_code == 200
        delivery_id = live.post("items/1/notify").json()["delivery_id"]
    eventually(lambda: delivery(adm, delivery_id)["status"] == "delivered")
    assert adm.get("sink/self").json()["received"][0]["body"]["item"]["id"] == 1


def test_a_served_sandbox_retries_due_deliveries_on_its_own(sb: Sandbox, receiver: Receiver) -> None:
    """Server mode polls for due retries, so a running clock alone brings the next attempt."""
    adm = admin_client(sb)
    configure(adm, backoff_seconds=[0.2])
    receiver.statuses = [500]
    base = sb.serve()
    with echo_client(sb, base=base) as live:
        assert live.put("hook", json={"url": receiver.url}).status_code == 200
        delivery_id = live.post("items/1/notify").json()["delivery_id"]
    eventually(lambda: delivery(adm, delivery_id)["status"] == "delivered")
    assert [a["status_code"] for a in delivery(adm, delivery_id)["attempts"]] == [500, 200]
