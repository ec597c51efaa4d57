"""``engagesync console``: serve the web console on loopback, with a random access token (as Jupyter)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from .common import DEFAULT_STORE, StoreOpt, fail
from .sandbox_cmd import bind_listener

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def console(
    host: Annotated[
        str, typer.Option(help="Interface to bind; beyond loopback it needs --allow-remote.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port (0: any free port).")] = 8766,
    store: StoreOpt = DEFAULT_STORE,
    sandbox: Annotated[
        str | None, typer.Option("--sandbox", help="URL of a running sandbox to drive (journal, clock, faults).")
    ] = None,
    allow_remote: Annotated[
        bool, typer.Option("--allow-remote", help="Allow a --host beyond loopback (the token still guards it).")
    ] = False,
) -> None:
    """Serve the web console: destinations (preview, test, activate), connections, streams, the sandbox."""
    import uvicorn

    from ..console import Guard, create_app

    if host not in LOOPBACK and not allow_remote:
        fail(f"--host {host}: the console serves loopback only unless --allow-remote is given")
    guard = Guard(hosts=("*",) if allow_remote else (*LOOPBACK, "[::1]"))
    sock = bind_listener(host, port)  # a busy port: one line, exit 2
    sock.listen(128)  # accepting (queued) from the moment the URL is printed, not when uvicorn is up
    bound = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    sys.stdout.write(f"engagesync console: http://{shown}:{bound}/?token={guard.token}\n")
    sys.stdout.flush()
    config = uvicorn.Config(create_app(store, sandbox, guard), log_level="warning")
    uvicorn.Server(config).run(sockets=[sock])
