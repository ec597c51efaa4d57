"""Receiver fixtures: an endpoints file in a temp home, a store, and the receiver app driven in-process."""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from engagesync.sync.store import Store
from engagesync.sync.webhooks import verify
from engagesync.sync.webhooks.endpoints import Endpoint, EndpointFile
from engagesync.sync.webhooks.receiver import Receiver, Settings
from engagesync.sync.webhooks.storage import EventStore

SECRET = "whsec_" + base64.b64encode(b"k" * 24).decode()


def standard_headers(secret: str, msg_id: str, body: bytes, at: float | None = None) -> dict[str, str]:
    stamp = int(time.time() if at is None else at)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(stamp),
        "webhook-signature": verify.standard_sign(secret, msg_id, stamp, body),
        "content-type": "application/json",
    }


class Harness:
    """The receiver app with its store; ``post`` runs one request (or several at once) in-process."""

    def __init__(self, tmp: Path, settings: Settings | None = None) -> None:
        self.endpoints = EndpointFile(tmp / "webhooks.json")
        self.store = Store(str(tmp / "events.duckdb"))
        self.events = EventStore(self.store)
        self.receiver = Receiver(self.events, self.endpoints, settings)

    def add(self, endpoint: Endpoint) -> Endpoint:
        self.endpoints.put(endpoint)
        return endpoint

    def post_many(self, requests: list[tuple[str, bytes, dict[str, str]]]) -> list[httpx.Response]:
        async def run() -> list[httpx.Response]:
            async with self.receiver.lifespan(self.receiver.app):
                transport = httpx.ASGITransport(app=self.receiver.app)
                async with httpx.AsyncClient(transport=transport, base_url="http://listen") as client:
                    return list(await asyncio.gather(*(client.post(p, content=b, headers=h) for p, b, h in requests)))

        return asyncio.run(run())

    def post(self, path: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
        return self.post_many([(path, body, headers)])[0]

    def rows(self, name: str) -> list[dict[str, Any]]:
        table = self.events.table(name)
        try:
            names_rows = list(self.store.iter_query(f"SELECT * FROM {table} ORDER BY received_at"))
        except Exception:
            return []
        return [dict(zip(names, row, strict=True)) for names, rows in names_rows for row in rows]


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    h = Harness(tmp_path)
    try:
        yield h
    finally:
        h.store.close()


@pytest.fixture(scope="session")
def rsa_keys() -> tuple[rsa.RSAPrivateKey, rsa.RSAPrivateKey]:
    """Two RSA keys: the sender's, and another one (a forger's)."""
    return (
        rsa.generate_private_key(public_exponent=65537, key_size=2048),
        rsa.generate_private_key(public_exponent=65537, key_size=2048),
    )
