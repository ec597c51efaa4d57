"""A client-side rate budget that predicts the server's sliding window instead of discovering it.

Peers wait for a 429 and back off (dlt, Singer) or read ``Remaining`` and stop at zero (Airbyte's
``HTTPAPIBudget``). Against Groove's algorithm both are wasteful: calls made while limited still
count, and a window that is "full" empties gradually. This budget rebuilds the server's per-window
counts (``engagesync.ratemodel``) from the requests it sent, in the server's time, and sends each
request at the first instant the server will accept it. A request sent within a round trip of a
window boundary may have been counted on either side; it is weighed on whichever side the server's
estimate is higher, so no uncertainty ever turns into a 429.

Server time is learned from the ``Date`` header (whole seconds): a response stamped ``D`` that was
sent at local ``s`` and received at local ``r`` bounds the offset to ``[D - r, D + 1 - s)``. The
intersection over responses converges to within a round trip, which is enough to schedule at the
exact fade of the window; a contradiction (the sandbox's virtual clock jumped) restarts the estimate.
Decisions use the earliest possible server time, because the estimate only falls as time passes.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime

from ..ratemodel import reset_time, sliding_estimate, window_index

WaitListener = Callable[[float, str], None]


@dataclass
class ClockSync:
    """Offset of the server's clock from ours, as an interval narrowed by every ``Date`` header."""

    low: float = -math.inf
    high: float = math.inf

    def observe(self, server_date: float, sent: float, received: float) -> None:
        low, high = server_date - received, server_date + 1 - sent
        if low > self.high or high < self.low:
            self.low, self.high = low, high  # the server's clock jumped: start over
        else:
            self.low, self.high = max(self.low, low), min(self.high, high)

    @property
    def known(self) -> bool:
        return math.isfinite(self.low)

    def earliest(self, local: float) -> float:
        return local + (self.low if self.known else 0.0)

    def midpoint(self, local: float) -> float:
        if not self.known:
            return local
        if not math.isfinite(self.high):
            return local + self.low
        return local + (self.low + self.high) / 2


@dataclass(eq=False)
class Ticket:
    """One request as the budget counts it; ``acquire`` hands it out, ``release``/``forget`` take it back."""

    sent: float  # local time
    received: float | None = None  # local time; None while in flight
    window: int | None = None  # a fixed window (counts learnt from Remaining, or sent before any sync)


