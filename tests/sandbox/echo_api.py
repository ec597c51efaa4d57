"""A tiny emulated API used only by the sandbox engine's own tests.

It knows nothing about any real vendor, so engine tests (clock, limits, faults, webhooks, state) do
not depend on an emulator that other people are changing. Everything here goes through the public
``EmulatedApi`` hooks and the ``SandboxContext`` services an API is meant to use.

- ``GET  /echo/v1/items``               this tenant's items, ordered by id
- ``POST /echo/v1/items``               ``{"name": str}`` -> 201 ``{"item": ...}`` with ``Location``
- ``GET  /echo/v1/items/{id}``          one of this tenant's items (404 for another tenant's)
- ``POST /echo/v1/items/{id}/notify``   enqueue a webhook to the tenant's hook URL; a request body,
                                        if any, is sent byte for byte, else ``{"event", "item"}``
- ``GET|PUT /echo/v1/hook``             the tenant's webhook URL (seeded to the built-in sink)

Auth: ``Authorization: Bearer <token>`` or ``?access_token=<token>``.
"""

from __future__ import annotations

import json
import random
from typing import Any, ClassVar

import httpx
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from engagesync.sandbox.api import AuthResult, EmulatedApi, Tenant
from engagesync.sandbox.app import Sandbox
from engagesync.sandbox.auth import bearer_token

ECHO_ID = "echo"
ECHO_PREFIX = "/echo/v1"
#: Seeded rows get timestamps derived from the seed, never from the clock: same seed, same data.
SEED_EPOCH = 1_600_000_000

DDL = """
CREATE TABLE IF NOT EXISTS echo_items (
    id INTEGER PRIMARY KEY, tenant_id INTEGER NOT NULL, name TEXT NOT NULL, created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS echo_items_tenant ON echo_items (tenant_id, id);
CREATE TABLE IF NOT EXISTS echo_hooks (tenant_id INTEGER PRIMARY KEY, url TEXT NOT NULL);
"""


class EchoError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def vendor_error(status: int, message: str) -> JSONResponse:
    """Echo's error envelope, used for every error it answers (including injected ones)."""
    return JSONResponse({"error": {"status": status, "message": message}}, status_code=status)


def _row(row: Any) -> dict[str, Any]:
    return {"id": row["id"], "name": row["name"], "created_at": row["created_at"]}


