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