@dataclass
class RateBudget:
    """One budget per credential, shared by every stream and thread using it.

    It keeps the requests of the last two windows. Each one was judged by the server somewhere in
    [sent, received] (server time, from the clock estimate); near a window boundary that interval may
    span two windows, and the request is then weighed as if it had landed in whichever one makes the
    server's estimate higher. A request counted in the wrong window would otherwise let the server's
    estimate exceed ours by up to one, which the integer ``Remaining`` header cannot reveal.
    """

    window_seconds: float = 60.0
    limit: int | None = None
    on_wait: WaitListener | None = None
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep
    #: Extra seconds added to every computed wait, for rounding in the server's time.
    slack: float = 0.002
    sync: ClockSync = field(default_factory=ClockSync)
    waits: int = 0
    waited_seconds: float = 0.0
    _tickets: list[Ticket] = field(default_factory=list)
    _blocked_until: float = 0.0  # local time; from Retry-After or a 429
    _lock: threading.Condition = field(default_factory=lambda: threading.Condition(threading.Lock()))

    # -- the send side ---------------------------------------------------------------------------
    def acquire(self) -> Ticket:
        """Block until the server will accept one more request, then count it as sent."""
        with self._lock:
            while True:
                wait = self._wait_needed()
                if wait <= 0:
                    local = self.clock()
                    ticket = Ticket(local)
                    if not self.sync.known:  # no server time yet: count it where our clock says
                        ticket.window = window_index(local, self.window_seconds)
                    self._tickets.append(ticket)
                    return ticket
                self.waits += 1
                self.waited_seconds += wait
                if self.on_wait is not None:
                    self.on_wait(wait, "rate limit")
                self._lock.release()
                try:
                    self.sleep(wait)
                finally:
                    self._lock.acquire()

    def _span(self, ticket: Ticket, local: float) -> tuple[int, int]:
        """The windows the server may have judged ``ticket`` in (first, last)."""
        if ticket.window is not None:
            return ticket.window, ticket.window
        window = self.window_seconds
        first = window_index(ticket.sent + self.sync.low, window)
        end = ticket.received if ticket.received is not None else local
        high = self.sync.high if math.isfinite(self.sync.high) else self.sync.low + 1.0
        return first, max(first, window_index(end + high, window))

    def _counts(self, index: int, local: float, before: Ticket | None = None) -> tuple[int, int]:
        """(previous, current) as the server may count them in window ``index``, at the most."""
        previous = current = 0
        for ticket in self._tickets:
            if ticket is before:
                break
            first, last = self._span(ticket, local)
            if first <= index <= last:
                current += 1
            elif last == index - 1:
                previous += 1
        return previous, current

    def _prune(self, index: int, local: float) -> None:
        self._tickets = [t for t in self._tickets if t.received is None or self._span(t, local)[1] >= index - 1]

    def _wait_needed(self) -> float:
        local = self.clock()
        if local < self._blocked_until:
            return self._blocked_until - local
        if self.limit is None:
            return 0.0  # nothing known yet: the first response will tell us the limit
        now = self.sync.earliest(local)  # the estimate only falls with time: judge at the earliest
        window = self.window_seconds
        index = window_index(now, window)
        self._prune(index, local)
        previous, current = self._counts(index, local)
        start = index * window
        if sliding_estimate(previous, current, now - start, window) < self.limit:
            return 0.0
        ready = reset_time(previous, current, start, window, self.limit)
        return max(ready - now, 0.0) + self.slack

    # -- the response side -----------------------------------------------------------------------
    def release(
        self, headers: Mapping[str, str], sent: float, received: float, status: int, ticket: Ticket | None = None
    ) -> None:
        """Learn from a response: server clock, limit, the server's own count, and 429s."""
        with self._lock:
            if ticket is not None:
                ticket.received = received
            date = headers.get("date")
            if date:
                with contextlib.suppress(TypeError, ValueError):
                    self.sync.observe(parsedate_to_datetime(date).timestamp(), sent, received)
            limit = _int(headers.get("x-ratelimit-limit"))
            if limit is not None and limit > 0:
                self.limit = limit
            remaining = _int(headers.get("x-ratelimit-remaining"))
            if remaining is not None and self.limit is not None:
                self._reconcile(remaining, sent, ticket)
            if status == 429:
                self._on_refusal(headers)
            if self.limit is None and ticket is not None and ticket in self._tickets:
                self._tickets.remove(ticket)  # no limit to count against: keep nothing (memory stays flat)
            self._lock.notify_all()

    def forget(self, ticket: Ticket | None = None) -> None:
        """A request that never reached the server (connection refused) does not count."""
        with self._lock:
            if ticket is not None and ticket in self._tickets:
                self._tickets.remove(ticket)
            self._lock.notify_all()

    def _reconcile(self, remaining: int, sent: float, ticket: Ticket | None) -> None:
        """If the server counts more than we do (another client on the same credential), catch up.

        Our estimate is the highest the server can have had when it judged this request (at the
        earliest instant, counting every request sent before it), so only a real excess (someone
        else's calls) triggers a correction.
        """
        assert self.limit is not None
        judged = self.sync.earliest(sent)
        window = self.window_seconds
        index = window_index(judged, window)
        previous, current = self._counts(index, sent, before=ticket)
        ours = sliding_estimate(previous, current + (1 if ticket is not None else 0), judged - index * window, window)
        theirs_at_least = self.limit - remaining  # remaining = ceil(limit - estimate) => estimate >= this
        if theirs_at_least > ours + 1e-9:
            self._tickets.extend(Ticket(sent, sent, index) for _ in range(math.ceil(theirs_at_least - ours)))

    def _on_refusal(self, headers: Mapping[str, str]) -> None:
        local = self.clock()
        retry_after = _retry_after(headers.get("retry-after"), local, self.sync)
        reset = _int(headers.get("x-ratelimit-reset"))
        until = local
        if retry_after is not None and retry_after > 0:
            until = local + retry_after
        elif reset is not None:
            until = max(until, reset - (self.sync.low if self.sync.known else 0.0))
        else:
            until = local + 1.0  # no hint at all (or Retry-After: 0): a short pause, never a busy loop
        self._blocked_until = max(self._blocked_until, until)

    def snapshot(self) -> dict[str, float | int | None]:
        with self._lock:
            local = self.clock()
            index = window_index(self.sync.earliest(local), self.window_seconds)
            previous, current = self._counts(index, local)
            return {
                "limit": self.limit,
                "window_seconds": self.window_seconds,
                "current": current,
                "previous": previous,
                "waits": self.waits,
                "waited_seconds": round(self.waited_seconds, 3),
            }


def _int(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value.strip())
    except ValueError:
        return None


def _retry_after(value: str | None, local: float, sync: ClockSync) -> float | None:
    """Seconds to wait from a ``Retry-After`` header; 0, negative or past dates mean "no hint"."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value).timestamp()
        except (TypeError, ValueError):
            return None
        seconds = when - sync.midpoint(local)
    return seconds if seconds > 0 else None
