"""A generic OAuth 2.0 authorization server (RFC 6749 authorization code + refresh) for emulated APIs.

An API composes one ``OAuthServer``, mounts its ``routes()`` under its prefix, marks them public and
resolves callers with ``access_token(request)``. Everything lives in the engine's ``credentials``
table, so clients, codes and tokens are per tenant, expire on the virtual clock, and survive a
``--db`` restart:

- ``oauth_client``  secret = client_id; data = client_secret, redirect_uris, name
- ``oauth_code``    single use (revoked on exchange), expires after ``code_ttl``
- ``oauth_access``  expires after ``access_token_ttl``; the gate's auth honours expiry/revocation
- ``oauth_refresh`` no expiry; rotated on every refresh. By default (Doorkeeper's
  ``refresh_token_revoked_on_use``) the old one stays valid until the new access token is first
  used, so a client whose token response was lost can refresh again; switch it off
  (``PUT /_sandbox/<api>/oauth/settings {"refresh_token_revoked_on_use": false}``) for strict rotation
- ``oauth_consent`` the pending request behind a consent page (single use, expires like a code)

By default the server auto-approves (a GET of the authorize URL answers 302 straight to the
redirect URI), which is what tests and headless machines need; ``consent = True`` shows a real
Approve/Deny page to a person in a browser. Secrets never go into error messages or logs, and
client secrets are compared in constant time.
"""

from __future__ import annotations

import base64
import hmac
import html
import ipaddress
import json
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from .auth import bearer_token

if TYPE_CHECKING:
    from .context import IssuedCredential, SandboxContext

CLIENT, CODE, ACCESS, REFRESH, CONSENT = "oauth_client", "oauth_code", "oauth_access", "oauth_refresh", "oauth_consent"

#: What each error code means, in RFC 6749's words (descriptions never echo a submitted value).
DESCRIPTIONS = {
    "invalid_request": "The request is missing a required parameter, includes an unsupported parameter value, "
    "or is otherwise malformed.",
    "invalid_client": "Client authentication failed due to unknown client, no client authentication included, "
    "or unsupported authentication method.",
    "invalid_grant": "The provided authorization grant is invalid, expired, revoked, does not match the "
    "redirection URI used in the authorization request, or was issued to another client.",
    "unsupported_grant_type": "The authorization grant type is not supported by the authorization server.",
    "unsupported_response_type": "The authorization server does not support obtaining an authorization code "
    "using this method.",
    "invalid_scope": "The requested scope is invalid, unknown, or malformed.",
    "invalid_redirect_uri": "The requested redirect uri is malformed or doesn't match client redirect URI.",
    "access_denied": "The resource owner or authorization server denied the request.",
}


@dataclass(frozen=True)
class OAuthConfig:
    """Per-API settings; defaults are Doorkeeper's (2 h tokens, 10 min codes), which Groove's match."""

    access_token_ttl: int = 7200
    code_ttl: int = 600
    authorize_path: str = "/oauth/authorize"
    #: Every path that answers as the token endpoint (POST).
    token_paths: tuple[str, ...] = ("/oauth/token",)
    revoke_path: str = "/oauth/revoke"
    consent_path: str = "/oauth/authorize/consent"
    #: Render ``created_at`` as a string (Groove's document shows ``"created_at": "685238400"``).
    created_at_as_string: bool = False
    #: RFC 8252 7.3: a registered loopback-IP redirect URI matches on any port.
    loopback_any_port: bool = True
    title: str = "Sandbox"


@dataclass(frozen=True)
class OAuthClient:
    client_id: str
    client_secret: str
    redirect_uris: tuple[str, ...]
    name: str
    tenant_id: int

    def secret_matches(self, candidate: str | None) -> bool:
        return candidate is not None and hmac.compare_digest(self.client_secret.encode(), candidate.encode())


