"""``listen``: the receiver on uvicorn, bound before it says where, stopped gracefully by SIGTERM.

uvicorn stops accepting on SIGTERM/SIGINT, lets in-flight requests finish (each waits for its commit),
then the lifespan's shutdown commits what is still queued and the store is closed.
"""

from __future__ import annotations

import socket
from collections.abc import Callable

import uvicorn

from ..store import Store
from .endpoints import EndpointFile
from .receiver import Receiver, Settings
from .storage import EventStore


def serve(
    store_path: str,
    sock: socket.socket,
    settings: Settings,
    retention_days: float,
    log: Callable[[str], None],
    endpoints: EndpointFile | None = None,
) -> None:
    with Store(store_path) as store:
        receiver = Receiver(EventStore(store, retention_days), endpoints or EndpointFile(), settings, log)
        config = uvicorn.Config(receiver.app, log_level="warning", access_log=False, timeout_graceful_shutdown=30)
        server = uvicorn.Server(config)
        bound = sock.getsockname()
        shown = f"[{bound[0]}]" if ":" in bound[0] else bound[0]
        log(f"listening on http://{shown}:{bound[1]} (store {store_path}); POST /hooks/<name>/<token>")
        server.run(sockets=[sock])
