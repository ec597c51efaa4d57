"""Composition: one ASGI app serving every emulated API under its prefix plus ``/_sandbox``.

``Sandbox`` is the handle users and tests hold. The same object serves in-process (httpx's ASGI
transport, or a sync client) and over loopback (uvicorn in a thread) on the very same state.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Callable, Iterable
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.types import Message, Receive, Scope, Send

from .admin import AdminApi, api_credentials
from .api import EmulatedApi
from .context import SandboxContext
from .gate import ApiGate
from .inprocess import SyncASGITransport

ApiFactory = Callable[[SandboxContext], EmulatedApi]
IN_PROCESS_URL = "http://sandbox"


class SandboxApp:
    """Raw ASGI dispatcher: prefix -> gated API app, ``/_sandbox`` -> admin; sets ``Date`` everywhere."""

    def __init__(self, ctx: SandboxContext, webhook_tick: float = 0.5) -> None:
        self.ctx = ctx
        self.webhook_tick = webhook_tick
        self.gates = sorted(
            ((api.prefix, ApiGate(ctx, api, api.asgi_app())) for api in ctx.apis.values()),
            key=lambda item: -len(item[0]),
        )
        self.admin = Starlette(routes=AdminApi(ctx).routes())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        clock = self.ctx.clock

        async def send_dated(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"date"]
                headers.append((b"date", clock.http_date().encode()))
                message = {**message, "headers": headers}
            await send(message)

        path: str = scope["path"]
        for prefix, gate in self.gates:
            if path == prefix or path.startswith(prefix + "/"):
                await gate({**scope, "root_path": scope.get("root_path", "") + prefix}, receive, send_dated)
                return
        if path == "/_sandbox" or path.startswith("/_sandbox/"):
            await self.admin({**scope, "root_path": scope.get("root_path", "") + "/_sandbox"}, receive, send_dated)
            return
        response = JSONResponse(
            {
                "error": f"no emulated API at {path}",
                "apis": {a.id: a.prefix for a in self.ctx.apis.values()},
                "admin": "/_sandbox",
            },
            status_code=404,
        )
        await response(scope, receive, send_dated)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        ticker: asyncio.Task[None] | None = None
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                ticker = asyncio.create_task(self._tick())
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if ticker:
                    ticker.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await ticker
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _tick(self) -> None:
        """Server mode: retries and scheduled work fall due as the (virtual) clock runs, so poll for them."""
        while True:
            await asyncio.sleep(self.webhook_tick)
            with contextlib.suppress(Exception):
                self.ctx.tick()
                await self.ctx.outbox.run_due()


class ServerThread:
    """uvicorn in a daemon thread, for loopback tests, the demo and non-Python clients."""

    def __init__(self, app: SandboxApp, host: str = "127.0.0.1", port: int = 0) -> None:
        if port == 0:
            with socket.socket() as s:
                s.bind((host, 0))
                port = s.getsockname()[1]
        self.host, self.port = host, port
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            log_level="warning",
            lifespan="on",
            date_header=False,
            server_header=False,
            access_log=False,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name=f"sandbox:{port}", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> ServerThread:
        self.thread.start()
        while not self.server.started:
            if not self.thread.is_alive():
                raise RuntimeError(f"sandbox server failed to start on {self.url}")
            threading.Event().wait(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


class Sandbox:
    """The sandbox handle: state, app, in-process clients and an optional loopback server."""

    def __init__(
        self,
        apis: Iterable[ApiFactory],
        db: str | None = None,
        seed: int = 0,
        counts: dict[str, int] | None = None,
    ) -> None:
        """``apis``: the emulated APIs to serve, handed in by the caller (``engagesync.testing.make_sandbox``
        and the CLI pass every registered one)."""
        self.ctx = SandboxContext(db, seed=seed, api_factories=apis)
        if counts:
            self.ctx.reset(seed=seed, counts=counts)
        self.app = SandboxApp(self.ctx)
        self.ctx.asgi_app = self.app
        self._servers: list[ServerThread] = []
        self._transport: SyncASGITransport | None = None

    # -- in-process ------------------------------------------------------------------------------
    def async_client(self, **kwargs: Any) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url=IN_PROCESS_URL, **kwargs)

    def transport(self) -> httpx.BaseTransport:
        """A synchronous in-process transport (no socket) for any ``httpx.Client``."""
        if self._transport is None:
            self._transport = SyncASGITransport(self.app)
        return self._transport

    def client(self, **kwargs: Any) -> httpx.Client:
        """A synchronous in-process client on the sandbox's own event-loop thread.

        Closing the client leaves the shared transport running; ``Sandbox.close()`` ends it.
        """
        return httpx.Client(transport=_Unclosable(self.transport()), base_url=IN_PROCESS_URL, **kwargs)

    def credentials(self, tenant: str | int | None = None, base_url: str = IN_PROCESS_URL) -> dict[str, Any]:
        t = self.ctx.tenant(tenant)
        if t is None:
            raise KeyError(f"no tenant {tenant!r}")
        out: dict[str, Any] = {"tenant": {"id": t.id, "name": t.name, "seed": t.seed}}
        for api in self.ctx.apis.values():
            out[api.id] = api_credentials(self.ctx, api, t, base_url)
        return out

    def reset(self, seed: int = 0, counts: dict[str, int] | None = None) -> None:
        self.ctx.reset(seed=seed, counts=counts)

    # -- loopback --------------------------------------------------------------------------------
    def serve(self, host: str = "127.0.0.1", port: int = 0) -> str:
        server = ServerThread(self.app, host, port).start()
        self._servers.append(server)
        self.ctx.outbox.self_origins.add(server.url)
        return server.url

    @property
    def url(self) -> str | None:
        return self._servers[0].url if self._servers else None

    def close(self) -> None:
        for server in self._servers:
            server.stop()
        self._servers.clear()
        if self._transport is not None:
            self._transport.close()
        self.ctx.store.close()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Unclosable(httpx.BaseTransport):
    def __init__(self, inner: httpx.BaseTransport) -> None:
        self._inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self._inner.handle_request(request)

    def close(self) -> None:
        pass
