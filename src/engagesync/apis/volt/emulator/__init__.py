"""The Volt (Respond Flow) emulator: the seed-004 schema over SQLite, signed webhooks, a simulated carrier.

Composed from the engine's pieces: ``sandbox.graphql.GraphQLService`` serves the SDL with the
resolvers, the outbox delivers webhooks signed with the sandbox's RSA key (published like Volt's
``id_rsa.pub``), and ``tick`` applies scheduled waves and carrier status changes on the virtual clock.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp

from ....sandbox.api import AuthResult, EmulatedApi, Tenant
from ....sandbox.auth import bearer_token
from ....sandbox.graphql import GraphQLService, ResolverError
from ....sandbox.ratelimit import RateLimit
from ... import volt as pkg
from .. import contract
from . import model, resolvers, schedule, schema, seed

#: The permissions a Developers-tab token carries (its ``per`` claim), as observed in public client code.
PERMISSIONS = ";read:messages;write:messages;read:waves;write:waves;read:contacts;write:contacts"
TOKEN_LIFETIME = 10 * 365 * 86400  # tokens from the Developers tab are long-lived
KEY_META = "volt_webhook_key"
SETTINGS_META = "volt_settings"


@dataclass
class CarrierSettings:
    """How long the simulated carrier takes: ``sending`` -> ``sent`` -> ``delivered``/``failed``."""

    sent_after_seconds: float = 1.0
    delivered_after_seconds: float = 4.0


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


class VoltApi(EmulatedApi):
    id = pkg.API_ID
    prefix = pkg.PREFIX
    title = "Volt (Respond Flow) GraphQL API"
    default_rate_limit = RateLimit(contract.RATE_LIMIT, contract.RATE_WINDOW)
    ddl = schema.DDL
    tables: ClassVar[tuple[str, ...]] = schema.TABLES
    sequences_table = "vt_sequences"
    inspects_body = True  # fault rules and the journal name GraphQL operations

    def __init__(self, ctx: Any) -> None:
        super().__init__(ctx)
        self.graphql = GraphQLService(
            contract.sdl(), resolvers.RESOLVERS, context=self._context, request_errors=resolvers.request_errors
        )
        self._key: rsa.RSAPrivateKey | None = None
        saved = ctx.store.get_meta(SETTINGS_META)
        self.settings = CarrierSettings(**saved) if saved else CarrierSettings()

    def _context(self, request: Request) -> dict[str, Any]:
        self.process_due()
        return {"api": self, "tenant_id": int(request.scope["state"]["tenant_id"]), "request": request}

    # -- composition -----------------------------------------------------------------------------
    def routes(self) -> list[BaseRoute]:
        return [
            *self.graphql.routes(contract.GRAPHQL_PATH),
            Route(contract.PUBLIC_KEY_PATH, self._public_key, methods=["GET"]),
            Route(contract.PUBLIC_KEY_PEM_PATH, self._public_key_pem, methods=["GET"]),
        ]

    def asgi_app(self) -> ASGIApp:
        app = Starlette(routes=self.routes(), exception_handlers=self.exception_handlers())
        app.router.redirect_slashes = False
        return app

    def exception_handlers(self) -> dict[Any, Any]:
        async def http_error(request: Request, exc: Exception) -> Response:
            assert isinstance(exc, HTTPException)
            message = {404: "not found", 405: "method not allowed"}.get(exc.status_code, str(exc.detail))
            return JSONResponse({"errors": [{"message": message}], "data": None}, status_code=exc.status_code)

        async def crash(request: Request, exc: Exception) -> Response:
            return JSONResponse({"errors": [{"message": "internal system error"}], "data": None}, status_code=500)

        return {HTTPException: http_error, Exception: crash}

    def operation_name(self, subpath: str, body: bytes, query_string: str) -> str | None:
        return self.graphql.operation_name(body, query_string) if subpath == contract.GRAPHQL_PATH else None

    def admin_routes(self) -> list[BaseRoute]:
        return [
            Route("/inbound", self._inbound, methods=["POST"]),
            Route("/settings", self._settings, methods=["GET", "PUT"]),
        ]

    # -- auth ------------------------------------------------------------------------------------
    def is_public(self, request: Request) -> bool:
        path = request.url.path[len(request.scope.get("root_path", "")) :]
        return path in (
            contract.PUBLIC_KEY_PATH,
            contract.PUBLIC_KEY_PEM_PATH,
            f"{contract.GRAPHQL_PATH}/schema.graphql",
        )

    def authenticate(self, request: Request) -> AuthResult | None:
        token = bearer_token(request)
        cred = None if token is None else self.ctx.find_credential(self.id, token, kind="token")
        if cred is None:
            return None
        return AuthResult(cred.tenant_id, rate_key=cred.secret, credential=cred.secret)

    def unauthorized(self, request: Request) -> Response:
        header = request.headers.get("authorization", "")
        message = (
            "missing access token: send Authorization: Bearer <token>"
            if not header.strip()
            else "invalid or expired access token"
        )
        return JSONResponse(
            {"errors": [{"message": message, "extensions": {"code": "UNAUTHENTICATED"}}], "data": None}, status_code=401
        )

    def error_body(self, status: int) -> tuple[bytes, str]:
        if status == 429:
            return b"", ""
        message = {
            400: "bad request",
            401: "unauthorized",
            403: "forbidden",
            404: "not found",
            500: "internal system error",
            502: "bad gateway",
            503: "service unavailable",
            504: "gateway timeout",
        }.get(status, "error")
        return json.dumps({"errors": [{"message": message}], "data": None}).encode(), "application/json"

    # -- tenants, seeding, credentials -----------------------------------------------------------
    def token_for(self, tenant: Tenant) -> str:
        """An HS256 JWT like the Developers tab issues (claims ``exp``, ``iat``, ``org``, ``per``)."""
        iat = int(seed.SEED_EPOCH - 30 * 86400)
        claims = {"exp": iat + TOKEN_LIFETIME, "iat": iat, "org": model.ORG_ID + tenant.id, "per": PERMISSIONS}
        header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
        payload = _b64url(json.dumps(claims, separators=(",", ":")).encode())
        key = self.ctx.derive_secret("volt:jwt", tenant.name, tenant.seed, length=48).encode()
        signature = _b64url(hmac.new(key, f"{header}.{payload}".encode(), hashlib.sha256).digest())
        return f"{header}.{payload}.{signature}"

    def provision(self, tenant: Tenant) -> None:
        self.ctx.issue_credential(self.id, tenant.id, "token", self.token_for(tenant))

    def seed(self, tenant: Tenant, counts: dict[str, int]) -> None:
        seed.seed_tenant(self, tenant, counts)

    def credentials(self, tenant: Tenant, base_url: str) -> dict[str, Any]:
        tokens = self.ctx.credentials_of(self.id, tenant.id, "token")
        base = f"{base_url}{self.prefix}"
        primary = self.ctx.store.scalar(
            "SELECT primary_phone FROM vt_accounts WHERE tenant_id = ? ORDER BY id LIMIT 1", (tenant.id,)
        )
        return {
            "graphql_url": f"{base}{contract.GRAPHQL_PATH}",
            "schema_url": f"{base}{contract.GRAPHQL_PATH}/schema.graphql",
            "token": tokens[0].secret if tokens else None,
            "primary_phone": primary,
            "public_key_url": f"{base}{contract.PUBLIC_KEY_PATH}",
            "public_key_pem_url": f"{base}{contract.PUBLIC_KEY_PEM_PATH}",
            "signature_header": contract.SIGNATURE_HEADER,
            "inbound_url": f"{base_url}/_sandbox/{self.id}/inbound",
            "auth": "Authorization: Bearer <token>",
            "samples": seed.samples(self, tenant),
        }

    # -- time ------------------------------------------------------------------------------------
    def tick(self, now: float) -> None:
        schedule.process_due(self, now)

    def process_due(self) -> None:
        schedule.process_due(self, self.ctx.clock.now())

    # -- webhooks --------------------------------------------------------------------------------
    def private_key(self) -> rsa.RSAPrivateKey:
        """The sandbox's webhook signing key: made once, kept in the store (so ``--db`` keeps it)."""
        if self._key is None:
            with self.ctx.store.tx():
                pem = self.ctx.store.get_meta(KEY_META)
                if pem is None:
                    fresh = rsa.generate_private_key(public_exponent=65537, key_size=2048)
                    pem = fresh.private_bytes(
                        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
                    ).decode()
                    self.ctx.store.set_meta(KEY_META, pem)
            key = serialization.load_pem_private_key(pem.encode(), password=None)
            assert isinstance(key, rsa.RSAPrivateKey)
            self._key = key
        return self._key

    def _signer(self, body: bytes, now: float) -> dict[str, str]:
        return {contract.SIGNATURE_HEADER: contract.sign(self.private_key(), body)}

    def emit(self, tenant: model.TenantModel, event: str, row: Any) -> None:
        """Queue ``event`` for a message to every webhook of the organization (signed)."""
        urls = tenant.webhook_urls()
        if not urls:
            return
        event_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"volt:{tenant.t}:{row['seq']}:{event}"))
        body = contract.message_event(event, event_id, tenant.now(), tenant.message(row))
        for url in urls:
            self.ctx.outbox.enqueue(self.id, tenant.t, event, url, body, signer=self._signer)

    async def register_webhook(self, tenant: model.TenantModel, url: str) -> Any:
        """Registration sends a signed test request first; the URL must answer 2xx or nothing is registered.
        The same URL registered twice is the same webhook."""
        store = tenant.store
        existing = store.one("SELECT * FROM vt_webhooks WHERE tenant_id = ? AND url = ?", (tenant.t, url))
        if existing is not None:
            return existing
        now = tenant.now()
        body = contract.test_event(str(uuid.uuid4()), now, url)
        delivery = self.ctx.outbox.enqueue(self.id, tenant.t, contract.EVENT_TEST, url, body, signer=self._signer)
        problem = await self.ctx.outbox.deliver_once(delivery)
        if problem is not None:
            raise ResolverError(f"webhook test request to the URL failed ({problem}); it must answer with a 2xx status")
        with store.tx():
            hook_id = self.reserve(tenant.t, "webhook", 1, model.WEBHOOK_ID)
            store.execute(
                "INSERT INTO vt_webhooks (tenant_id, id, url, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
                (tenant.t, hook_id, url, now, now),
            )
        return store.one("SELECT * FROM vt_webhooks WHERE tenant_id = ? AND id = ?", (tenant.t, hook_id))

    async def _public_key(self, request: Request) -> Response:
        return PlainTextResponse(contract.openssh_public_key(self.private_key()))

    async def _public_key_pem(self, request: Request) -> Response:
        return PlainTextResponse(contract.pem_public_key(self.private_key()), media_type="application/x-pem-file")

    # -- admin: the simulated carrier ------------------------------------------------------------
    async def _inbound(self, request: Request) -> Response:
        """``POST /_sandbox/volt/inbound {"from", "to", "body", "media"?, "tenant"?}``: a text arrives."""
        body = json.loads(await request.body() or b"{}")
        if not isinstance(body, dict):
            return JSONResponse({"error": "body must be a JSON object"}, status_code=400)
        tenant = self.ctx.tenant(body.get("tenant") or request.query_params.get("tenant"))
        if tenant is None:
            return JSONResponse({"error": f"no tenant {body.get('tenant')!r}"}, status_code=404)
        sender, to, text, media = body.get("from"), body.get("to"), body.get("body", ""), body.get("media") or []
        problems = [p for p in (contract.e164_problem("from", sender), contract.e164_problem("to", to)) if p]
        if not isinstance(text, str) or not isinstance(media, list):
            problems.append("body must be a string and media a list of URLs")
        else:
            problems += contract.media_problems(media)
        if problems:
            return JSONResponse({"error": "; ".join(problems)}, status_code=400)
        self.process_due()
        t = model.TenantModel(self, tenant.id)
        try:
            account = t.account_by_number(str(to), "to")
        except ResolverError as exc:
            return JSONResponse({"error": exc.message}, status_code=404)
        row = t.receive(account, str(sender), str(to), text, [str(m) for m in media])
        if row is None:
            return JSONResponse({"processed": False, "reason": f"contact {sender} is blocked"}, status_code=202)
        message = {k: v for k, v in t.message(row).items() if not callable(v)}
        return JSONResponse({"processed": True, "message": message}, status_code=201)

    async def _settings(self, request: Request) -> Response:
        """``GET``/``PUT /_sandbox/volt/settings``: the carrier's delays (seconds on the virtual clock)."""
        if request.method == "PUT":
            body = json.loads(await request.body() or b"{}")
            merged = {**asdict(self.settings), **{k: v for k, v in body.items() if k in asdict(self.settings)}}
            unknown = sorted(set(body) - set(merged))
            if unknown or any(not isinstance(v, int | float) or v < 0 for v in merged.values()):
                return JSONResponse(
                    {
                        "error": f"settings are non-negative seconds: {', '.join(asdict(self.settings))}"
                        + (f"; unknown: {', '.join(unknown)}" if unknown else "")
                    },
                    status_code=400,
                )
            self.settings = CarrierSettings(**{k: float(v) for k, v in merged.items()})
            self.ctx.store.set_meta(SETTINGS_META, asdict(self.settings))
        return JSONResponse(asdict(self.settings))
