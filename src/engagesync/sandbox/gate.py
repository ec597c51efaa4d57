"""The per-API gate every emulated request passes: journal, faults, auth, rate limit, headers.

Written as raw ASGI so it can do what a Starlette middleware cannot: hang, drop a connection
half-way through a response, or let the handler commit and then lose the response.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .api import EmulatedApi
from .context import SandboxContext
from .faults import FaultRule
from .journal import BODY_CAP, redact_headers


class DroppedConnection(httpx.RemoteProtocolError):
    """Raised by the sandbox to cut a connection mid-response.

    Over a socket uvicorn closes the transport and the client sees a truncated response; in-process
    httpx's ASGI transport re-raises it, so both modes surface the same ``httpx`` error class.
    """

    def __init__(self) -> None:
        super().__init__("sandbox fault: connection dropped")


class _QuietDrops(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], DroppedConnection))


logging.getLogger("uvicorn.error").addFilter(_QuietDrops())


def _journaled(receive: Receive, entry: Any) -> Receive:
    """``receive`` that copies the body the app reads (its first ``BODY_CAP`` bytes) into the journal."""
    kept = bytearray()

    async def tee() -> Message:
        message = await receive()
        if message["type"] == "http.request":
            chunk = message.get("body", b"")
            entry.body_bytes += len(chunk)
            if len(kept) < BODY_CAP:
                kept.extend(chunk[: BODY_CAP - len(kept)])
                entry.body = kept.decode("utf-8", "replace")
        return message

    return tee


class ApiGate:
    def __init__(self, ctx: SandboxContext, api: EmulatedApi, app: ASGIApp) -> None:
        self.ctx = ctx
        self.api = api
        self.app = app
        self._routes: list[BaseRoute] = api.routes()

    def allowed_methods(self, scope: Scope, subpath: str) -> list[str]:
        """Every method some route serves at this path, for a 405's ``Allow`` (RFC 9110 15.5.6).

        Starlette's router answers 405 from the first route whose path matches and lists only that
        route's methods, though ``GET /webhooks`` and ``POST /webhooks`` are two routes of one resource."""
        probe = {**scope, "path": subpath, "root_path": "", "method": "\x00"}
        matching = [r for r in self._routes if isinstance(r, Route) and r.methods and r.matches(probe)[0] != Match.NONE]
        # a literal segment names its own resource: /kb/themes is not the knowledge base "themes"
        fewest = min((len(r.param_convertors) for r in matching), default=0)
        methods = {m for r in matching if len(r.param_convertors) == fewest for m in r.methods or ()}
        order = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
        return sorted(methods, key=lambda m: (order.index(m) if m in order else len(order), m))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        ctx, api = self.ctx, self.api
        started = time.perf_counter()
        subpath = scope["path"][len(api.prefix) :] or "/"
        method = scope["method"]
        entry = ctx.journal.open(ctx.clock.now(), api.id, method, subpath, scope.get("query_string", b"").decode())
        entry.headers = redact_headers(scope.get("headers", []))
        receive = _journaled(receive, entry)
        status_box = [0]
        try:
            await self._handle(scope, receive, send, subpath, method, entry, status_box, started)
        except DroppedConnection:
            status_box[0] = 0  # the client never got a complete response
            raise
        finally:
            ctx.journal.close(entry, status_box[0], (time.perf_counter() - started) * 1000)
        if ctx.outbox.dirty:
            ctx.outbox.kick()

    async def _handle(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        subpath: str,
        method: str,
        entry: Any,
        status_box: list[int],
        started: float,
    ) -> None:
        ctx, api = self.ctx, self.api
        extra_headers: dict[str, str] = {}

        async def send_tracked(message: Message) -> None:
            if message["type"] == "http.response.start":
                # the journal shows the status before the client can read the response (and ask for it)
                status_box[0] = entry.status = message["status"]
                # so far: a client reading the journal right after its response sees at least this much
                entry.duration_ms = round((time.perf_counter() - started) * 1000, 3)
                if message["status"] == 405 and (allowed := self.allowed_methods(scope, subpath)):
                    extra_headers["Allow"] = ", ".join(allowed)
                if extra_headers:
                    names = {h.lower().encode() for h in extra_headers}
                    headers = [(k, v) for k, v in message.get("headers", []) if k.lower() not in names]
                    headers += [(k.lower().encode(), v.encode()) for k, v in extra_headers.items()]
                    message = {**message, "headers": headers}
            await send(message)

        operation = None
        if api.inspects_body:
            body = await _read_body(receive)
            receive = _replay(body, receive)
            operation = entry.operation = api.operation_name(subpath, body, scope.get("query_string", b"").decode())
        fault = ctx.faults.pick(api.id, method, subpath, operation)
        if fault is not None:
            entry.fault = fault.effect
        if fault is not None and not fault.after and await self._apply_before(fault, send_tracked):
            return

        request = Request(scope, receive)
        if not api.is_public(request):
            auth = api.authenticate(request)
            if auth is None:
                await api.unauthorized(request)(scope, receive, send_tracked)
                return
            entry.tenant_id = auth.tenant_id
            scope.setdefault("state", {})["tenant_id"] = auth.tenant_id
            scope["state"]["credential"] = auth.credential
            rule = ctx.rate_limit_for(api.id, auth.credential)
            if rule is not None:
                decision = ctx.limiter.hit(f"{api.id}:{auth.rate_key}", rule, ctx.clock.now())
                extra_headers.update(decision.headers())
                if not decision.allowed:
                    entry.rate_limited = True
                    await Response(b"", status_code=429)(scope, receive, send_tracked)
                    return

        if fault is not None and fault.after:
            await self._run_then_fail(fault, scope, receive, send_tracked)
            return
        await self.app(scope, receive, send_tracked)

    async def _apply_before(self, fault: FaultRule, send: Send) -> bool:
        """Apply a fault that strikes before the handler; True if the response is settled."""
        if fault.effect == "latency":
            await asyncio.sleep(fault.latency_ms / 1000)
            return False
        if fault.effect == "status":
            await self._send_error(fault, send)
            return True
        if fault.effect == "drop":
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", b"4096")],
                }
            )
            raise DroppedConnection()
        # timeout: hang past any reasonable client timeout, then answer like a gateway would.
        await asyncio.sleep(fault.timeout_seconds)
        await Response(b"", status_code=504)({"type": "http"}, _no_receive, send)
        return True

    async def _run_then_fail(self, fault: FaultRule, scope: Scope, receive: Receive, send: Send) -> None:
        """Let the handler do (and commit) its work, then spoil the response."""
        held: list[Message] = []

        async def hold(message: Message) -> None:
            held.append(message)

        await self.app(scope, receive, hold)
        if fault.effect == "latency":
            await asyncio.sleep(fault.latency_ms / 1000)
        elif fault.effect == "status":
            await self._send_error(fault, send)
            return
        elif fault.effect == "drop":
            head: Message = held[0] if held else {"type": "http.response.start", "status": 200, "headers": []}
            headers = [(k, v) for k, v in head.get("headers", []) if k.lower() != b"content-length"]
            headers.append((b"content-length", b"4096"))
            await send({**head, "headers": headers})
            raise DroppedConnection()
        elif fault.effect == "timeout":
            await asyncio.sleep(fault.timeout_seconds)
        for message in held:
            await send(message)

    async def _send_error(self, fault: FaultRule, send: Send) -> None:
        body, content_type = self.api.error_body(fault.status) if fault.body == "vendor" else (b"", "")
        headers = {"content-type": content_type} if body and content_type else {}
        await Response(body, status_code=fault.status, headers=headers)({"type": "http"}, _no_receive, send)


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands the already-read body to the handler, then defers to the real one."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _no_receive() -> Message:
    return {"type": "http.disconnect"}
