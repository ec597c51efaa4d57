"""Webhook outbox: every event is a row, every delivery attempt is journaled.

Deliveries are attempted right after the request that caused them; failures (non-2xx, refused
connection, timeout) are retried with backoff measured on the virtual clock, so a test advances the
clock to make the next attempt due instead of waiting. Signing is pluggable per API: Groove's
helpdesk sends none, Volt signs with RSA.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx

from .clock import iso8601

if TYPE_CHECKING:
    from .context import SandboxContext

#: A signer turns the exact body bytes (and the send time) into extra headers.
Signer = Callable[[bytes, float], dict[str, str]]

DEFAULT_BACKOFF = (30.0, 120.0, 600.0, 3600.0, 14400.0)


@dataclass
class OutboxConfig:
    backoff: Sequence[float] = field(default_factory=lambda: DEFAULT_BACKOFF)
    timeout_seconds: float = 5.0

    @property
    def max_attempts(self) -> int:
        return len(self.backoff) + 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "backoff_seconds": list(self.backoff),
            "max_attempts": self.max_attempts,
            "timeout_seconds": self.timeout_seconds,
        }


class Outbox:
    def __init__(self, ctx: SandboxContext) -> None:
        self.ctx = ctx
        self.config = OutboxConfig()
        self._running = threading.Lock()
        #: Origins (scheme://host:port) that are the sandbox itself: delivered in-process.
        self.self_origins: set[str] = {"http://sandbox", "http://testserver"}
        #: Set when a delivery was queued; the gate then kicks a delivery run after its response.
        self.dirty = False
        self._tasks: set[asyncio.Task[int]] = set()

    # -- producing -------------------------------------------------------------------------------
    def enqueue(
        self,
        api: str,
        tenant_id: int,
        event: str,
        url: str,
        payload: Any,
        signer: Signer | None = None,
        headers: dict[str, str] | None = None,
    ) -> int:
        body = payload if isinstance(payload, bytes) else json.dumps(payload, separators=(",", ":")).encode()
        now = self.ctx.clock.now()
        all_headers = {"Content-Type": "application/json", "User-Agent": f"engagesync-sandbox/{api}"}
        all_headers.update(headers or {})
        if signer is not None:
            all_headers.update(signer(body, now))
        cur = self.ctx.store.execute(
            "INSERT INTO webhook_deliveries (api, tenant_id, event, url, body, headers, status, attempts,"
            " next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?)",
            (api, tenant_id, event, url, body, json.dumps(all_headers), now, now),
        )
        self.dirty = True
        return int(cur.lastrowid or 0)

    # -- delivering ------------------------------------------------------------------------------
    def kick(self) -> None:
        """Deliver what is due in the background, so no API response waits for a receiver."""
        task = asyncio.get_running_loop().create_task(self.run_due())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def settle(self, timeout: float = 30.0) -> None:
        """Wait for background deliveries (admin reads call this so what they show is settled)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            pending = [t for t in list(self._tasks) if not t.done()]
            if not pending:
                return
            mine = [t for t in pending if t.get_loop() is loop]
            if mine:
                await asyncio.wait(mine, timeout=max(0.0, deadline - loop.time()))
            else:  # started by another mode's event loop (in-process vs server): poll
                await asyncio.sleep(0.01)

    async def drain(self) -> int:
        """Attempt everything due now and wait for any background run to finish."""
        attempted = await self.run_due()
        await self.settle()
        return attempted

    async def run_due(self) -> int:
        """Attempt every delivery that is due now; returns the number attempted."""
        if not self._running.acquire(blocking=False):
            self.dirty = True  # the run in progress will loop and pick these up
            return 0
        attempted: set[int] = set()  # one attempt per delivery per run, even with a zero backoff
        try:
            while True:
                self.dirty = False
                rows = [
                    r
                    for r in self.ctx.store.all(
                        "SELECT * FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= ? "
                        "ORDER BY next_attempt_at, id",
                        (self.ctx.clock.now(),),
                    )
                    if r["id"] not in attempted
                ]
                if rows:
                    async with self._client() as client:
                        for row in rows:
                            attempted.add(row["id"])
                            await self._attempt(client, row)
                if not self.dirty:
                    return len(attempted)
        finally:
            self._running.release()

    def _client(self) -> httpx.AsyncClient:
        app = self.ctx.asgi_app
        mounts: dict[str, httpx.AsyncBaseTransport] = {}
        if app is not None:
            for origin in self.self_origins:
                mounts[origin.rstrip("/") + "/"] = httpx.ASGITransport(app=app)
        return httpx.AsyncClient(timeout=self.config.timeout_seconds, mounts=mounts)

    async def deliver_once(self, delivery_id: int) -> str | None:
        """Attempt one delivery now, with no retry (e.g. a test request a registration waits on).

        Returns ``None`` when the receiver answered 2xx, else what went wrong; the delivery is then failed."""
        row = self.ctx.store.one("SELECT * FROM webhook_deliveries WHERE id = ?", (delivery_id,))
        if row is None:
            raise KeyError(delivery_id)
        # not due for the background runs while this attempt is in flight
        self.ctx.store.execute("UPDATE webhook_deliveries SET next_attempt_at = NULL WHERE id = ?", (delivery_id,))
        async with self._client() as client:
            return await self._attempt(client, row, final=True)

    async def _attempt(self, client: httpx.AsyncClient, row: Any, final: bool = False) -> str | None:
        attempt = int(row["attempts"]) + 1
        headers = json.loads(row["headers"])
        headers["X-Sandbox-Delivery"] = str(row["id"])
        headers["X-Sandbox-Attempt"] = str(attempt)
        started = time.perf_counter()
        status_code: int | None = None
        error: str | None = None
        try:
            response = await client.post(row["url"], content=row["body"], headers=headers)
            status_code = response.status_code
            if not 200 <= status_code < 300:
                error = f"receiver answered {status_code}"
        except Exception as exc:  # any failure is this delivery's, never the outbox's
            # not only httpx.HTTPError: httpx.InvalidURL (a host it cannot encode), a header it cannot
            # send, an in-process receiver that crashes. One bad delivery must not stop the others.
            error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        duration_ms = (time.perf_counter() - started) * 1000
        now = self.ctx.clock.now()
        with self.ctx.store.tx() as conn:
            conn.execute(
                "INSERT INTO webhook_attempts (delivery_id, attempt, at, status_code, error, duration_ms)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (row["id"], attempt, now, status_code, error, duration_ms),
            )
            if error is None:
                conn.execute(
                    "UPDATE webhook_deliveries SET status = 'delivered', attempts = ?, delivered_at = ?,"
                    " next_attempt_at = NULL, last_error = NULL WHERE id = ?",
                    (attempt, now, row["id"]),
                )
            elif final or attempt >= self.config.max_attempts:
                conn.execute(
                    "UPDATE webhook_deliveries SET status = 'failed', attempts = ?, next_attempt_at = NULL,"
                    " last_error = ? WHERE id = ?",
                    (attempt, error, row["id"]),
                )
            else:
                delay = self.config.backoff[attempt - 1]
                conn.execute(
                    "UPDATE webhook_deliveries SET attempts = ?, next_attempt_at = ?, last_error = ? WHERE id = ?",
                    (attempt, now + delay, error, row["id"]),
                )
        return error

    # -- inspecting ------------------------------------------------------------------------------
    def deliveries(
        self,
        api: str | None = None,
        tenant_id: int | None = None,
        status: str | None = None,
        event: str | None = None,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        sql = "SELECT * FROM webhook_deliveries WHERE 1=1"
        params: list[Any] = []
        for column, value in (("api", api), ("tenant_id", tenant_id), ("status", status), ("event", event)):
            if value is not None:
                sql += f" AND {column} = ?"
                params.append(value)
        sql += " ORDER BY id DESC LIMIT ?"
        params.append(limit)
        rows = list(reversed(self.ctx.store.all(sql, params)))
        if not rows:
            return []
        ids = [r["id"] for r in rows]
        attempts: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
        marks = ",".join("?" * len(ids))
        for a in self.ctx.store.all(f"SELECT * FROM webhook_attempts WHERE delivery_id IN ({marks}) ORDER BY id", ids):
            attempts[a["delivery_id"]].append(
                {
                    "attempt": a["attempt"],
                    "at": iso8601(a["at"]),
                    "status_code": a["status_code"],
                    "error": a["error"],
                    "duration_ms": round(a["duration_ms"], 3),
                }
            )
        out = []
        for r in rows:
            body = bytes(r["body"])
            try:
                payload: Any = json.loads(body)
            except ValueError:
                payload = body.decode("utf-8", "replace")
            out.append(
                {
                    "id": r["id"],
                    "api": r["api"],
                    "tenant_id": r["tenant_id"],
                    "event": r["event"],
                    "url": r["url"],
                    "status": r["status"],
                    "attempts": attempts[r["id"]],
                    "next_attempt_at": iso8601(r["next_attempt_at"]) if r["next_attempt_at"] else None,
                    "created_at": iso8601(r["created_at"]),
                    "last_error": r["last_error"],
                    "headers": json.loads(r["headers"]),
                    "payload": payload,
                }
            )
        return out
