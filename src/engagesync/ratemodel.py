"""The sliding-window rate-limit model, shared by the sandbox's limiter and the client's budget.

Groove documents (seed 000) a window sliding "across the current and previous" fixed window: a
request at ``elapsed`` seconds into the current window sees the weighted count
``previous * (window - elapsed) / window + current`` and is refused once that reaches the limit.
The server enforces it; the client predicts it. One implementation keeps the two in agreement.
"""

from __future__ import annotations

import math


def window_index(now: float, window: float) -> int:
    return math.floor(now / window)


def sliding_estimate(previous: int, current: int, elapsed: float, window: float) -> float:
    """The weighted count at ``elapsed`` seconds into the current window."""
    return previous * (window - elapsed) / window + current


def reset_time(previous: int, current: int, window_start: float, window: float, limit: int) -> float:
    """Earliest instant at which, with no further requests, the estimate is below ``limit``.

    Within the current window the previous count fades linearly; once the window rolls over the
    current count becomes the previous one and fades in turn.
    """
    if current < limit:
        if previous == 0:
            return window_start
        # previous * (1 - e) + current < limit  <=>  e > 1 - (limit - current) / previous
        fade = 1 - (limit - current) / previous
        return window_start + max(0.0, fade) * window
    # Must wait for the rollover: current * (1 - e') < limit  <=>  e' > 1 - limit / current
    return window_start + window + (1 - limit / current) * window


def optimal_schedule(
    count: int, limit: int, window: float, start: float = 0.0, previous: int = 0, current: int = 0
) -> list[float]:
    """The earliest instants at which ``count`` requests can be accepted, one after another.

    Sending each request as soon as the estimate is below the limit is optimal: the estimate only
    falls with time, and a request sent earlier never weighs more later. This is the yardstick the
    client's budget is measured against (``make bench``).
    """
    times: list[float] = []
    now = start
    index = window_index(now, window)
    for _ in range(count):
        while True:
            new_index = window_index(now, window)
            if new_index != index:
                previous = current if new_index == index + 1 else 0
                current = 0
                index = new_index
            window_start = index * window
            if sliding_estimate(previous, current, now - window_start, window) < limit:
                break
            # Strictly after the instant the estimate reaches the limit (next representable float).
            now = math.nextafter(max(now, reset_time(previous, current, window_start, window, limit)), math.inf)
        current += 1
        times.append(now)
    return times
