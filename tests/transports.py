"""Test transports layered over the sandbox's in-process one (a test subclasses ``Passthrough`` to
act between client and sandbox, e.g. to age tokens on the virtual clock before a request)."""

from __future__ import annotations

import httpx


class Passthrough(httpx.BaseTransport):
    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self.inner.handle_request(request)
