"""``engagesync run``: deliver for every active destination on its schedule, until asked to stop.

The store is opened for each pass and closed while the worker sleeps, so other commands (``edit``,
``activate``, a pull appending to a source table) can use the file in between. A stop request
(SIGTERM/SIGINT: ``stop()``) ends the current run after its current window, which the ledger has
committed; a SIGKILL at any point leaves at most one window's records ``sent``, which the next run
reconciles before sending again. One log line per delivery run.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import timedelta

from ..connections import ConnectionStore
from ..store import Store, StoreOpenError, utcnow
from . import storage
from .delivery import DeliveryResult, Progress, deliver
from .storage import Destination

Log = Callable[[str], None]


def due(destination: Destination, now_seconds: float | None = None) -> float:
    """Seconds until the destination's next run (<= 0: due now)."""
    if not destination.active:
        return float("inf")
    last = destination.last_run_at
    if last is None or (destination.activated_at is not None and last < destination.activated_at):
        return 0.0  # activated now: deliver now, then on the schedule
    every = timedelta(seconds=destination.every_seconds or 60.0)
    return (last + every - utcnow()).total_seconds()


class Worker:
    def __init__(
        self,
        store_path: str,
        log: Log,
        *,
        connections: ConnectionStore | None = None,
        progress: Progress | None = None,
        idle: float = 1.0,
        timeout: float | None = None,
    ) -> None:
        self.store_path = store_path
        self.log = log
        self.connections = connections
        self.progress = progress
        #: Longest sleep between passes (a newly activated destination waits at most this long).
        self.idle = idle
        self.timeout = timeout
        self._stop = threading.Event()
        self.results: list[DeliveryResult] = []

    def stop(self) -> None:
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def run(self, once: bool = False) -> None:
        """Passes until stopped (``once``: a single pass over what is due now, e.g. for cron)."""
        self.log(f"worker started (store {self.store_path})")
        while not self.stopping:
            wait = self.pass_once()
            if once:
                break
            self._stop.wait(max(0.05, min(wait, self.idle)))
        self.log("worker stopped")

    def pass_once(self) -> float:
        """Deliver for every due destination; return the seconds until the next one is due."""
        try:
            store = Store(self.store_path)
        except StoreOpenError as exc:
            self.log(f"store busy or unreadable, trying again: {exc}")
            return self.idle
        with store:
            storage.ensure(store)
            for destination in storage.all_(store):
                if self.stopping:
                    break
                if due(destination) > 0:
                    continue
                self._deliver(store, destination.name)
            pending = [due(d) for d in storage.all_(store) if d.active]
        return min(pending, default=self.idle)

    def _deliver(self, store: Store, name: str) -> None:
        started = time.perf_counter()
        try:
            result = deliver(
                store,
                name,
                connections=self.connections,
                kind="worker",
                progress=self.progress,
                should_stop=lambda: self.stopping,
                timeout=self.timeout,
            )
        except Exception as exc:
            self.log(f"delivered {name} status=failed {time.perf_counter() - started:.2f}s error: {exc}")
            return
        self.results.append(result)
        self.log(result.line())
