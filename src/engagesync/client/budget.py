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
A request's own ``Date`` bounds it as well: the offset alone (``D - r`` at ``s``) places a request
sent early in a second up to a round trip before ``D``, in the window before when ``D`` is a
boundary. The bound is exclusive (judged before ``D + 1``), and once the previous window's count is
fading, ``Remaining`` pins the instant the server judged a request far more finely than ``Date``
does (see ``_sync_from_remaining``): whole seconds of doubt would otherwise be paid as a late
schedule.
Decisions use the earliest possible server time, because the estimate only falls as time passes.

The window length is learned, not assumed (``WindowLearner``): the configured window (the
connector's default) is one candidate among the shorter round lengths real APIs use, and every
response rules out the candidates whose model contradicts it (``Remaining``, and ``Reset`` when the
window is exhausted). The budget schedules on the configured window until a single shorter candidate
is left and has been confirmed: by a response judged in a later window, or by one judged after a
boundary of its own while the count before that boundary fades (the survivor predicted the fade,
and the server agreed). Until one is confirmed it may also send what the server has itself promised
(``Remaining`` left, or a request at ``Reset``), which is safe whatever the window is.
"""

from __future__ import annotations

import contextlib
import functools
import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime

from ..ratemodel import reset_time, sliding_estimate, window_index

WaitListener = Callable[[float, str], None]

#: Seconds below an exclusive bound (server time is below ``Date + 1``); far above float rounding at epoch scale.
_EPSILON = 1e-6

#: Window lengths (seconds) a budget considers below its configured one: the round values APIs use.
CANDIDATE_WINDOWS = (1.0, 2.0, 3.0, 5.0, 10.0, 15.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0)


@dataclass
class WindowLearner:
    """The window lengths still consistent with every response, and which one the budget uses.

    Conservative until known: the configured ``default`` is used until it has been ruled out and a
    single shorter candidate is left *and* has matched a response judged in a later window than the
    one that left it alone, or one judged past its own boundary with requests surely counted before it
    (a window off the list, e.g. 2.5 s, fails that check instead of guessing).
    A contradiction of every candidate (another client, an unlisted window) returns to the default
    for good. "More counted than predicted" never rules out the default (that is another client).
    """

    default: float
    live: list[float] = field(default_factory=list)
    pending: tuple[float, int] | None = None  # (sole survivor, window index it was left alone in)
    confirmed: bool = False
    settled: bool = False  # every candidate contradicted: the default stays

    def __post_init__(self) -> None:
        if not self.live:
            self.live = sorted({w for w in CANDIDATE_WINDOWS if w < self.default} | {self.default})

    @property
    def searching(self) -> bool:
        """The configured window is ruled out and no other is confirmed yet."""
        return not self.confirmed and not self.settled and self.default not in self.live

    def update(self, index: int, tested: bool = False) -> float:
        """The window to schedule with after ruling out, given the (sole survivor's) window index.

        ``tested``: the response was judged in a window whose previous one surely held requests, so
        the survivor predicted a fading count from its boundary and the server agreed."""
        if not self.live:
            self.live, self.settled, self.confirmed, self.pending = [self.default], True, False, None
            return self.default
        if len(self.live) != 1 or self.live[0] == self.default:
            return self.default
        window = self.live[0]
        if self.pending is None or self.pending[0] != window:
            self.pending = (window, index)
            self.confirmed = tested
        elif index > self.pending[1] or tested:
            self.confirmed = True
        return window if self.confirmed else self.default


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
    at: float | None = None  # a fixed server time (counts learnt from Remaining from other clients)
    date: float | None = None  # the server's ``Date`` on its answer: it was judged in [date, date + 1)


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
    _promise: tuple[float, int, float | None] | None = None  # (sent, Remaining, Reset) of the latest answer
    _shared: bool = False  # the server counted requests we did not send: another client
    learner: WindowLearner | None = None
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

    def _judged(self, sent: float, received: float, date: float | None = None) -> tuple[float, float]:
        """The server-time interval in which a request sent and answered at these local times was judged.

        The request's own ``Date`` bounds it too: ``sent + low`` falls up to a round trip before
        ``date`` (a request sent at the very start of a second then looked possibly judged in the
        window before it, and window lengths the first ``Reset`` contradicts survived it)."""
        if not self.sync.known:  # no server time yet: our clock is all we have
            return sent, received
        high = self.sync.high if math.isfinite(self.sync.high) else self.sync.low + 1.0
        low, high = sent + self.sync.low, received + high
        if date is not None and max(low, date) < min(high, date + 1):
            low, high = max(low, date), min(high, date + 1)
        return low, high

    def _span(self, ticket: Ticket, local: float, window: float | None = None) -> tuple[int, int]:
        """The windows the server may have judged ``ticket`` in (first, last)."""
        window = window or self.window_seconds
        if ticket.at is not None:
            index = window_index(ticket.at, window)
            return index, index
        low, high = self._judged(ticket.sent, ticket.received if ticket.received is not None else local, ticket.date)
        first = window_index(low, window)
        # ``high`` is exclusive (a Date of D means server time < D + 1): a request answered in the
        # second before a boundary was judged before it, not possibly after.
        return first, max(first, window_index(high - _EPSILON, window))

    def _counts(
        self, index: int, local: float, before: Ticket | None = None, window: float | None = None
    ) -> tuple[int, int]:
        """(previous, current) as the server may count them in window ``index``, at the most."""
        previous = current = 0
        for ticket in self._tickets:
            if ticket is before:
                break
            first, last = self._span(ticket, local, window)
            if first <= index <= last:
                current += 1
            elif last == index - 1:
                previous += 1
        return previous, current

    def _counts_at_least(self, index: int, sent: float, before: Ticket, window: float) -> tuple[int, int]:
        """(previous, current) the server must have counted in window ``index`` when judging ``before``:
        only requests answered before it was sent, each in the window that weighs least."""
        previous = current = 0
        for ticket in self._tickets:
            if ticket is before:
                break
            if ticket.at is None and (ticket.received is None or ticket.received > sent):
                continue  # may have been judged after ``before``
            first, _ = self._span(ticket, sent, window)
            if first == index:
                current += 1
            elif first == index - 1:
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
        return min(max(ready - now, 0.0) + self.slack, self._promised_wait(local, now))

    def _promised_wait(self, local: float, now: float) -> float:
        """How long until the server's own last word admits a request (``inf`` if it does not).

        A response that left ``Remaining`` = r guarantees r more acceptances (the estimate only falls),
        and one that left 0 guarantees one at ``Reset``; requests in flight or sent since use them up.
        Used while no window is confirmed (the configured one may be right, or not yet ruled out only
        because the clock estimate is still loose); another client on the credential would break the
        guarantee, so it is not used once seen."""
        promise, learner = self._promise, self.learner
        if promise is None or self._shared or learner is None or learner.confirmed or learner.settled:
            return math.inf  # the model is right (or all we have): its schedule is the better one
        sent, remaining, reset = promise
        used = sum(1 for t in self._tickets if t.at is None and (t.received is None or t.sent > sent))
        if remaining - used >= 1:
            return 0.0
        if remaining == 0 and used == 0 and reset is not None:
            return 0.0 if now >= reset else reset - now + self.slack
        return math.inf

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
                    server_date = _http_date(date)
                    self.sync.observe(server_date, sent, received)
                    if ticket is not None:
                        ticket.date = server_date
            limit = _int(headers.get("x-ratelimit-limit"))
            if limit is not None and limit > 0:
                self.limit = limit
            remaining = _int(headers.get("x-ratelimit-remaining"))
            reset = _int(headers.get("x-ratelimit-reset")) if remaining == 0 else None
            if remaining is not None and self.limit is not None:
                if ticket is not None and ticket in self._tickets and self.sync.known:
                    self._learn(ticket, remaining, reset)
                    self._sync_from_remaining(ticket, remaining)
                self._reconcile(remaining, sent, ticket)
                if ticket is not None and (self._promise is None or sent >= self._promise[0]):
                    self._promise = (ticket.sent, remaining, reset)
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
            self._shared = True
            self._tickets.extend(Ticket(sent, sent, judged) for _ in range(math.ceil(theirs_at_least - ours)))

    def _sync_from_remaining(self, ticket: Ticket, remaining: int) -> None:
        """Narrow the clock estimate with ``Remaining``: once the previous window's count is fading,
        the estimate the server reports pins the instant it judged the request to ``window / previous``
        seconds, far finer than ``Date``'s whole second (which leaves up to a second of doubt, paid as a
        late schedule). Only when the window is the one the budget trusts, no other client shares the
        credential, and the counts before this request are certain (no request may sit in another
        window); a bound that contradicts the estimate is dropped, never adopted."""
        learner, limit, window = self.learner, self.limit, self.window_seconds
        if self._shared or limit is None or ticket.received is None:
            return
        if learner is not None and not learner.confirmed and learner.live != [window]:
            return  # the scheduled window may still be wrong
        low, high = self._judged(ticket.sent, ticket.received, ticket.date)
        index = window_index(low, window)
        if index != window_index(high - _EPSILON, window):
            return
        position = self._tickets.index(ticket)
        if any(t.at is None and t.sent < ticket.received for t in self._tickets[position + 1 :]):
            return  # a request sent after this one may have been judged before it: its count is unknown
        counts = self._counts(index, ticket.received, before=ticket, window=window)
        if counts != self._counts_at_least(index, ticket.sent, ticket, window) or counts[0] == 0:
            return
        previous, current = counts
        start, fade = index * window, previous / window  # the estimate falls by ``fade`` per second
        full = previous + current + 1  # the estimate at the window's start, this request counted
        # remaining = max(0, ceil(limit - estimate)): the estimate is >= limit - remaining, and below
        # that + 1 unless remaining is 0.
        latest = start + (full - (limit - remaining)) / fade + _EPSILON
        earliest = start + (full - (limit - remaining) - 1) / fade - _EPSILON if remaining > 0 else -math.inf
        sync = self.sync
        new_low, new_high = max(sync.low, earliest - ticket.received), min(sync.high, latest - ticket.sent)
        if new_low < new_high:
            sync.low, sync.high = new_low, new_high

    def _learn(self, ticket: Ticket, remaining: int, reset: int | None) -> None:
        """Rule out the window lengths this response contradicts; adopt one once it is confirmed."""
        if self.learner is None:
            self.learner = WindowLearner(self.window_seconds)
        learner = self.learner
        if learner.settled:
            return
        assert self.limit is not None and ticket.received is not None
        low, high = self._judged(ticket.sent, ticket.received, ticket.date)
        for window in list(learner.live):
            verdict = self._verdict(window, ticket, low, high, remaining, reset)
            if verdict == "fewer" or (verdict == "more" and window != learner.default):
                learner.live.remove(window)
        if not learner.live:
            self.window_seconds = learner.update(0)
            return
        survivor = learner.live[0]
        index = window_index(low, survivor)
        tested = (
            len(learner.live) == 1
            and index == window_index(high - _EPSILON, survivor)
            and self._counts_at_least(index, ticket.sent, ticket, survivor)[0] > 0
        )
        self.window_seconds = learner.update(index, tested)

    def _verdict(
        self, window: float, ticket: Ticket, low: float, high: float, remaining: int, reset: int | None
    ) -> str:
        """ "fewer" if the server surely counts less than ``window`` predicts, "more" if surely more, else ""."""
        assert self.limit is not None
        limit, sent, received = self.limit, ticket.sent, ticket.received or ticket.sent
        most, least = -math.inf, math.inf
        reset_most, reset_least = -math.inf, math.inf
        for index in range(window_index(low, window), window_index(high, window) + 1):
            start = index * window
            previous, current = self._counts(index, received, before=ticket, window=window)
            at = max(low, start)
            most = max(most, sliding_estimate(previous, current + 1, at - start, window))
            reset_most = max(reset_most, reset_time(previous, current + 1, start, window, limit))
            previous, current = self._counts_at_least(index, sent, ticket, window)
            at = min(high, start + window)
            least = min(least, sliding_estimate(previous, current + 1, at - start, window))
            reset_least = min(reset_least, reset_time(previous, current + 1, start, window, limit))
        claimed = limit - remaining  # the server's estimate is at least this, and below it + 1 if remaining > 0
        if remaining > 0 and least >= claimed + 1 + 1e-6:
            return "fewer"
        if reset is not None and reset_least >= reset:
            return "fewer"  # the server's reset instant is before ``reset``; this window's is not
        if most < claimed - 1e-6 or (reset is not None and reset_most < reset - 1):
            return "more"
        return ""

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
                "window_learned": self.learner is not None and self.learner.confirmed,
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
            when = _http_date(value)
        except (TypeError, ValueError):
            return None
        seconds = when - sync.midpoint(local)
    return seconds if seconds > 0 else None


@functools.lru_cache(maxsize=4)
def _http_date(text: str) -> float:
    """An HTTP ``Date`` as epoch seconds; every response of the same second carries the same text,
    so it is parsed once (the parser costs about as much as the rest of a response's bookkeeping)."""
    return parsedate_to_datetime(text).timestamp()
