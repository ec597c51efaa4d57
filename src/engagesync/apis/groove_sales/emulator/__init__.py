"""The Groove sales-engagement emulator: OAuth 2.0 authorization server + GraphQL endpoint.

Composed from the engine's generic pieces: ``sandbox.oauth.OAuthServer`` (authorization code flow,
token endpoint at every documented path, rotation, expiry on the virtual clock) and
``sandbox.graphql.GraphQLService`` (the published SDL executed with resolvers over SQLite).
"""

from __future__ import annotations

from typing import Any, ClassVar

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute
from starlette.types import ASGIApp

from ....sandbox.api import AuthResult, EmulatedApi, Tenant
from ....sandbox.graphql import GraphQLService
from ....sandbox.oauth import OAuthConfig, OAuthServer
from ....sandbox.oauth_admin import admin_routes as oauth_admin_routes
from ....sandbox.ratelimit import RateLimit
from ... import groove_sales as pkg
from .. import contract
from . import resolvers, schema, seed

#: Where the default app of every tenant sends the browser back: the sandbox's own callback page
#: (any port on 127.0.0.1 matches, RFC 8252 7.3).
DEFAULT_REDIRECT_URI = f"http://127.0.0.1:8765/_sandbox/{pkg.API_ID}/oauth/callback"


class GrooveSalesApi(EmulatedApi):
    id = pkg.API_ID
    prefix = pkg.PREFIX
    title = "Groove sales-engagement GraphQL API"
    default_rate_limit = RateLimit(contract.RATE_LIMIT, contract.RATE_WINDOW)
    ddl = schema.DDL
    tables: ClassVar[tuple[str, ...]] = schema.TABLES
    inspects_body = True  # fault rules and the journal name GraphQL operations

    def __init__(self, ctx: Any) -> None:
        super().__init__(ctx)
        self.oauth = OAuthServer(
            ctx,
            self.id,
            OAuthConfig(
                access_token_ttl=contract.ACCESS_TOKEN_TTL,
                code_ttl=contract.CODE_TTL,
                authorize_path=contract.AUTHORIZE_PATH,
                token_paths=contract.TOKEN_PATHS,
                revoke_path=contract.REVOKE_PATH,
                created_at_as_string=True,
                title="Groove",
            ),
        )
        self.graphql = GraphQLService(contract.sdl(), resolvers.RESOLVERS, resolvers.SCALARS, context=self._context)

    def _context(self, request: Request) -> dict[str, Any]:
        return {"api": self, "tenant_id": int(request.scope["state"]["tenant_id"]), "request": request}

    # -- composition -----------------------------------------------------------------------------
    def routes(self) -> list[BaseRoute]:
        return [*self.oauth.routes(), *self.graphql.routes(contract.GRAPHQL_PATH)]

    def asgi_app(self) -> ASGIApp:
        app = Starlette(routes=self.routes(), exception_handlers=self.exception_handlers())
        app.router.redirect_slashes = False
        return app

    def admin_routes(self) -> list[BaseRoute]:
        return oauth_admin_routes(self.oauth)

    def exception_handlers(self) -> dict[Any, Any]:
        async def http_error(request: Request, exc: Exception) -> Response:
            assert isinstance(exc, HTTPException)
            message = {404: "Not Found", 405: "Method Not Allowed"}.get(exc.status_code, str(exc.detail))
            return JSONResponse({"errors": [{"message": message}]}, status_code=exc.status_code)

        async def crash(request: Request, exc: Exception) -> Response:
            return JSONResponse({"errors": [{"message": "Internal server error"}]}, status_code=500)

        return {HTTPException: http_error, Exception: crash}

    def operation_name(self, subpath: str, body: bytes, query_string: str) -> str | None:
        return self.graphql.operation_name(body, query_string) if subpath == contract.GRAPHQL_PATH else None

    # -- auth ------------------------------------------------------------------------------------
    def is_public(self, request: Request) -> bool:
        path = request.url.path[len(request.scope.get("root_path", "")) :]
        return self.oauth.is_oauth_path(path) or path == f"{contract.GRAPHQL_PATH}/schema.graphql"

    def authenticate(self, request: Request) -> AuthResult | None:
        cred = self.oauth.access_token(request)
        if cred is None:
            return None
        return AuthResult(cred.tenant_id, rate_key=cred.secret, credential=cred.secret)

    def unauthorized(self, request: Request) -> Response:
        return self.oauth.unauthorized(request)

    def error_body(self, status: int) -> tuple[bytes, str]:
        if status == 429:
            return b"", ""
        message = {
            400: "Bad Request",
            401: "Unauthorized",
            403: "Forbidden",
            404: "Not Found",
            500: "Internal server error",
            502: "Bad Gateway",
            503: "Service Unavailable",
            504: "Gateway Timeout",
        }.get(status, "Error")
        return bytes(JSONResponse({"errors": [{"message": message}]}).body), "application/json"

    # -- tenants, seeding, credentials -----------------------------------------------------------
    def provision(self, tenant: Tenant) -> None:
        derive = self.ctx.derive_secret
        client_id = "gs_" + derive("groove-sales:client", tenant.name, tenant.seed, length=24)
        self.oauth.register_client(
            tenant.id,
            client_id,
            derive("groove-sales:secret", tenant.name, tenant.seed, length=43),
            [DEFAULT_REDIRECT_URI],
            name=f"Sandbox partner app ({tenant.name})",
        )

    def seed(self, tenant: Tenant, counts: dict[str, int]) -> None:
        seed.seed_tenant(self, tenant, counts)

    def credentials(self, tenant: Tenant, base_url: str) -> dict[str, Any]:
        clients = self.oauth.clients(tenant.id)
        client = clients[0] if clients else None
        base = f"{base_url}{self.prefix}"
        return {
            "graphql_url": f"{base}{contract.GRAPHQL_PATH}",
            "schema_url": f"{base}{contract.GRAPHQL_PATH}/schema.graphql",
            "authorize_url": f"{base}{contract.AUTHORIZE_PATH}",
            "token_url": f"{base}{contract.TOKEN_PATH}",
            "revoke_url": f"{base}{contract.REVOKE_PATH}",
            "client_id": client.client_id if client else None,
            "client_secret": client.client_secret if client else None,
            "redirect_uri": client.redirect_uris[0] if client else None,
            "scope": "",
            "mint_token_url": f"{base_url}/_sandbox/{self.id}/oauth/tokens",
            "auth": "OAuth 2.0 authorization code; then Authorization: Bearer <access_token>",
            "samples": seed.samples(self, tenant),
        }
