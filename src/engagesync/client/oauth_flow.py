"""The OAuth 2.0 authorization-code flow: the authorize URL with ``state``, the loopback listener that
catches the redirect (or a pasted redirect URL on a headless machine), and the code exchange."""

from __future__ import annotations

import http.server
import secrets as _secrets
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx

from .oauth import AuthorizationFailed, OAuthApp, TokenSet, request_token


def new_state() -> str:
    return _secrets.token_urlsafe(24)


def authorization_url(app: OAuthApp, state: str, redirect_uri: str | None = None) -> str:
    """Step 1: where to send the person (``client_id``, ``redirect_uri``, ``scope``, ``state``)."""
    if not app.authorize_url:
        raise ValueError("this OAuth app has no authorize URL")
    redirect = redirect_uri or app.redirect_uri
    if not redirect:
        raise ValueError("a redirect URI is needed for the authorization code flow")
    params = {"client_id": app.client_id, "redirect_uri": redirect, "response_type": "code", "state": state}
    if app.scope:
        params["scope"] = app.scope
    parts = urlsplit(app.authorize_url)
    query = urlencode([*parse_qsl(parts.query), *params.items()])
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


def code_from_params(params: dict[str, str], state: str) -> str:
    """Step 2: the ``code`` of a redirect, once its ``state`` matches (else the request may be forged)."""
    if params.get("error"):
        detail = params.get("error_description") or ""
        raise AuthorizationFailed(f"authorization refused: {params['error']}{f' ({detail})' if detail else ''}")
    if params.get("state") != state:
        raise AuthorizationFailed(
            "the redirect's state does not match the one sent; aborting (the request may have been forged)"
        )
    code = params.get("code")
    if not code:
        raise AuthorizationFailed("the redirect carries no code")
    return code


def code_from_pasted(text: str, state: str) -> str:
    """The code from a pasted redirect URL (state checked) or a bare code (headless machines)."""
    text = text.strip()
    if "://" in text or text.startswith("?") or "code=" in text:
        return code_from_params(dict(parse_qsl(urlsplit(text).query if "://" in text else text.lstrip("?"))), state)
    if not text:
        raise AuthorizationFailed("nothing was pasted")
    return text


def exchange_code(
    app: OAuthApp,
    code: str,
    redirect_uri: str,
    transport: httpx.BaseTransport | None = None,
) -> TokenSet:
    """Step 3: trade the code for an access + refresh token pair."""
    with httpx.Client(transport=transport, timeout=30.0, headers={"User-Agent": "engagesync"}) as http:
        return request_token(
            http,
            app,
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect_uri,
                "redirect_url": redirect_uri,
            },
        )


class LoopbackReceiver:
    """A one-shot HTTP listener on 127.0.0.1 that catches the authorization redirect (RFC 8252 7.3).

    It answers every request; the first one on ``path`` carrying ``code`` or ``error`` completes it.
    """

    def __init__(self, port: int = 0, path: str = "/callback", host: str = "127.0.0.1") -> None:
        self.path = path if path.startswith("/") else f"/{path}"
        self._result: dict[str, str] | None = None
        self._done = threading.Event()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                params = dict(parse_qsl(parts.query))
                if parts.path != receiver.path or not ({"code", "error"} & params.keys()):
                    self.send_response(404)
                    self.end_headers()
                    return
                ok = "code" in params and not params.get("error")
                page = (
                    "<h1>engagesync is connected</h1><p>You can close this tab.</p>"
                    if ok
                    else "<h1>Authorization did not complete</h1><p>Go back to the terminal.</p>"
                )
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.end_headers()
                self.wfile.write(page.encode())
                if receiver._result is None:
                    receiver._result = params
                    receiver._done.set()

            def log_message(self, format: str, *args: Any) -> None:  # never log the code
                pass

        self._server = http.server.HTTPServer((host, port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="oauth-redirect", daemon=True)
        self._thread.start()

    @classmethod
    def for_uri(cls, redirect_uri: str) -> LoopbackReceiver:
        """A listener matching a loopback redirect URI (its port, or a free one for port 0, and its path)."""
        parts = urlsplit(redirect_uri)
        if parts.scheme != "http" or parts.hostname not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError(
                f"the redirect URI must be http://127.0.0.1:PORT/... to be caught locally, not {redirect_uri}"
            )
        return cls(parts.port or 0, parts.path or "/callback")

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def redirect_uri(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.path}"

    def wait(self, timeout: float) -> dict[str, str]:
        if not self._done.wait(timeout):
            raise AuthorizationFailed(f"no redirect arrived at {self.redirect_uri} within {timeout:.0f}s")
        assert self._result is not None
        return self._result

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> LoopbackReceiver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def authorize_interactively(
    app: OAuthApp,
    *,
    say: Callable[[str], None],
    redirect_uri: str | None = None,
    open_browser: Callable[[str], object] | None = None,
    paste: Callable[[str], str] | None = None,
    timeout: float = 300.0,
    transport: httpx.BaseTransport | None = None,
) -> tuple[TokenSet, str]:
    """The whole authorization-code flow for a person at a terminal; returns (tokens, redirect URI used).

    With ``paste`` (headless): print the URL, read back the redirect URL (or the code) the browser
    ended on elsewhere. Otherwise: listen on the loopback redirect URI, print the URL (and open it with
    ``open_browser``), and catch the redirect.
    """
    state = new_state()
    redirect = redirect_uri or app.redirect_uri or "http://127.0.0.1:0/callback"
    if paste is not None:
        url = authorization_url(app, state, redirect)
        say(f"Open this URL in a browser, approve, then paste the URL you are redirected to:\n{url}")
        code = code_from_pasted(paste("Redirect URL (or code)"), state)
        return exchange_code(app, code, redirect, transport), redirect
    with LoopbackReceiver.for_uri(redirect) as receiver:
        url = authorization_url(app, state, receiver.redirect_uri)
        say(f"Open this URL in a browser to authorize engagesync (listening on {receiver.redirect_uri}):\n{url}")
        if open_browser is not None:
            open_browser(url)
        code = code_from_params(receiver.wait(timeout), state)
        return exchange_code(app, code, receiver.redirect_uri, transport), receiver.redirect_uri


def authorize_without_browser(app: OAuthApp, http: httpx.Client, redirect_uri: str | None = None) -> TokenSet:
    """The code flow against an authorize URL that approves at once (the sandbox's default): GET it,
    take ``code`` from the 302's ``Location`` (state checked), exchange it. No person, no listener."""
    state = new_state()
    redirect = redirect_uri or app.redirect_uri
    if not redirect:
        raise ValueError("a redirect URI is needed for the authorization code flow")
    response = http.get(authorization_url(app, state, redirect), follow_redirects=False)
    location = response.headers.get("location")
    if response.status_code not in (301, 302, 303, 307) or not location:
        raise AuthorizationFailed(
            f"the authorize URL answered {response.status_code} without a redirect (is a consent page switched on?)"
        )
    code = code_from_params(dict(parse_qsl(urlsplit(location).query)), state)
    return request_token(http, app, {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect})
