"""One delivery whose URL or transport blows up is that delivery's failure, never the outbox's.

A URL httpx cannot even build a request for (``httpx.InvalidURL`` is not an ``httpx.HTTPError``)
used to escape the attempt: the run stopped there, every later delivery stayed pending and
``POST /_sandbox/webhooks/flush`` answered 500. The echo API stores any http(s)-prefixed URL, so it
reaches the outbox unvalidated, as an old ``--db`` file's webhooks would.
"""

from __future__ import annotations

from typing import Any

import httpx

from engagesync.sandbox.app import Sandbox
from engagesync.sandbox.clock import iso8601

from .test_webhooks import T2030, configure, delivery, set_hook

UNENCODABLE = "https://\U0009d302zz/hook"  # not valid IDNA: httpx raises InvalidURL building the request
SINK = "http://sandbox/_sandbox/sink/isolated"


def frozen(adm: httpx.Client) -> None:
    assert adm.post("clock/freeze").status_code == 200
    assert adm.post("clock/set", json={"epoch": T2030}).status_code == 200


def enqueue(sb: Sandbox, echo: httpx.Client, url: str) -> int:
    """Queue a delivery to ``url`` without attempting it (the request's own background run is awaited first)."""
    set_hook(echo, url)
    response = echo.post("items/1/notify")
    assert response.status_code == 202, response.text
    delivery_id: int = response.json()["delivery_id"]
    return delivery_id


def attempts(d: dict[str, Any]) -> list[tuple[int, int | None, str]]:
    return [(a["attempt"], a["status_code"], a["at"]) for a in d["attempts"]]


def test_a_url_httpx_cannot_build_fails_alone_and_flush_answers_200(
    sb: Sandbox, adm: httpx.Client, echo: httpx.Client
) -> None:
    frozen(adm)
    configure(adm, backoff_seconds=[10])
    bad = enqueue(sb, echo, UNENCODABLE)
    good = enqueue(sb, echo, SINK)

    flushed = adm.post("webhooks/flush")
    assert flushed.status_code == 200, flushed.text

    d = delivery(adm, bad)
    assert (d["status"], attempts(d)) == ("pending", [(1, None, iso8601(T2030))])
    assert d["last_error"].startswith("InvalidURL: ")
    assert d["next_attempt_at"] == iso8601(T2030 + 10)  # retried on the virtual clock like any failure
    assert delivery(adm, good)["status"] == "delivered"
    assert len(adm.get("sink/isolated").json()["received"]) == 1

    later = enqueue(sb, echo, SINK)  # queued behind the bad one: still delivered
    assert adm.post("clock/advance", json={"seconds": 10}).status_code == 200
    assert adm.post("webhooks/flush").status_code == 200
    d = delivery(adm, bad)
    assert d["status"] == "failed" and [a["attempt"] for a in d["attempts"]] == [1, 2]
    assert delivery(adm, later)["status"] == "delivered"
    assert adm.get("stats").json()["webhooks"] == {"delivered": 2, "failed": 1}


def test_each_way_a_delivery_fails_stays_with_it(sb: Sandbox, adm: httpx.Client, echo: httpx.Client) -> None:
    """A receiver error, then a URL httpx refuses: each is its own delivery's last error; the next goes out."""
    frozen(adm)
    configure(adm, backoff_seconds=[])
    # the sandbox's own origin, a path no app serves: the dispatcher answers 404 (a receiver error, retried)
    missing = enqueue(sb, echo, "http://sandbox/nowhere")
    control = enqueue(sb, echo, "https://host\x7fname.example/hook")  # a control character httpx refuses
    good = enqueue(sb, echo, SINK)
    assert adm.post("webhooks/flush").status_code == 200
    assert delivery(adm, missing)["last_error"] == "receiver answered 404"
    d = delivery(adm, control)
    assert d["status"] == "failed" and d["last_error"].startswith("InvalidURL: ")
    assert delivery(adm, good)["status"] == "delivered"
