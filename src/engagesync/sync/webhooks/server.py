"""``listen``: the receiver on uvicorn, bound before it says where, stopped gracefully by SIGTERM.

uvicorn stops accepting on SIGTERM/SIGINT, lets in-flight requests finish (each waits for its commit),
then the lifespan's shutdown commits what is still queued and the store is closed.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from types import FrameType

import uvicorn

from ..store import Store
from .endpoints import EndpointFile
from .receiver import Receiver, Settings
from .storage import EventStore


class _Server(uvicorn.Server):
    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        self._captured_signals.clear()  # a graceful stop exits 0, not re-killed by the signal afterwards


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
        server = _Server(config)
        bound = sock.getsockname()
        shown = f"[{bound[0]}]" if ":" in bound[0] else bound[0]
        log(f"listening on http://{shown}:{bound[1]} (store {store_path}); POST /hooks/<name>/<token>")
        server.run(sockets=[sock])
        log(f"stopped; {receiver.total} event(s) stored since start")
