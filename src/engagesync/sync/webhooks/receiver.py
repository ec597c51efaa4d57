"""The receiver: an ASGI app answering ``POST /hooks/<name>/<token>``, durable before it acknowledges.

A request is authenticated (the URL token, then the endpoint's scheme over the raw bytes), given a
delivery key (the sender's signed id, else a hash of the signed content) and queued; one writer task
commits queued events in batches (one transaction each) and only then are their requests answered
2xx. A replay of a stored delivery gets 200 ``{"stored": false}``. When the bounded queue is full the
answer is 503 with ``Retry-After``: the sender's retries absorb the burst and nothing is dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ...apis import registry
from ...client.connector import WebhookScheme
from . import verify
from .endpoints import Endpoint, EndpointFile
from .storage import Event, EventStore, pick

MAX_BODY = 1024 * 1024
#: The scheme of an endpoint not tied to a connection (e.g. a destination's response webhook).
GENERIC = WebhookScheme(kind="standard", type_path=("type",))


@dataclass
class Settings:
    queue_size: int = 1000
    batch: int = 256
    tolerance: float = verify.DEFAULT_TOLERANCE
    retry_after: int = 1
    #: Seconds between prunes of expired delivery keys.
    prune_every: float = 600.0


def _refuse(status: int, reason: str) -> Response:
    return JSONResponse({"error": reason}, status_code=status)


class Receiver:
    def __init__(
        self,
        events: EventStore,
        endpoints: EndpointFile,
        settings: Settings | None = None,
        log: Callable[[str], None] = lambda _: None,
    ) -> None:
        self.events, self.endpoints, self.settings, self.log = events, endpoints, settings or Settings(), log
        self.queue: asyncio.Queue[tuple[Event, asyncio.Future[bool]] | None] | None = None
        self.total = 0
        self.app = Starlette(
            routes=[
                Route("/hooks/{name}/{token}", self.hook, methods=["POST"]),
                Route("/health", self.health, methods=["GET"]),
            ],
            lifespan=self.lifespan,
        )

    # -- lifecycle -------------------------------------------------------------------------------
    @contextlib.asynccontextmanager
    async def lifespan(self, app: Starlette) -> AsyncIterator[None]:
        self.queue = asyncio.Queue(self.settings.queue_size)
        await asyncio.to_thread(self.events.prune)
        writer = asyncio.create_task(self._writer())
        pruner = asyncio.create_task(self._pruner())
        try:
            yield
        finally:  # uvicorn has let in-flight requests finish (SIGTERM): commit what is queued, then stop
            pruner.cancel()
            await self.queue.put(None)
            await writer

    async def _pruner(self) -> None:
        while True:
            await asyncio.sleep(self.settings.prune_every)
            with contextlib.suppress(Exception):
                await asyncio.to_thread(self.events.prune)

    async def _writer(self) -> None:
        assert self.queue is not None
        stop = False
        while not stop:
            first = await self.queue.get()
            items = [] if first is None else [first]
            stop = first is None
            while not stop and len(items) < self.settings.batch:
                try:
                    item = self.queue.get_nowait()
                except asyncio.QueueEmpty:
                    break
                if item is None:
                    stop = True
                else:
                    items.append(item)
            if not items:
                continue
            try:
                stored = await asyncio.to_thread(self.events.commit, [e for e, _ in items])
            except Exception as exc:  # every waiting request must get an answer
                for _, future in items:
                    if not future.done():
                        future.set_exception(exc)
                self.log(f"error: could not store {len(items)} event(s): {type(exc).__name__}: {exc}")
                continue
            for (_, future), new in zip(items, stored, strict=True):
                if not future.done():
                    future.set_result(new)
            added = sum(stored)
            self.total += added
            self.log(f"progress webhooks: stored {added}, replays {len(stored) - added} (total {self.total})")

    # -- requests --------------------------------------------------------------------------------
    async def health(self, request: Request) -> Response:
        return JSONResponse({"ok": True, "stored": self.total})

    async def hook(self, request: Request) -> Response:
        name, token = request.path_params["name"], request.path_params["token"]
        endpoint = self.endpoints.current().get(name)
        if endpoint is None or not verify.same_token(endpoint.token, token):
            self.log(f"refused {name}: unknown endpoint or wrong URL secret")
            return _refuse(404, "no such webhook endpoint")
        body = await request.body()
        if len(body) > MAX_BODY:
            return _refuse(413, f"body larger than {MAX_BODY} bytes")
        scheme = registry.connector(endpoint.api).webhook_scheme() if endpoint.api else GENERIC
        checked = self._authenticate(endpoint, scheme, request, body)
        if isinstance(checked, Response):
            return checked
        if self.queue is None:
            return _refuse(503, "starting")
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        try:
            self.queue.put_nowait((checked, future))
        except asyncio.QueueFull:
            return Response(
                b'{"error":"busy, retry later"}',
                status_code=503,
                media_type="application/json",
                headers={"Retry-After": str(self.settings.retry_after)},
            )
        try:
            stored = await future
        except Exception:  # not stored: the sender must retry
            return _refuse(500, "the event could not be stored; retry")
        return JSONResponse({"stored": stored, "id": checked.id})

    def _authenticate(
        self, endpoint: Endpoint, scheme: WebhookScheme, request: Request, body: bytes
    ) -> Event | Response:
        """The event to store, or the refusal (nothing about secrets or signatures in it)."""
        headers = request.headers
        if endpoint.scheme == "standard":
            problem = verify.standard(endpoint.secrets, headers, body, self.settings.tolerance)
            key = headers.get("webhook-id", "")
        elif endpoint.scheme == "rsa-sha256":
            if not endpoint.public_key:
                problem = "no public key pinned for this endpoint; run `engagesync webhooks register` again"
            else:
                problem = verify.rsa_sha256(endpoint.public_key, headers.get(scheme.signature_header or ""), body)
            key = ""
        elif endpoint.scheme == "url-secret":
            problem = None
            if scheme.event_header and not headers.get(scheme.event_header):
                problem = f"missing {scheme.event_header} header"
            key = ""
        else:
            problem = f"unknown scheme {endpoint.scheme!r}"
        if problem is not None:
            self.log(f"refused {endpoint.name}: {problem}")
            return _refuse(400 if problem.startswith("missing") or "malformed" in problem else 401, problem)
        try:
            payload: Any = json.loads(body)
        except ValueError:
            payload = None
        if not key and scheme.id_field:
            signed_id = pick(payload, (scheme.id_field,))
            key = str(signed_id) if isinstance(signed_id, str | int) and signed_id != "" else ""
        event_type = headers.get(scheme.event_header) if scheme.event_header else None
        if not key:  # nothing signed names the delivery: the signed content itself does
            key = "sha256:" + hashlib.sha256((event_type or "").encode() + b"\n" + body).hexdigest()
        if event_type is None and scheme.type_path:
            found = pick(payload, scheme.type_path)
            event_type = found if isinstance(found, str) else None
        fields = {column: (type_, pick(payload, path)) for column, (type_, path) in scheme.columns.items()}
        return Event(endpoint.name, key, event_type, endpoint.scheme, body, payload, fields)
