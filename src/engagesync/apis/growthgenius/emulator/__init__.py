"""The GrowthGenius integrations API v1 emulator: users, contacts and messages, composed here.

Auth: ``Authorization: <api key>`` (no "Bearer") names the team (the sandbox tenant); every request
but ``GET /users`` also carries ``user_id``, which must be a member of that team with integrations
enabled. Each refusal says exactly which of those failed. ``GET /openapi.json`` (the API's OpenAPI
document) is public.
"""

from __future__ import annotations

from typing import Any, ClassVar

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp

from ....sandbox import openapi
from ....sandbox.api import AuthResult, EmulatedApi, Tenant, sequences_ddl
from ....sandbox.auth import bearer_token
from ....sandbox.ratelimit import RateLimit
from ... import growthgenius as pkg
from ..contract import WINDOW_LIMIT, record_id
from ..openapi import SPEC
from . import contacts, messages, schema, seed, users
from .common import GGError, error_response


class GrowthGeniusApi(EmulatedApi):
    id = pkg.API_ID
    prefix = pkg.PREFIX
    title = "GrowthGenius integrations API v1"
    #: Undocumented upstream; emulated as 100 requests/minute per API key (docs/fidelity.md).
    default_rate_limit = RateLimit(100, 60.0)
    #: Contact and message ids are global (``tenant_id`` 0), as a real service's are: an id names one
    #: record across every team, so another team's key meets a 404, never someone else's contact.
    sequences_table = "gg_sequences"
    ddl = sequences_ddl("gg_sequences") + schema.DDL
    tables: ClassVar[tuple[str, ...]] = schema.TABLES

    # -- composition -----------------------------------------------------------------------------
    def routes(self) -> list[BaseRoute]:
        return [openapi.route(SPEC), *users.routes(), *contacts.routes(), *messages.routes()]

    def asgi_app(self) -> ASGIApp:
        app = Starlette(routes=self.routes(), exception_handlers=self.exception_handlers())
        app.router.redirect_slashes = False  # "/users" and "/users/" are two documented forms
        app.state.growthgenius = self
        return app

    def exception_handlers(self) -> dict[Any, Any]:
        async def gg_error(request: Request, exc: Exception) -> Response:
            assert isinstance(exc, GGError)
            return error_response(exc.status, exc.message, exc.problems)

        async def http_error(request: Request, exc: Exception) -> Response:
            assert isinstance(exc, HTTPException)
            message = {
                404: f"No route matches {request.method} {_subpath(request)}",
                405: f"{request.method} is not allowed on {_subpath(request)}",
            }.get(exc.status_code, str(exc.detail))
            return error_response(exc.status_code, message)

        async def crash(request: Request, exc: Exception) -> Response:
            return error_response(500, "Internal server error")

        return {GGError: gg_error, HTTPException: http_error, Exception: crash}

    def admin_routes(self) -> list[BaseRoute]:
        return [
            Route("/settings", self._settings, methods=["GET", "PUT"]),
            Route("/team-check", self._team_check, methods=["GET", "PUT"]),
        ]

    async def _team_check(self, request: Request) -> Response:
        """``PUT /_sandbox/growthgenius/team-check {"strict_team_id": true}``: a message's ``team_id`` must then
        be the caller's team (default false: stored as sent, as seed 003's message example needs)."""
        if request.method == "PUT":
            body = await request.json()
            strict = body.get("strict_team_id") if isinstance(body, dict) else None
            if not isinstance(strict, bool):
                return JSONResponse({"error": "strict_team_id must be true or false"}, status_code=400)
            self.ctx.store.set_meta(messages.STRICT_TEAM_META, strict)
        return JSONResponse({"strict_team_id": bool(self.ctx.store.get_meta(messages.STRICT_TEAM_META, False))})

    async def _settings(self, request: Request) -> Response:
        """``PUT /_sandbox/growthgenius/settings {"window_limit": n}``: most records one window answers."""
        if request.method == "PUT":
            body = await request.json()
            limit = body.get("window_limit") if isinstance(body, dict) else None
            if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
                return JSONResponse({"error": "window_limit must be a whole number >= 1"}, status_code=400)
            self.ctx.store.set_meta("growthgenius.window_limit", limit)
        return JSONResponse({"window_limit": int(self.ctx.store.get_meta("growthgenius.window_limit", WINDOW_LIMIT))})

    # -- auth ------------------------------------------------------------------------------------
    def is_public(self, request: Request) -> bool:
        return _subpath(request) == openapi.PATH

    def _refusal(self, request: Request) -> tuple[int, str] | None:
        """Why the request is refused (status, message), or ``None`` when key and user_id are good."""
        header = request.headers.get("authorization", "").strip()
        if not header:
            return 401, "Missing API key: send it as the Authorization header (Authorization: <api key>)"
        if bearer_token(header) is not None:
            return 401, 'Invalid API key: send the bare key (Authorization: <api key>), without "Bearer"'
        cred = self.ctx.find_credential(self.id, header)
        if cred is None:
            return 401, "Invalid API key"
        raw = request.query_params.get("user_id")
        if raw is None or not raw.strip():
            if _subpath(request) == "/users":
                return None  # the User API lists the team without a user_id (seed 003)
            return 401, "Missing user_id: every request must carry the user_id query parameter"
        user_id = record_id(raw)
        if user_id is None:
            return 403, f"user_id must be a user's numeric id (got {raw!r})"
        row = users.find_user(self, cred.tenant_id, user_id)
        if row is None:
            return 403, f"user_id {user_id} is not a member of this API key's team"
        if not row["integrations"]:
            return 403, f"user {user_id} has not enabled integrations"
        return None

    def authenticate(self, request: Request) -> AuthResult | None:
        if self._refusal(request) is not None:
            return None
        cred = self.ctx.find_credential(self.id, request.headers.get("authorization", "").strip())
        assert cred is not None
        return AuthResult(cred.tenant_id, rate_key=cred.secret, credential=cred.secret)

    def unauthorized(self, request: Request) -> Response:
        status, message = self._refusal(request) or (401, "Invalid API key")
        return error_response(status, message)

    def error_body(self, status: int) -> tuple[bytes, str]:
        message = {
            400: "Bad request",
            401: "Invalid API key",
            403: "Forbidden",
            404: "Not found",
            422: "Validation failed",
            429: "Rate limit exceeded",
            500: "Internal server error",
            502: "Bad gateway",
            503: "Service unavailable",
            504: "Gateway timeout",
        }.get(status, "Error")
        return bytes(error_response(status, message).body), "application/json"

    # -- tenants, seeding, credentials -----------------------------------------------------------
    def key_for(self, tenant: Tenant) -> str:
        return self.ctx.derive_secret("growthgenius", tenant.name, tenant.seed, length=32)

    def team_id(self, tenant_id: int) -> int:
        """One team per tenant; the default tenant's is 2, as in the documented user."""
        return tenant_id + 1

    def provision(self, tenant: Tenant) -> None:
        self.ctx.issue_credential(self.id, tenant.id, "api_key", self.key_for(tenant))

    def seed(self, tenant: Tenant, counts: dict[str, int]) -> None:
        seed.seed_tenant(self, tenant, counts)

    def credentials(self, tenant: Tenant, base_url: str) -> dict[str, Any]:
        keys = self.ctx.credentials_of(self.id, tenant.id, "api_key")
        first = self.ctx.store.one(
            "SELECT id FROM gg_users WHERE tenant_id = ? AND integrations = 1 ORDER BY id LIMIT 1", (tenant.id,)
        )
        return {
            "base_url": f"{base_url}{self.prefix}",
            "api_key": keys[0].secret if keys else None,
            "user_id": first["id"] if first else None,
            "auth": "Authorization: <api_key> (no Bearer) and ?user_id=<user_id> on every request",
            "samples": seed.samples(self, tenant),
        }

    # -- shared services -------------------------------------------------------------------------
    def now_ms(self) -> int:
        return int(self.ctx.clock.now() * 1000)


def _subpath(request: Request) -> str:
    return request.url.path[len(request.scope.get("root_path", "")) :] or "/"