class EchoApi(EmulatedApi):
    id = ECHO_ID
    prefix = ECHO_PREFIX
    title = "Echo (engine test API)"
    default_rate_limit = None
    ddl = DDL
    tables: ClassVar[tuple[str, ...]] = ("echo_items", "echo_hooks")
    #: Resources ``counts`` may name (``echo.items``).
    resources: ClassVar[tuple[str, ...]] = ("items",)

    # -- routes ----------------------------------------------------------------------------------
    def routes(self) -> list[BaseRoute]:
        return [
            Route("/items", self.list_items, methods=["GET"]),
            Route("/items", self.create_item, methods=["POST"]),
            Route("/items/{item_id:int}", self.get_item, methods=["GET"]),
            Route("/items/{item_id:int}/notify", self.notify, methods=["POST"]),
            Route("/hook", self.hook, methods=["GET", "PUT"]),
        ]

    def exception_handlers(self) -> dict[Any, Any]:
        async def echo_error(request: Request, exc: Exception) -> Response:
            assert isinstance(exc, EchoError)
            return vendor_error(exc.status, exc.message)

        async def http_error(request: Request, exc: Exception) -> Response:
            assert isinstance(exc, HTTPException)
            return vendor_error(exc.status_code, str(exc.detail))

        return {EchoError: echo_error, HTTPException: http_error}

    @staticmethod
    def _tenant_id(request: Request) -> int:
        return int(request.scope["state"]["tenant_id"])

    def _item(self, tenant_id: int, item_id: int) -> dict[str, Any]:
        row = self.ctx.store.one("SELECT * FROM echo_items WHERE id = ? AND tenant_id = ?", (item_id, tenant_id))
        if row is None:
            raise EchoError(404, f"item {item_id} not found")
        return _row(row)

    async def list_items(self, request: Request) -> Response:
        rows = self.ctx.store.all(
            "SELECT * FROM echo_items WHERE tenant_id = ? ORDER BY id", (self._tenant_id(request),)
        )
        return JSONResponse({"items": [_row(r) for r in rows]})

    async def create_item(self, request: Request) -> Response:
        try:
            body = json.loads(await request.body() or b"{}")
        except ValueError as exc:
            raise EchoError(400, "body must be JSON") from exc
        name = body.get("name") if isinstance(body, dict) else None
        if not isinstance(name, str) or not name:
            raise EchoError(422, "name is required")
        cur = self.ctx.store.execute(
            "INSERT INTO echo_items (tenant_id, name, created_at) VALUES (?, ?, ?)",
            (self._tenant_id(request), name, self.ctx.clock.now()),
        )
        item = self._item(self._tenant_id(request), int(cur.lastrowid or 0))
        return JSONResponse({"item": item}, status_code=201, headers={"Location": f"{self.prefix}/items/{item['id']}"})

    async def get_item(self, request: Request) -> Response:
        return JSONResponse({"item": self._item(self._tenant_id(request), request.path_params["item_id"])})

    async def notify(self, request: Request) -> Response:
        tenant_id = self._tenant_id(request)
        item = self._item(tenant_id, request.path_params["item_id"])
        url = self.ctx.store.scalar("SELECT url FROM echo_hooks WHERE tenant_id = ?", (tenant_id,))
        if not url:
            raise EchoError(409, "no webhook URL configured")
        raw = await request.body()
        payload: Any = raw if raw else {"event": "item.notify", "item": item}
        delivery = self.ctx.outbox.enqueue(self.id, tenant_id, "item.notify", url, payload)
        return JSONResponse({"delivery_id": delivery}, status_code=202)

    async def hook(self, request: Request) -> Response:
        tenant_id = self._tenant_id(request)
        if request.method == "PUT":
            body = json.loads(await request.body() or b"{}")
            url = body.get("url") if isinstance(body, dict) else None
            if not isinstance(url, str) or not url.startswith(("http://", "https://")):
                raise EchoError(422, "url must be an http(s) URL")
            self._set_hook(tenant_id, url)
        url = self.ctx.store.scalar("SELECT url FROM echo_hooks WHERE tenant_id = ?", (tenant_id,))
        return JSONResponse({"url": url})

    # -- auth ------------------------------------------------------------------------------------
    def authenticate(self, request: Request) -> AuthResult | None:
        cred = self.ctx.find_credential(self.id, bearer_token(request, query_param="access_token"))
        if cred is None:
            return None
        return AuthResult(cred.tenant_id, rate_key=cred.secret, credential=cred.secret)

    def unauthorized(self, request: Request) -> Response:
        return vendor_error(401, "invalid or missing token")

    def error_body(self, status: int) -> tuple[bytes, str]:
        return bytes(vendor_error(status, f"echo error {status}").body), "application/json"

    # -- tenants ---------------------------------------------------------------------------------
    def token_for(self, tenant: Tenant) -> str:
        return self.ctx.derive_secret(self.id, tenant.name, tenant.seed, length=40)

    def provision(self, tenant: Tenant) -> None:
        self.ctx.issue_credential(self.id, tenant.id, "token", self.token_for(tenant))

    def seed(self, tenant: Tenant, counts: dict[str, int]) -> None:
        unknown = sorted(set(counts) - set(self.resources))
        if unknown:
            raise ValueError(f"echo has no resource(s) {', '.join(unknown)}; known: {', '.join(self.resources)}")
        rng = random.Random(f"echo:{tenant.seed}")
        rows = [
            (tenant.id, f"item-{rng.randrange(16**6):06x}", SEED_EPOCH + i * 60 + rng.randrange(60))
            for i in range(counts.get("items", 3))
        ]
        self.ctx.store.executemany("INSERT INTO echo_items (tenant_id, name, created_at) VALUES (?, ?, ?)", rows)
        self._set_hook(tenant.id, f"http://sandbox/_sandbox/sink/echo-{tenant.name}")

    def _set_hook(self, tenant_id: int, url: str) -> None:
        self.ctx.store.execute(
            "INSERT INTO echo_hooks (tenant_id, url) VALUES (?, ?) "
            "ON CONFLICT(tenant_id) DO UPDATE SET url = excluded.url",
            (tenant_id, url),
        )

    def credentials(self, tenant: Tenant, base_url: str) -> dict[str, Any]:
        tokens = self.ctx.credentials_of(self.id, tenant.id, "token")
        return {"base_url": f"{base_url}{self.prefix}", "token": tokens[0].secret if tokens else None}


# -- helpers for the engine tests -----------------------------------------------------------------
def echo_sandbox(**kwargs: Any) -> Sandbox:
    """A sandbox that serves only the echo API."""
    return Sandbox(apis=[EchoApi], **kwargs)


#: In-process clients from ``Sandbox.client()`` share one transport that ``Client.close()`` shuts down
#: for everyone (see test_state.py::test_closing_one_in_process_client_does_not_break_the_next), so
#: the tests leave in-process clients open and let ``Sandbox.close()`` end the transport.
def echo_client(sandbox: Sandbox, tenant: str | None = None, base: str | None = None) -> httpx.Client:
    """A client for ``tenant``'s echo API: in-process, or over loopback when ``base`` is a server URL."""
    token = sandbox.credentials(tenant)[ECHO_ID]["token"]
    headers = {"Authorization": f"Bearer {token}"}
    client = sandbox.client(headers=headers) if base is None else httpx.Client(headers=headers)
    client.base_url = httpx.URL(f"{base or 'http://sandbox'}{ECHO_PREFIX}/")
    return client


def admin_client(sandbox: Sandbox, base: str | None = None, **kwargs: Any) -> httpx.Client:
    """A client for the admin API: in-process, or over loopback when ``base`` is a server URL."""
    client = sandbox.client(**kwargs) if base is None else httpx.Client(**kwargs)
    client.base_url = httpx.URL(f"{base or 'http://sandbox'}/_sandbox/")
    return client
