"""The Groove helpdesk REST v1 emulator: one module per resource family, composed here."""

from __future__ import annotations

import random
from types import ModuleType
from typing import TYPE_CHECKING, Any, ClassVar

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute
from starlette.types import ASGIApp

from ....sandbox import openapi
from ....sandbox.api import AuthResult, EmulatedApi, Tenant, sequences_ddl
from ....sandbox.auth import bearer_token
from ....sandbox.ratelimit import RateLimit
from ....sandbox.routing import RememberingRouter
from ... import groove_helpdesk as pkg
from ..openapi import SPEC
from . import groups, inbox, kb, messages, people, schema, seed, tickets, webhooks, widgets
from .common import GrooveError, error_response, register_fold

if TYPE_CHECKING:
    from ....sandbox.context import SandboxContext

#: Resource modules in dependency order; each exposes DDL, TABLES, routes() and seed(...).
MODULES: tuple[ModuleType, ...] = (people, inbox, groups, tickets, messages, webhooks, widgets, kb)

ID_SEQUENCE = "id"
ID_START = 4_000_000_001


class GrooveHelpdeskApi(EmulatedApi):
    id = pkg.API_ID
    prefix = pkg.PREFIX
    title = "Groove helpdesk REST API v1"
    #: Undocumented upstream; emulated as 100 requests/minute per token (docs/fidelity.md).
    default_rate_limit = RateLimit(100, 60.0)
    sequences_table = "gh_sequences"
    ddl = sequences_ddl("gh_sequences") + schema.DDL + "".join(m.DDL for m in MODULES)
    tables: ClassVar[tuple[str, ...]] = ("gh_sequences", *schema.TABLES, *(t for m in MODULES for t in m.TABLES))

    def __init__(self, ctx: SandboxContext) -> None:
        super().__init__(ctx)
        register_fold(ctx.store.conn)  # before any query compares through gh_fold

    # -- composition -----------------------------------------------------------------------------
    def routes(self) -> list[BaseRoute]:
        out: list[BaseRoute] = [openapi.route(SPEC)]
        for module in MODULES:
            out.extend(module.routes())
        return out

    def asgi_app(self) -> ASGIApp:
        app = Starlette(routes=self.routes(), exception_handlers=self.exception_handlers())
        # "/customers/" is a vendor 404, not a framework redirect
        app.router = RememberingRouter(app.router.routes, redirect_slashes=False)
        app.state.groove = self
        return app

    def admin_routes(self) -> list[BaseRoute]:
        return [r for m in MODULES if hasattr(m, "admin_routes") for r in m.admin_routes(self)]

    def exception_handlers(self) -> dict[Any, Any]:
        async def groove_error(request: Request, exc: Exception) -> Response:
            assert isinstance(exc, GrooveError)
            return error_response(exc.status, exc.messages)

        async def http_error(request: Request, exc: Exception) -> Response:
            assert isinstance(exc, HTTPException)
            message = {404: "Not found", 405: "Method not allowed"}.get(exc.status_code, str(exc.detail))
            return error_response(exc.status_code, [message])

        async def crash(request: Request, exc: Exception) -> Response:
            return error_response(500, ["Internal server error"])

        return {GrooveError: groove_error, HTTPException: http_error, Exception: crash}

    # -- auth ------------------------------------------------------------------------------------
    def is_public(self, request: Request) -> bool:
        # the scope's path, not ``request.url`` (building a URL per request cost 3% of a list page)
        path = request.scope["path"][len(request.scope.get("root_path", "")) :]
        return path == openapi.PATH or path.startswith("/public/")

    def authenticate(self, request: Request) -> AuthResult | None:
        cred = self.ctx.find_credential(self.id, bearer_token(request, query_param="access_token"))
        if cred is None:
            return None
        return AuthResult(cred.tenant_id, rate_key=cred.secret, credential=cred.secret)

    def unauthorized(self, request: Request) -> Response:
        return error_response(401, ["You must be authenticated to access this resource"])

    def error_body(self, status: int) -> tuple[bytes, str]:
        message = {
            400: "Bad request",
            401: "Unauthorized",
            403: "Forbidden",
            404: "Not found",
            422: "Unprocessable entity",
            429: "Too many requests",
            500: "Internal server error",
            502: "Bad gateway",
            503: "Service unavailable",
            504: "Gateway timeout",
        }.get(status, "Error")
        return bytes(JSONResponse({"errors": [message]}).body), "application/json"

    # -- tenants, seeding, credentials -----------------------------------------------------------
    def token_for(self, tenant: Tenant) -> str:
        return self.ctx.derive_secret("groove-helpdesk", tenant.name, tenant.seed, length=40)

    def provision(self, tenant: Tenant) -> None:
        self.ctx.issue_credential(self.id, tenant.id, "token", self.token_for(tenant))

    def seed(self, tenant: Tenant, counts: dict[str, int]) -> None:
        seed.seed_tenant(self, MODULES, tenant, random.Random(f"groove-helpdesk:{tenant.seed}"), counts)

    def credentials(self, tenant: Tenant, base_url: str) -> dict[str, Any]:
        tokens = self.ctx.credentials_of(self.id, tenant.id, "token")
        return {
            "base_url": f"{base_url}{self.prefix}",
            "token": tokens[0].secret if tokens else None,
            "auth": "Authorization: Bearer <token> (or ?access_token=<token>)",
            "samples": seed.samples(self, MODULES, tenant),
        }

    # -- shared services for resource modules ----------------------------------------------------
    def next_value(self, tenant_id: int, kind: str, start: int = 1) -> int:
        """Next number in a per-tenant sequence (ticket numbers, tag ids)."""
        return self.reserve(tenant_id, kind, 1, start)

    def new_id(self, tenant_id: int, kind: str) -> str:
        """Opaque 10-digit string ids, as Groove's (e.g. "4517239960").

        One sequence serves every kind, so an id never names two resources of a tenant.
        """
        return str(self.reserve(tenant_id, ID_SEQUENCE, 1, start=ID_START))

    def reserve(self, tenant_id: int, kind: str, count: int, start: int = 1) -> int:
        """Reserve ``count`` consecutive sequence values (bulk seeding); returns the first.

        ``"id:<kind>"`` sequences all draw from the shared id sequence (see ``new_id``).
        """
        if kind.startswith("id:"):
            kind, start = ID_SEQUENCE, ID_START
        return super().reserve(tenant_id, kind, count, start)

    def emit(self, tenant_id: int, event: str, payload: dict[str, Any]) -> None:
        webhooks.emit(self, tenant_id, event, payload)

    def now(self) -> float:
        return self.ctx.clock.now()

    def iso(self, epoch: float | None) -> str | None:
        return None if epoch is None else self.ctx.clock.iso(epoch)
