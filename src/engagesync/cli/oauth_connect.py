"""``engagesync connect groove-sales --client-id ... --client-secret ...``: the OAuth 2.0 authorization
code flow at a terminal, kept apart from the token-based ``connect`` in ``data_cmds``.

It prints the authorize URL (to stderr, so ``--json`` stays clean), opens a browser unless
``--no-browser``, and catches the redirect on a loopback listener; with ``--no-browser`` (headless
machines) it asks for the URL the browser was redirected to, or the bare code.
"""

from __future__ import annotations

import webbrowser

import typer

from ..client.errors import AuthError, EngageSyncError
from ..client.oauth import AuthorizationFailed
from ..sync import connectors
from ..sync.connections import Connection
from .common import AUTH, FAILED, err, fail


def oauth_connection(
    name: str,
    api: str,
    client_id: str | None,
    client_secret: str | None,
    *,
    graphql_url: str | None,
    authorize_url: str | None,
    token_url: str | None,
    redirect_uri: str | None,
    redirect_port: int,
    no_browser: bool,
    scope: str,
    timeout: float = 300.0,
) -> Connection:
    if not (client_id and client_secret):
        fail(
            "give both --client-id and --client-secret (the OAuth app's; the secret may come from "
            "ENGAGESYNC_CLIENT_SECRET)"
        )
    redirect = redirect_uri or f"http://127.0.0.1:{redirect_port}/callback"

    def paste(prompt: str) -> str:
        return str(typer.prompt(prompt, err=True))

    try:
        base_url, secrets, settings = connectors.connect_oauth(
            api,
            client_id,
            client_secret,
            say=lambda text: err.print(text, soft_wrap=True, highlight=False),
            graphql_url=graphql_url,
            authorize_url=authorize_url,
            token_url=token_url,
            redirect_uri=redirect,
            scope=scope,
            open_browser=None if no_browser else webbrowser.open,
            paste=paste if no_browser else None,
            timeout=timeout,
        )
    except KeyError as exc:
        fail(str(exc.args[0]) if exc.args else str(exc))
    except ValueError as exc:
        fail(str(exc))
    except (AuthorizationFailed, AuthError) as exc:
        fail(f"authorization failed: {exc}", AUTH)
    except EngageSyncError as exc:
        fail(f"authorization failed: {exc}", FAILED)
    return Connection(name, api, base_url, secrets, settings)
