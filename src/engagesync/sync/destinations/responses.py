"""Seed 002's response webhook: every API response of a destination kept, and optionally forwarded.

A ``ResponseRecorder`` hooks the destination's client: each response the API gives while a call of
the destination is in flight (retries and lookups included: "every API response") becomes one row
of ``<destination>.responses``, written when it arrives. A response row is written before the ledger
marks its records done, so a crash in between leaves a row for a call that really happened and the
next run, reconciling, makes no second call for it.

Forwarding POSTs each row as JSON to the configured URL, signed the Standard Webhooks way
(``webhook-id``, ``webhook-timestamp``, ``webhook-signature: v1,<base64 HMAC-SHA256>`` over
``id.timestamp.body`` with the destination's ``whsec_`` secret) by the signer whose deliveries
``engagesync listen`` verifies. Rows not yet accepted stay ``pending`` and are sent again after the
next window or run with the same ``webhook-id``, so a receiver drops repeats.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx

from ...client.http import ApiClient
from ..store import Store, utcnow
from ..webhooks.verify import new_hmac_secret, standard_sign
from . import storage

#: Seconds a webhook receiver gets to answer.
WEBHOOK_TIMEOUT = 10.0


def new_secret() -> str:
    """A Standard Webhooks signing secret (``whsec_`` + 24 random bytes), as ``listen`` verifies them."""
    return new_hmac_secret()


class ResponseRecorder:
    """Keeps each response of a destination's calls (``calls(keys)`` marks which records a call carries)."""

    def __init__(
        self, store: Store, name: str, keep_headers: list[str], run_id: int | None, forwarded: bool = False
    ) -> None:
        self.store = store
        #: Rows wait for the webhook (``pending``) only when one is configured.
        self.forwarded = forwarded
        self.name = name
        self.keep_headers = keep_headers
        self.run_id = run_id
        self._local = threading.local()
        self.rows = 0

    def attach(self, client: ApiClient) -> None:
        client.http.event_hooks.setdefault("response", []).append(self._on_response)

    @contextlib.contextmanager
    def call(self, keys: list[str]) -> Iterator[None]:
        self._local.keys = keys
        try:
            yield
        finally:
            self._local.keys = None

    def _on_response(self, response: httpx.Response) -> None:
        keys = getattr(self._local, "keys", None)
        if keys is None:
            return
        response.read()
        try:
            body: Any = response.json() if response.content else None
        except ValueError:
            body = response.text
        storage.add_response(
            self.store,
            self.name,
            {
                "run_id": self.run_id,
                "keys": keys,
                "method": response.request.method,
                "url": _path_only(response.request.url),
                "status": response.status_code,
                "headers": {h: response.headers[h] for h in self.keep_headers if h in response.headers},
                "body": body,
                "at": utcnow(),
                "webhook_id": "msg_" + secrets.token_hex(12),
                "webhook_status": "pending" if self.forwarded else None,
            },
        )
        self.rows += 1


def _path_only(url: httpx.URL) -> str:
    """The URL without its query (credential parameters such as GrowthGenius's never reach the table)."""
    return str(url.copy_with(query=None))


def forward(store: Store, name: str, url: str, secret: str, client: httpx.Client | None = None) -> tuple[int, int]:
    """POST every pending response of ``name`` to ``url``, oldest first; stop at the first failure
    (the receiver is down: the rest wait for the next call). Returns ``(delivered, failed)``."""
    own = client is None
    http = client or httpx.Client(timeout=WEBHOOK_TIMEOUT)
    delivered = failed = 0
    try:
        for row in list(storage.responses(store, name, "WHERE webhook_status = 'pending'")):
            payload = {
                "type": "destination.response",
                "destination": name,
                "timestamp": _iso(row["at"]),
                "data": {
                    "id": row["id"],
                    "run_id": row["run_id"],
                    "record_key": row["record_key"],
                    "record_keys": row["record_keys"],
                    "method": row["method"],
                    "url": row["url"],
                    "status": row["status"],
                    "headers": row["headers"],
                    "body": row["body"],
                },
            }
            body = json.dumps(payload, separators=(",", ":"), default=str).encode()
            stamp = int(time.time())
            headers = {
                "content-type": "application/json",
                "webhook-id": row["webhook_id"],
                "webhook-timestamp": str(stamp),
                "webhook-signature": standard_sign(secret, row["webhook_id"], stamp, body),
            }
            try:
                answer = http.post(url, content=body, headers=headers)
            except httpx.HTTPError:
                answer = None
            if answer is None or not answer.is_success:
                storage.webhook_done(store, name, row["id"], "pending")
                failed += 1
                break
            storage.webhook_done(store, name, row["id"], "delivered")
            delivered += 1
    finally:
        if own:
            http.close()
    return delivered, failed


def _iso(value: Any) -> str:
    return value.isoformat() + "Z" if isinstance(value, datetime) else str(value)