class OAuthError(Exception):
    """An RFC 6749 error answered as ``{"error", "error_description"}``."""

    def __init__(
        self, error: str, status: int = 400, description: str | None = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(error)
        self.error = error
        self.status = status
        self.description = description or DESCRIPTIONS.get(error, error)
        self.headers = headers or {}

    def response(self) -> JSONResponse:
        return JSONResponse(
            {"error": self.error, "error_description": self.description},
            status_code=self.status,
            headers={"Cache-Control": "no-store", "Pragma": "no-cache", **self.headers},
        )


def new_secret() -> str:
    """43 url-safe characters, like Doorkeeper's ``SecureRandom.urlsafe_base64(32)``."""
    return secrets.token_urlsafe(32)


class OAuthServer:
    def __init__(self, ctx: SandboxContext, api_id: str, config: OAuthConfig | None = None) -> None:
        self.ctx = ctx
        self.api_id = api_id
        self.config = config or OAuthConfig()

    # -- settings ------------------------------------------------------------------------------
    @property
    def consent(self) -> bool:
        """True: the authorize URL shows an Approve/Deny page; False (default): it auto-approves."""
        return bool(self.ctx.store.get_meta(f"oauth:{self.api_id}:consent", False))

    @consent.setter
    def consent(self, value: bool) -> None:
        self.ctx.store.set_meta(f"oauth:{self.api_id}:consent", bool(value))

    @property
    def refresh_token_revoked_on_use(self) -> bool:
        """True (default, Doorkeeper's): a rotated refresh token dies when the new access token is
        first used, so a lost token response is recoverable. False: it dies at once (strict rotation)."""
        return bool(self.ctx.store.get_meta(f"oauth:{self.api_id}:refresh_token_revoked_on_use", True))

    @refresh_token_revoked_on_use.setter
    def refresh_token_revoked_on_use(self, value: bool) -> None:
        self.ctx.store.set_meta(f"oauth:{self.api_id}:refresh_token_revoked_on_use", bool(value))

    # -- clients -------------------------------------------------------------------------------
    def register_client(
        self, tenant_id: int, client_id: str, client_secret: str, redirect_uris: list[str], name: str = "Sandbox app"
    ) -> OAuthClient:
        for uri in redirect_uris:
            parts = urlsplit(uri)
            if not parts.scheme or not parts.netloc or parts.fragment:
                raise ValueError(f"redirect URI {uri!r} must be absolute and have no fragment")
        self.ctx.issue_credential(
            self.api_id,
            tenant_id,
            CLIENT,
            client_id,
            data={"client_secret": client_secret, "redirect_uris": list(redirect_uris), "name": name},
        )
        return OAuthClient(client_id, client_secret, tuple(redirect_uris), name, tenant_id)

    def client(self, client_id: str | None) -> OAuthClient | None:
        cred = self.ctx.find_credential(self.api_id, client_id, kind=CLIENT)
        return None if cred is None else _client(cred)

    def clients(self, tenant_id: int) -> list[OAuthClient]:
        return [_client(c) for c in self.ctx.credentials_of(self.api_id, tenant_id, CLIENT)]

    # -- resource side -------------------------------------------------------------------------
    def bearer(self, request: Request) -> str | None:
        """The access token a request carries: ``Authorization: Bearer`` or ``?access_token=``."""
        return bearer_token(request, query_param="access_token")

    def access_token(self, request: Request) -> IssuedCredential | None:
        """The live access token of a request, or ``None`` (missing, unknown, expired, revoked).

        Its first use revokes the refresh token it was refreshed from (Doorkeeper's
        ``revoke_previous_refresh_token!``): the client has evidently received the new pair."""
        cred = self.ctx.find_credential(self.api_id, self.bearer(request), kind=ACCESS)
        if cred is not None and cred.data.get("previous_refresh_token"):
            data = {k: v for k, v in cred.data.items() if k != "previous_refresh_token"}
            with self.ctx.store.tx():
                self.ctx.revoke_credential(self.api_id, cred.data["previous_refresh_token"])
                self.ctx.issue_credential(self.api_id, cred.tenant_id, ACCESS, cred.secret, cred.expires_at, data)
        return cred

    def unauthorized(self, request: Request) -> Response:
        """RFC 6750 3.1: empty 401 whose ``WWW-Authenticate`` says why (as Doorkeeper answers)."""
        token = self.bearer(request)
        cred = self.ctx.find_credential(self.api_id, token, kind=ACCESS, include_inactive=True) if token else None
        if token is None:
            value = 'Bearer realm="{realm}"'
        else:
            why = "The access token is invalid"
            if cred is not None and cred.revoked:
                why = "The access token was revoked"
            elif cred is not None:
                why = "The access token expired"
            value = f'Bearer realm="{{realm}}", error="invalid_token", error_description="{why}"'
        return Response(b"", status_code=401, headers={"WWW-Authenticate": value.format(realm=self.config.title)})

    def is_oauth_path(self, path: str) -> bool:
        c = self.config
        return path in (c.authorize_path, c.revoke_path, c.consent_path, *c.token_paths)

    # -- tokens --------------------------------------------------------------------------------
    def mint(self, client: OAuthClient, scope: str, previous_refresh_token: str | None = None) -> dict[str, Any]:
        """Issue an access + refresh token pair for ``client``'s tenant; the token response body.

        ``previous_refresh_token`` is revoked when the new access token is first used."""
        now = self.ctx.clock.now()
        access, refresh = new_secret(), new_secret()
        data: dict[str, Any] = {"client_id": client.client_id, "scope": scope, "created_at": int(now)}
        if previous_refresh_token:
            data["previous_refresh_token"] = previous_refresh_token
        self.ctx.issue_credential(
            self.api_id,
            client.tenant_id,
            ACCESS,
            access,
            expires_at=now + self.config.access_token_ttl,
            data=data,
        )
        self.ctx.issue_credential(
            self.api_id,
            client.tenant_id,
            REFRESH,
            refresh,
            data={"client_id": client.client_id, "scope": scope, "access_token": access},
        )
        created: int | str = str(int(now)) if self.config.created_at_as_string else int(now)
        return {
            "access_token": access,
            "created_at": created,
            "token_type": "Bearer",
            "expires_in": self.config.access_token_ttl,
            "refresh_token": refresh,
            "scope": scope,
        }

    def issue_code(self, client: OAuthClient, redirect_uri: str, scope: str) -> str:
        code = new_secret()
        self.ctx.issue_credential(
            self.api_id,
            client.tenant_id,
            CODE,
            code,
            expires_at=self.ctx.clock.now() + self.config.code_ttl,
            data={"client_id": client.client_id, "redirect_uri": redirect_uri, "scope": scope},
        )
        return code

    # -- routes --------------------------------------------------------------------------------
    def routes(self) -> list[BaseRoute]:
        c = self.config
        routes: list[BaseRoute] = [
            Route(c.authorize_path, self.authorize_or_token, methods=["GET", "POST"]),
            Route(c.consent_path, self.consent_decision, methods=["POST"]),
            Route(c.revoke_path, self.revoke, methods=["POST"]),
        ]
        routes += [Route(p, self.token, methods=["POST"]) for p in c.token_paths if p != c.authorize_path]
        return routes

    async def authorize_or_token(self, request: Request) -> Response:
        """GET: the authorize step. POST: the token endpoint (Groove's curl example posts here)."""
        if request.method == "POST":
            return await self.token(request)
        return self.authorize(request)

    def authorize(self, request: Request) -> Response:
        q = request.query_params
        try:
            client = self.client(q.get("client_id"))
            if client is None:
                raise OAuthError("invalid_client", 401)
            redirect_uri = q.get("redirect_uri")
            if not redirect_uri:
                raise OAuthError("invalid_request", description="Missing required parameter: redirect_uri.")
            if not self.redirect_allowed(client, redirect_uri):
                raise OAuthError("invalid_redirect_uri")
        except OAuthError as exc:  # RFC 6749 4.1.2.1: never redirect to an unverified URI
            return exc.response()
        state = q.get("state")
        response_type = q.get("response_type") or "code"  # Groove's document does not send it
        if response_type != "code":
            return _redirect(
                redirect_uri,
                {"error": "unsupported_response_type", "error_description": DESCRIPTIONS["unsupported_response_type"]},
                state,
            )
        scope = " ".join(q.get("scope", "").split())
        if not self.consent:
            return _redirect(redirect_uri, {"code": self.issue_code(client, redirect_uri, scope)}, state)
        ticket = new_secret()
        self.ctx.issue_credential(
            self.api_id,
            client.tenant_id,
            CONSENT,
            ticket,
            expires_at=self.ctx.clock.now() + self.config.code_ttl,
            data={"client_id": client.client_id, "redirect_uri": redirect_uri, "scope": scope, "state": state},
        )
        action = f"{request.scope.get('root_path', '')}{self.config.consent_path}"
        return HTMLResponse(_consent_page(self.config.title, client.name, scope, redirect_uri, action, ticket))

    async def consent_decision(self, request: Request) -> Response:
        form = await _params(request)
        with self.ctx.store.tx():
            cred = self.ctx.find_credential(self.api_id, form.get("ticket"), kind=CONSENT)
            if cred is None:
                return OAuthError(
                    "invalid_request",
                    description="This authorization request has expired or was "
                    "already answered; start again from the authorize URL.",
                ).response()
            self.ctx.revoke_credential(self.api_id, cred.secret)
        client = self.client(cred.data["client_id"])
        redirect_uri, state = cred.data["redirect_uri"], cred.data.get("state")
        if client is None or form.get("decision") != "approve":
            return _redirect(
                redirect_uri,
                {"error": "access_denied", "error_description": DESCRIPTIONS["access_denied"]},
                state,
                status=303,
            )
        code = self.issue_code(client, redirect_uri, cred.data["scope"])
        return _redirect(redirect_uri, {"code": code}, state, status=303)

    async def token(self, request: Request) -> Response:
        try:
            params = await _params(request)
            client = self.authenticate_client(request, params)
            grant_type = params.get("grant_type")
            if not grant_type:
                raise OAuthError("invalid_request", description="Missing required parameter: grant_type.")
            with self.ctx.store.tx():  # check-and-revoke is atomic: a code or refresh token works once
                if grant_type == "authorization_code":
                    body = self._exchange_code(client, params)
                elif grant_type == "refresh_token":
                    body = self._refresh(client, params)
                else:
                    raise OAuthError("unsupported_grant_type")
        except OAuthError as exc:
            return exc.response()
        return JSONResponse(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

    async def revoke(self, request: Request) -> Response:
        """RFC 7009: revoke an access or refresh token of this client; unknown tokens are not an error."""
        try:
            params = await _params(request)
            client = self.authenticate_client(request, params)
        except OAuthError as exc:
            return exc.response()
        token = params.get("token")
        for kind in (ACCESS, REFRESH):
            cred = self.ctx.find_credential(self.api_id, token, kind=kind, include_inactive=True)
            if cred is not None and cred.data.get("client_id") == client.client_id:
                self.ctx.revoke_credential(self.api_id, cred.secret)
                if kind == REFRESH and cred.data.get("access_token"):
                    self.ctx.revoke_credential(self.api_id, cred.data["access_token"])
        return JSONResponse({})

    # -- grant handling ------------------------------------------------------------------------
    def authenticate_client(self, request: Request, params: dict[str, str]) -> OAuthClient:
        """HTTP Basic (RFC 6749 2.3.1, form-encoded parts) or ``client_id``/``client_secret`` in the body."""
        client_id, secret = params.get("client_id"), params.get("client_secret")
        basic = False
        header = request.headers.get("authorization", "")
        if header[:6].lower() == "basic ":
            try:
                raw = base64.b64decode(header[6:].strip(), validate=True).decode()
            except (ValueError, UnicodeDecodeError):
                raise OAuthError("invalid_request", description="Malformed HTTP Basic credentials.") from None
            user, sep, password = raw.partition(":")
            if not sep:
                raise OAuthError("invalid_request", description="Malformed HTTP Basic credentials.")
            client_id, secret, basic = unquote(user.replace("+", " ")), unquote(password.replace("+", " ")), True
        client = self.client(client_id)
        if client is None or not client.secret_matches(secret):
            headers = {"WWW-Authenticate": f'Basic realm="{self.config.title}"'} if basic else None
            raise OAuthError("invalid_client", 401, headers=headers)
        return client

    def _exchange_code(self, client: OAuthClient, params: dict[str, str]) -> dict[str, Any]:
        code = params.get("code")
        redirect_uri = params.get("redirect_uri") or params.get("redirect_url")  # the document's curl spelling
        if not code:
            raise OAuthError("invalid_request", description="Missing required parameter: code.")
        if not redirect_uri:
            raise OAuthError("invalid_request", description="Missing required parameter: redirect_uri.")
        grant = self.ctx.find_credential(self.api_id, code, kind=CODE)
        if grant is None or grant.data.get("client_id") != client.client_id:
            raise OAuthError("invalid_grant")
        if not hmac.compare_digest(grant.data.get("redirect_uri", "").encode(), redirect_uri.encode()):
            raise OAuthError("invalid_grant")
        self.ctx.revoke_credential(self.api_id, grant.secret)
        return self.mint(client, grant.data.get("scope", ""))

    def _refresh(self, client: OAuthClient, params: dict[str, str]) -> dict[str, Any]:
        token = params.get("refresh_token")
        if not token:
            raise OAuthError("invalid_request", description="Missing required parameter: refresh_token.")
        old = self.ctx.find_credential(self.api_id, token, kind=REFRESH)
        if old is None or old.data.get("client_id") != client.client_id:
            raise OAuthError("invalid_grant")
        granted = old.data.get("scope", "")
        asked = params.get("scope")
        if asked is not None and asked.strip() and not set(asked.split()) <= set(granted.split()):
            raise OAuthError("invalid_scope")
        scope = " ".join(asked.split()) if asked and asked.strip() else granted
        # Rotation: the access token the old refresh token came with stops working now; the old
        # refresh token too, or (revoked on use, the default) once the new access token is used.
        previous = old.secret if self.refresh_token_revoked_on_use else None
        if previous is None:
            self.ctx.revoke_credential(self.api_id, old.secret)
        if old.data.get("access_token"):
            self.ctx.revoke_credential(self.api_id, old.data["access_token"])
        return self.mint(client, scope, previous_refresh_token=previous)

    def redirect_allowed(self, client: OAuthClient, uri: str) -> bool:
        if uri in client.redirect_uris:
            return True
        if not self.config.loopback_any_port:
            return False
        asked = urlsplit(uri)
        if not _loopback_ip(asked.hostname):
            return False
        for registered in client.redirect_uris:
            r = urlsplit(registered)
            if (r.scheme, r.hostname, r.path, r.query) == (
                asked.scheme,
                asked.hostname,
                asked.path,
                asked.query,
            ) and _loopback_ip(r.hostname):
                return True
        return False


# -- helpers -------------------------------------------------------------------------------------
def servers(ctx: SandboxContext) -> list[OAuthServer]:
    """Every OAuth server of the sandbox's APIs (an API exposes its own as ``.oauth``)."""
    return [s for api in ctx.apis.values() if isinstance(s := getattr(api, "oauth", None), OAuthServer)]


def _client(cred: IssuedCredential) -> OAuthClient:
    return OAuthClient(
        cred.secret,
        cred.data["client_secret"],
        tuple(cred.data["redirect_uris"]),
        cred.data.get("name", "Sandbox app"),
        cred.tenant_id,
    )


def _loopback_ip(host: str | None) -> bool:
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _redirect(uri: str, params: dict[str, str], state: str | None, status: int = 302) -> Response:
    """``uri`` plus ``params`` (and ``state`` when one was sent), keeping the URI's own query."""
    parts = urlsplit(uri)
    query = parse_qsl(parts.query, keep_blank_values=True) + list(params.items())
    if state is not None:
        query.append(("state", state))
    return RedirectResponse(
        urlunsplit(parts._replace(query=urlencode(query))), status_code=status, headers={"Cache-Control": "no-store"}
    )


async def _params(request: Request) -> dict[str, str]:
    """Token-endpoint parameters from a JSON or form body, over the query string (Rails merges both)."""
    params = {k: v for k, v in request.query_params.items()}
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    raw = await request.body()
    if not raw.strip():
        return params
    if ctype == "application/json" or (not ctype and raw.lstrip()[:1] == b"{"):
        try:
            data = json.loads(raw)
        except ValueError:
            raise OAuthError("invalid_request", description="The request body is not valid JSON.") from None
        if not isinstance(data, dict):
            raise OAuthError("invalid_request", description="The request body must be a JSON object.")
        params.update({k: v if isinstance(v, str) else json.dumps(v) for k, v in data.items() if v is not None})
    else:
        params.update(dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True)))
    return params


def _consent_page(title: str, app: str, scope: str, redirect_uri: str, action: str, ticket: str) -> str:
    e = html.escape
    scopes = "".join(f"<li><code>{e(s)}</code></li>" for s in scope.split()) or "<li>(no scopes requested)</li>"
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>Authorize {e(app)}</title></head>
<body style="font-family: sans-serif; max-width: 36em; margin: 3em auto">
<h1>{e(title)}</h1>
<p><strong>{e(app)}</strong> asks to access your account.</p>
<p>Scopes:</p><ul>{scopes}</ul>
<p>You will be sent back to <code>{e(redirect_uri)}</code>.</p>
<form method="post" action="{e(action)}">
<input type="hidden" name="ticket" value="{e(ticket)}">
<button type="submit" name="decision" value="approve">Approve</button>
<button type="submit" name="decision" value="deny">Deny</button>
</form></body></html>
"""
