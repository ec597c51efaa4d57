"""The sandbox's admin side of an ``OAuthServer`` (``/_sandbox/<api>/oauth/...``): a ready token pair
without the browser (tests, the demo), client registration, the server's settings, and a redirect URI
that shows the code a browser came back with."""

from __future__ import annotations

import html
import json
import secrets
from functools import partial
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from .oauth import OAuthClient, OAuthServer, new_secret


def admin_routes(server: OAuthServer) -> list[BaseRoute]:
    """The server's admin routes, mounted at ``/_sandbox/<api>/oauth/...``."""
    return [
        Route("/oauth/tokens", partial(_mint, server), methods=["POST"]),
        Route("/oauth/clients", partial(_clients, server), methods=["GET", "POST"]),
        Route("/oauth/settings", partial(_settings, server), methods=["GET", "PUT"]),
        Route("/oauth/callback", partial(_callback, server), methods=["GET"]),
    ]


def _tenant(server: OAuthServer, request: Request, body: dict[str, Any]) -> int:
    ref = body.get("tenant") or request.query_params.get("tenant") or request.headers.get("x-sandbox-tenant")
    tenant = server.ctx.tenant(ref)
    if tenant is None:
        raise KeyError(f"no tenant {ref!r}")
    return tenant.id


async def _mint(server: OAuthServer, request: Request) -> Response:
    """A ready token pair without the browser dance (tests, the demo); the real flow stays primary."""
    body = await _json(request)
    tenant_id = _tenant(server, request, body)
    clients = server.clients(tenant_id)
    client = (
        next((c for c in clients if c.client_id == body.get("client_id")), None)
        if body.get("client_id")
        else (clients[0] if clients else None)
    )
    if client is None:
        return JSONResponse({"error": "no such OAuth client for this tenant"}, status_code=404)
    return JSONResponse(
        {**server.mint(client, " ".join(str(body.get("scope", "")).split())), "client_id": client.client_id},
        status_code=201,
    )


async def _clients(server: OAuthServer, request: Request) -> Response:
    body = await _json(request) if request.method == "POST" else {}
    tenant_id = _tenant(server, request, body)
    if request.method == "POST":
        uris = body.get("redirect_uris")
        if not isinstance(uris, list) or not uris or not all(isinstance(u, str) for u in uris):
            return JSONResponse({"error": "'redirect_uris' must be a non-empty list of URLs"}, status_code=400)
        client = server.register_client(
            tenant_id, "app_" + secrets.token_hex(12), new_secret(), uris, str(body.get("name") or "Sandbox app")
        )
        return JSONResponse(_client_json(client), status_code=201)
    return JSONResponse({"clients": [_client_json(c) for c in server.clients(tenant_id)]})


async def _settings(server: OAuthServer, request: Request) -> Response:
    if request.method == "PUT":
        body = await _json(request)
        if "consent" in body:
            if not isinstance(body["consent"], bool):
                return JSONResponse({"error": "'consent' must be true or false"}, status_code=400)
            server.consent = body["consent"]
        if "refresh_token_revoked_on_use" in body:
            if not isinstance(body["refresh_token_revoked_on_use"], bool):
                return JSONResponse({"error": "'refresh_token_revoked_on_use' must be true or false"}, status_code=400)
            server.refresh_token_revoked_on_use = body["refresh_token_revoked_on_use"]
    return JSONResponse(
        {
            "consent": server.consent,
            "refresh_token_revoked_on_use": server.refresh_token_revoked_on_use,
            "access_token_ttl": server.config.access_token_ttl,
            "code_ttl": server.config.code_ttl,
        }
    )


async def _callback(server: OAuthServer, request: Request) -> Response:
    """A redirect URI that needs no app: shows the code (or error) the browser came back with."""
    q = dict(request.query_params)
    if "application/json" in request.headers.get("accept", ""):
        return JSONResponse(q)
    rows = "".join(f"<tr><th>{html.escape(k)}</th><td><code>{html.escape(v)}</code></td></tr>" for k, v in q.items())
    return HTMLResponse(
        f"<!doctype html><title>OAuth callback</title><h1>{html.escape(server.config.title)}: "
        f"authorization {'denied' if 'error' in q else 'granted'}</h1><table>{rows}</table>"
        "<p>Exchange the code at the token URL within 10 minutes; it works once.</p>"
    )


def _client_json(client: OAuthClient) -> dict[str, Any]:
    return {
        "client_id": client.client_id,
        "client_secret": client.client_secret,
        "redirect_uris": list(client.redirect_uris),
        "name": client.name,
    }


async def _json(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    data = json.loads(raw)
    if not isinstance(data, dict):
        raise ValueError("body must be a JSON object")
    return data
