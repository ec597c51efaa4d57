"""The admin API under ``/_sandbox``: credentials, reset, tenants, clock, limits, faults, journal."""

from __future__ import annotations

import ipaddress
import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from .api import EmulatedApi, Tenant
from .context import SandboxContext
from .faults import FaultSpecError
from .ratelimit import RateLimit
from .webhooks import OutboxConfig


def api_credentials(ctx: SandboxContext, api: EmulatedApi, tenant: Tenant, base_url: str) -> dict[str, Any]:
    """One API's ``/_sandbox/credentials`` entry, with the rate limit its credential is held to (the
    per-credential one, else the API's; null when unlimited), which ``connect --sandbox`` records."""
    entry = api.credentials(tenant, base_url)
    rule = ctx.rate_limit_for(api.id, entry.get("token") or entry.get("api_key"))
    entry["rate_limit"] = rule.to_dict() if rule else None
    return entry


class AdminError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


async def _json(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise AdminError(400, f"body is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise AdminError(400, "body must be a JSON object")
    return data


def _is_loopback(request: Request) -> bool:
    client = request.client
    if client is None or client.host in ("testclient", "testserver", "sandbox"):
        return True
    try:
        return ipaddress.ip_address(client.host).is_loopback
    except ValueError:
        return False


class AdminApi:
    def __init__(self, ctx: SandboxContext) -> None:
        self.ctx = ctx

    def routes(self) -> list[BaseRoute]:
        r = self._wrap
        routes: list[BaseRoute] = [
            Route("/", r(self.index)),
            Route("/health", r(self.health)),
            Route("/credentials", r(self.credentials)),
            Route("/reset", r(self.reset), methods=["POST"]),
            Route("/tenants", r(self.tenants), methods=["GET", "POST"]),
            Route("/clock", r(self.clock)),
            Route("/clock/advance", r(self.clock_advance), methods=["POST"]),
            Route("/clock/freeze", r(self.clock_freeze), methods=["POST"]),
            Route("/clock/unfreeze", r(self.clock_unfreeze), methods=["POST"]),
            Route("/clock/set", r(self.clock_set), methods=["POST"]),
            Route("/rate-limits", r(self.rate_limits)),
            Route("/rate-limits/{api}", r(self.rate_limit), methods=["GET", "PUT", "DELETE"]),
            Route("/faults", r(self.faults), methods=["GET", "PUT", "POST", "DELETE"]),
            Route("/webhooks/deliveries", r(self.deliveries)),
            Route("/webhooks/flush", r(self.flush), methods=["POST"]),
            Route("/webhooks/config", r(self.outbox_config), methods=["GET", "PUT"]),
            Route("/sink/{name}", r(self.sink), methods=["GET", "POST", "DELETE"]),
            Route("/requests", r(self.requests)),
            Route("/stats", r(self.stats)),
        ]
        for api in self.ctx.apis.values():
            extra = [
                Route(route.path, r(route.endpoint), methods=sorted(route.methods or ()) or None)
                for route in api.admin_routes()
                if isinstance(route, Route)
            ]
            if extra:
                routes.append(Mount(f"/{api.id}", routes=extra))
        return routes

    def _wrap(self, handler: Any) -> Any:
        async def endpoint(request: Request) -> Response:
            if not _is_loopback(request):
                return _error(403, "the sandbox admin API answers loopback clients only")
            try:
                result: Response = await handler(request)
                if self.ctx.outbox.dirty:  # an admin action (e.g. a UI-only event) queued webhooks
                    await self.ctx.outbox.drain()
                return result
            except AdminError as exc:
                return _error(exc.status, exc.message)
            except (ValueError, TypeError, KeyError) as exc:
                return _error(400, str(exc))

        return endpoint

    def _tenant(self, request: Request, body: dict[str, Any] | None = None) -> Tenant:
        ref = (
            (body or {}).get("tenant") or request.query_params.get("tenant") or request.headers.get("x-sandbox-tenant")
        )
        tenant = self.ctx.tenant(ref)
        if tenant is None:
            raise AdminError(404, f"no tenant {ref!r}")
        return tenant

    def _base_url(self, request: Request) -> str:
        return f"{request.url.scheme}://{request.url.netloc}"

    def _credentials(self, tenant: Tenant, request: Request) -> dict[str, Any]:
        base = self._base_url(request)
        out: dict[str, Any] = {"tenant": {"id": tenant.id, "name": tenant.name, "seed": tenant.seed}}
        for api in self.ctx.apis.values():
            out[api.id] = api_credentials(self.ctx, api, tenant, base)
        return out

    # -- endpoints -------------------------------------------------------------------------------
    async def index(self, request: Request) -> Response:
        return JSONResponse(
            {
                "apis": {a.id: {"prefix": a.prefix, "title": a.title} for a in self.ctx.apis.values()},
                "admin": [getattr(r, "path", "") for r in self.routes()],
            }
        )

    async def health(self, request: Request) -> Response:
        return JSONResponse({"ok": True, "clock": self.ctx.clock.to_dict()})

    async def credentials(self, request: Request) -> Response:
        return JSONResponse(self._credentials(self._tenant(request), request))

    async def reset(self, request: Request) -> Response:
        body = await _json(request)
        seed = int(body.get("seed", 0))
        counts = body.get("counts") or {}
        if not isinstance(counts, dict):
            raise AdminError(400, "'counts' must be an object like {\"groove-helpdesk.tickets\": 100}")
        target = self._tenant(request, body) if body.get("tenant") else None
        tenant = self.ctx.reset(seed=seed, counts={k: int(v) for k, v in counts.items()}, tenant=target)
        return JSONResponse(self._credentials(tenant, request))

    async def tenants(self, request: Request) -> Response:
        if request.method == "GET":
            return JSONResponse({"tenants": [{"id": t.id, "name": t.name, "seed": t.seed} for t in self.ctx.tenants()]})
        body = await _json(request)
        name = body.get("name")
        if name is not None and self.ctx.tenant(str(name)) is not None:
            raise AdminError(409, f"tenant {name!r} already exists")
        tenant = self.ctx.create_tenant(
            name=name, seed=int(body.get("seed", 0)), counts={k: int(v) for k, v in (body.get("counts") or {}).items()}
        )
        return JSONResponse(self._credentials(tenant, request), status_code=201)

    async def clock(self, request: Request) -> Response:
        return JSONResponse(self.ctx.clock.to_dict())

    async def clock_advance(self, request: Request) -> Response:
        body = await _json(request)
        seconds = float(body.get("seconds", 0))
        if seconds < 0:
            raise AdminError(400, "seconds must be >= 0: the clock only moves forward")
        self.ctx.clock.advance(seconds)
        self.ctx.tick()
        await self.ctx.outbox.drain()
        return JSONResponse(self.ctx.clock.to_dict())

    async def clock_freeze(self, request: Request) -> Response:
        self.ctx.clock.freeze()
        self.ctx.persist_clock()
        return JSONResponse(self.ctx.clock.to_dict())

    async def clock_unfreeze(self, request: Request) -> Response:
        self.ctx.clock.unfreeze()
        self.ctx.persist_clock()
        return JSONResponse(self.ctx.clock.to_dict())

    async def clock_set(self, request: Request) -> Response:
        body = await _json(request)
        self.ctx.clock.set(float(body["epoch"]))
        self.ctx.tick()
        await self.ctx.outbox.drain()
        return JSONResponse(self.ctx.clock.to_dict())

    async def rate_limits(self, request: Request) -> Response:
        return JSONResponse(self.ctx.rate_limits())

    async def rate_limit(self, request: Request) -> Response:
        api = request.path_params["api"]
        if api not in self.ctx.apis:
            raise AdminError(404, f"no API {api!r}; known: {', '.join(self.ctx.apis)}")
        body = await _json(request) if request.method == "PUT" else {}
        credential = body.get("credential") or request.query_params.get("credential")
        if request.method == "PUT":
            limit, window = int(body["limit"]), float(body.get("window_seconds", 60))
            if limit < 1 or window <= 0:
                raise AdminError(400, "limit must be >= 1 and window_seconds > 0")
            self.ctx.set_rate_limit(api, RateLimit(limit, window), credential)
        elif request.method == "DELETE":
            self.ctx.set_rate_limit(api, None, credential)
        return JSONResponse(self.ctx.rate_limits()[api])

    async def faults(self, request: Request) -> Response:
        book = self.ctx.faults
        try:
            if request.method == "PUT":
                body = await _json(request)
                rules = body.get("rules", [])
                if not isinstance(rules, list):
                    raise AdminError(400, "'rules' must be a list")
                book.replace(rules, seed=int(body.get("seed", 0)))
            elif request.method == "POST":
                book.add(await _json(request))
            elif request.method == "DELETE":
                book.clear()
        except FaultSpecError as exc:
            raise AdminError(400, str(exc)) from exc
        return JSONResponse({"seed": book.seed, "rules": [r.to_dict() for r in book.rules]})

    def _tenant_filter(self, request: Request) -> int | None:
        ref = request.query_params.get("tenant")
        if not ref:
            return None
        tenant = self.ctx.tenant(ref)
        if tenant is None:
            raise AdminError(404, f"no tenant {ref!r}")
        return tenant.id

    async def deliveries(self, request: Request) -> Response:
        q = request.query_params
        tenant_id = self._tenant_filter(request)
        self.ctx.tick()
        if self.ctx.outbox.dirty:
            await self.ctx.outbox.drain()
        await self.ctx.outbox.settle()
        return JSONResponse(
            {
                "deliveries": self.ctx.outbox.deliveries(
                    api=q.get("api"),
                    tenant_id=tenant_id,
                    status=q.get("status"),
                    event=q.get("event"),
                    limit=int(q.get("limit", 100)),
                )
            }
        )

    async def flush(self, request: Request) -> Response:
        self.ctx.tick()
        attempted = await self.ctx.outbox.drain()
        return JSONResponse({"attempted": attempted})

    async def outbox_config(self, request: Request) -> Response:
        if request.method == "PUT":
            body = await _json(request)
            config = self.ctx.outbox.config
            backoff = body.get("backoff_seconds", list(config.backoff))
            if not isinstance(backoff, list) or any(float(b) < 0 for b in backoff):
                raise AdminError(400, "backoff_seconds must be a list of non-negative numbers")
            self.ctx.outbox.config = OutboxConfig(
                backoff=[float(b) for b in backoff],
                timeout_seconds=float(body.get("timeout_seconds", config.timeout_seconds)),
            )
        return JSONResponse(self.ctx.outbox.config.to_dict())

    async def sink(self, request: Request) -> Response:
        """A built-in webhook receiver: point a webhook here to see what the sandbox sends."""
        name = request.path_params["name"]
        store = self.ctx.store
        if request.method == "POST":
            status = int(request.query_params.get("status", 200))
            headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
            store.execute(
                "INSERT INTO sandbox_sink (name, at, headers, body) VALUES (?, ?, ?, ?)",
                (name, self.ctx.clock.now(), json.dumps(headers), await request.body()),
            )
            return JSONResponse({"received": True}, status_code=status)
        if request.method == "DELETE":
            store.execute("DELETE FROM sandbox_sink WHERE name = ?", (name,))
            return Response(status_code=204)
        await self.ctx.outbox.settle()
        items = []
        for row in store.all("SELECT * FROM sandbox_sink WHERE name = ? ORDER BY id", (name,)):
            body = bytes(row["body"])
            try:
                payload: Any = json.loads(body)
            except ValueError:
                payload = body.decode("utf-8", "replace")
            # "raw": the exact bytes received (as text), so a signature over the body can be checked
            items.append(
                {
                    "id": row["id"],
                    "at": self.ctx.clock.iso(row["at"]),
                    "headers": json.loads(row["headers"]),
                    "body": payload,
                    "raw": body.decode("utf-8", "replace"),
                }
            )
        return JSONResponse({"name": name, "received": items})

    async def requests(self, request: Request) -> Response:
        q = request.query_params
        entries = self.ctx.journal.entries(
            api=q.get("api"),
            method=q.get("method"),
            status=int(q["status"]) if q.get("status") else None,
            tenant_id=self._tenant_filter(request),
            limit=int(q.get("limit", 100)),
            since_id=int(q.get("since", 0)),
        )
        return JSONResponse({"requests": [e.to_dict() for e in entries]})

    async def stats(self, request: Request) -> Response:
        await self.ctx.outbox.settle()
        store = self.ctx.store
        hooks = {
            r["status"]: r["n"]
            for r in store.all("SELECT status, COUNT(*) AS n FROM webhook_deliveries GROUP BY status")
        }
        return JSONResponse(
            {
                "apis": self.ctx.journal.stats(),
                "webhooks": hooks,
                "tenants": len(self.ctx.tenants()),
                "clock": self.ctx.clock.to_dict(),
            }
        )
