"""The sandbox's virtual clock.

Everything time-based in the sandbox (timestamps, token expiry, rate windows, webhook retries, the
``Date`` header) reads this clock instead of ``time.time()``, so tests can move time without patching
the interpreter: patching breaks asyncio (freezegun #437), owning the clock does not.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from email.utils import formatdate


class VirtualClock:
    """Real time plus an offset, optionally frozen at one instant."""

    def __init__(
        self, offset: float = 0.0, frozen_at: float | None = None, source: Callable[[], float] = time.time
    ) -> None:
        self._source = source
        self._offset = offset
        self._frozen_at = frozen_at
        self._lock = threading.Lock()
        self._listeners: list[Callable[[], None]] = []

    def now(self) -> float:
        """Seconds since the epoch, as the sandbox sees them."""
        frozen = self._frozen_at
        if frozen is not None:
            return frozen
        return self._source() + self._offset

    @property
    def frozen(self) -> bool:
        return self._frozen_at is not None

    @property
    def offset(self) -> float:
        with self._lock:
            if self._frozen_at is not None:
                return self._frozen_at - self._source()
            return self._offset

    def advance(self, seconds: float) -> float:
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        with self._lock:
            if self._frozen_at is not None:
                self._frozen_at += seconds
            else:
                self._offset += seconds
        self._notify()
        return self.now()

    def set(self, epoch: float) -> float:
        """Jump to an absolute instant (keeps frozen/running as it was)."""
        with self._lock:
            if self._frozen_at is not None:
                self._frozen_at = epoch
            else:
                self._offset = epoch - self._source()
        self._notify()
        return self.now()

    def freeze(self) -> float:
        with self._lock:
            if self._frozen_at is None:
                self._frozen_at = self._source() + self._offset
            return self._frozen_at

    def unfreeze(self) -> float:
        with self._lock:
            if self._frozen_at is not None:
                self._offset = self._frozen_at - self._source()
                self._frozen_at = None
        return self.now()

    def on_change(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    def _notify(self) -> None:
        for listener in list(self._listeners):
            listener()

    # -- rendering -------------------------------------------------------------------------------
    def iso(self, at: float | None = None) -> str:
        return iso8601(self.now() if at is None else at)

    def http_date(self) -> str:
        """``now`` as an HTTP ``Date``; remembered for the current second (every response sends one)."""
        return http_date(self.now())

    def to_dict(self) -> dict[str, object]:
        now = self.now()
        return {"now": iso8601(now), "epoch": now, "frozen": self.frozen, "offset_seconds": self.offset}


def iso8601(epoch: float) -> str:
    """ISO-8601 UTC with a ``Z`` suffix and whole seconds, as Groove renders timestamps."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(epoch)))


_last_date: tuple[int, str] = (-1, "")


def http_date(epoch: float) -> str:
    """RFC 9110 ``Date`` text of ``epoch``, formatted once per second: below ``.999`` of a second
    ``formatdate``'s rounding to microseconds cannot reach the next second, so the text is the same."""
    global _last_date
    second = int(epoch)
    if epoch - second >= 0.999 or epoch < 0:
        return formatdate(epoch, usegmt=True)
    last = _last_date
    if last[0] == second:
        return last[1]
    text = formatdate(epoch, usegmt=True)
    _last_date = (second, text)
    return text
