"""Sliding-window rate limiter with Groove's documented semantics.

Groove (seed 000) counts requests in fixed windows and judges each request against a sliding
estimate: ``previous_window_count * (1 - elapsed/window) + current_window_count``. A request is
refused (429, empty body) when that estimate has reached the limit, and refused calls are still
counted. ``X-RateLimit-Reset`` is the epoch second at which the estimate dips below the limit again.

This is the vendor's algorithm, so it is ours rather than a library's (``limits`` cannot take an
injected clock): the exact header semantics are the point of emulating it.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

from ..ratemodel import reset_time, sliding_estimate, window_index


@dataclass(frozen=True)
class RateLimit:
    limit: int
    window_seconds: float

    def to_dict(self) -> dict[str, float | int]:
        return {"limit": self.limit, "window_seconds": self.window_seconds}


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset: int  # epoch seconds

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset),
        }


@dataclass
class _Counter:
    window_index: int
    current: int = 0
    previous: int = 0


class SlidingWindowLimiter:
    """Counters per key (one per API credential); thread-safe; time is passed in."""

    def __init__(self) -> None:
        self._counters: dict[str, _Counter] = {}
        self._lock = threading.Lock()

    def reset(self) -> None:
        with self._lock:
            self._counters.clear()

    def hit(self, key: str, rule: RateLimit, now: float) -> Decision:
        """Judge one request at ``now`` and count it, allowed or not."""
        window = rule.window_seconds
        index = window_index(now, window)
        with self._lock:
            counter = self._counters.get(key)
            if counter is None:
                counter = self._counters[key] = _Counter(index)
            self._roll(counter, index)
            window_start = index * window
            elapsed = now - window_start
            allowed = sliding_estimate(counter.previous, counter.current, elapsed, window) < rule.limit
            counter.current += 1
            after = sliding_estimate(counter.previous, counter.current, elapsed, window)
            remaining = max(0, math.ceil(rule.limit - after))
            if remaining > 0:
                reset = math.floor(now)
            else:
                reset = math.floor(reset_time(counter.previous, counter.current, window_start, window, rule.limit)) + 1
        return Decision(allowed, rule.limit, remaining, reset)

    @staticmethod
    def _roll(counter: _Counter, index: int) -> None:
        if counter.window_index == index:
            return
        counter.previous = counter.current if counter.window_index == index - 1 else 0
        counter.current = 0
        counter.window_index = index
