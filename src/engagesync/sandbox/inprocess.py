"""A synchronous httpx transport that calls the ASGI app in-process.

httpx's ``ASGITransport`` is async only; the connectors are synchronous. This transport runs one
event loop in a daemon thread and hands each request to it, so a plain ``httpx.Client`` talks to
the sandbox with no socket while webhook deliveries and other async work share that loop.
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import Future
from typing import Any

import httpx
from starlette.types import ASGIApp


class SyncASGITransport(httpx.BaseTransport):
    def __init__(self, app: ASGIApp, client: tuple[str, int] = ("127.0.0.1", 50000)) -> None:
        self._inner = httpx.ASGITransport(app=app, client=client)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="sandbox-inprocess", daemon=True)
        # wait until the loop runs: on a loaded machine the first request could find it not yet started
        running = threading.Event()
        self._loop.call_soon(running.set)
        self._thread.start()
        running.wait()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if not self._loop.is_running():
            raise httpx.ConnectError("the in-process sandbox is closed", request=request)
        body = request.read()

        async def call() -> tuple[int, Any, bytes, dict[str, Any]]:
            req = httpx.Request(
                request.method, request.url, headers=request.headers, content=body, extensions=request.extensions
            )
            response = await self._inner.handle_async_request(req)
            content = await response.aread()
            return response.status_code, response.headers, content, response.extensions

        future: Future[tuple[int, Any, bytes, dict[str, Any]]] = asyncio.run_coroutine_threadsafe(call(), self._loop)
        timeout = request.extensions.get("timeout", {}).get("read")
        try:
            status, headers, content, extensions = future.result(timeout=timeout)
        except TimeoutError as exc:
            future.cancel()
            raise httpx.ReadTimeout("in-process sandbox did not answer in time", request=request) from exc
        return httpx.Response(status, headers=headers, content=content, request=request, extensions=extensions)

    def close(self) -> None:
        if self._loop.is_running():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)
