"""SlidingWindowLimiter against an independent, exact simulation of Groove's documented algorithm.

The oracle keeps every request timestamp as an exact ``Fraction``, counts the requests in the
current and previous fixed windows, and weighs them as Groove documents (seed 000):
``previous * (window - elapsed) / window + current``. A request is allowed iff that estimate,
before counting it, is below the limit; refused requests are counted all the same. ``Remaining``
is found by adding requests one at a time, ``Reset`` by scanning whole seconds forward until the
estimate (with no further requests) is below the limit. Nothing here reuses the engine's formulas.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from fractions import Fraction

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engagesync.sandbox.ratelimit import Decision, RateLimit, SlidingWindowLimiter

#: A realistic epoch, a multiple of every window used by the example tests below (10, 60, 120 s).
BASE = 1_800_000_000


@dataclass(frozen=True)
class Expected:
    allowed: bool
    remaining: int
    reset: int
    #: Exact ties (see ``test_limiter_matches_oracle_for_millisecond_schedules``) where float
    #: arithmetic may land on either side.
    allowed_tie: bool = False
    remaining_tie: bool = False
    reset_tie: bool = False


class Oracle:
    """Groove's sliding window, simulated exactly from the full list of request times."""

    def __init__(self, limit: int, window: int) -> None:
        self.limit = limit
        self.window = Fraction(window)
        self.times: list[Fraction] = []
        self.per_window: Counter[int] = Counter()

    def _index(self, t: Fraction) -> int:
        return math.floor(t / self.window)

    def estimate(self, t: Fraction) -> Fraction:
        """The weighted count seen at ``t`` (every recorded request is at or before ``t``)."""
        index = self._index(t)
        elapsed = t - index * self.window
        return self.per_window[index - 1] * (self.window - elapsed) / self.window + self.per_window[index]

    def hit(self, t: Fraction) -> Expected:
        assert not self.times or t >= self.times[-1]
        before = self.estimate(t)
        allowed = before < self.limit
        self.times.append(t)  # counted whether allowed or not
        self.per_window[self._index(t)] += 1
        after = self.estimate(t)
        remaining = 0
        while after + remaining < self.limit:
            remaining += 1
        # The float boundary cases: an estimate exactly on an integer whose float value may be a hair
        # off (only possible when the previous window's share is a non-trivial fraction).
        index = self._index(t)
        fading = self.per_window[index - 1] > 0 and t != index * self.window
        if remaining > 0:
            return Expected(
                allowed,
                remaining,
                math.floor(t),
                allowed_tie=before == self.limit,
                remaining_tie=fading and after.denominator == 1,
            )
        second = math.floor(t) + 1
        while self.estimate(Fraction(second)) >= self.limit:
            second += 1
        return Expected(
            allowed,
            0,
            second,
            allowed_tie=before == self.limit,
            remaining_tie=fading and after == self.limit,
            reset_tie=self.estimate(Fraction(second - 1)) == self.limit,
        )


def replay(limit: int, window: int, times_ms: list[int]) -> tuple[SlidingWindowLimiter, list[Decision]]:
    limiter = SlidingWindowLimiter()
    rule = RateLimit(limit, float(window))
    return limiter, [limiter.hit("k", rule, ms / 1000) for ms in times_ms]


@st.composite
def schedules(draw: st.DrawFn, step_ms: int = 1) -> tuple[int, int, list[int]]:
    """(limit, window, absolute request times in ms): bursts, pauses and gaps across windows."""
    limit = draw(st.integers(1, 20))
    window = draw(st.integers(1, 120))
    span = window * 1000 // step_ms
    gap = st.one_of(st.just(0), st.integers(0, max(1, span // 10)), st.integers(0, 2 * span))
    start = draw(st.integers(0, span))
    gaps = draw(st.lists(gap, min_size=1, max_size=60))
    times, t = [], BASE * 1000 + start * step_ms
    for g in gaps:
        t += g * step_ms
        times.append(t)
    return limit, window, times


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schedules(step_ms=125))
def test_limiter_matches_oracle_exactly_on_a_binary_exact_grid(schedule: tuple[int, int, list[int]]) -> None:
    """Times on a 1/8 s grid are exact in binary floating point, so no tolerance at all is allowed."""
    limit, window, times = schedule
    oracle = Oracle(limit, window)
    _, decisions = replay(limit, window, times)
    for ms, got in zip(times, decisions, strict=True):
        want = oracle.hit(Fraction(ms, 1000))
        assert (got.allowed, got.remaining, got.reset) == (want.allowed, want.remaining, want.reset), (
            f"request at {ms} ms (limit {limit}/{window}s)"
        )
        assert got.limit == limit


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schedules(step_ms=1))
def test_limiter_matches_oracle_for_millisecond_schedules(schedule: tuple[int, int, list[int]]) -> None:
    """Arbitrary millisecond times, compared exactly except at exact ties.

    Tolerance: ``ms / 1000`` is not exact in binary (1.1 s is 1.1000000000000000888 s), so when the
    exact estimate lands *exactly* on an integer through a fading previous window, the engine's float
    may fall a hair either side. Only those exact ties are tolerated: ``allowed`` when the estimate
    before the request equals the limit, ``remaining`` may be one higher when ``limit - estimate``
    is an exact integer, ``reset`` may be one lower when the estimate at ``reset - 1`` is exactly the
    limit. Away from ties the exact distance is at least 1/(1000 * window), far above float error.
    """
    limit, window, times = schedule
    oracle = Oracle(limit, window)
    _, decisions = replay(limit, window, times)
    for ms, got in zip(times, decisions, strict=True):
        want = oracle.hit(Fraction(ms, 1000))
        where = f"request at {ms} ms (limit {limit}/{window}s)"
        if not want.allowed_tie:
            assert got.allowed == want.allowed, where
        if want.remaining_tie:
            assert got.remaining in (want.remaining, want.remaining + 1), where
            if got.remaining != want.remaining:
                continue  # the engine judged "one left": its reset is then "now", checked above
        else:
            assert got.remaining == want.remaining, where
        if want.reset_tie:
            assert got.reset in (want.reset, want.reset - 1), where
        else:
            assert got.reset == want.reset, where


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schedules(step_ms=125), st.integers(0, 3))
def test_a_request_at_the_reset_second_is_allowed_and_not_one_second_earlier(
    schedule: tuple[int, int, list[int]], extra: int
) -> None:
    """Reset is *the first* whole second at which one more request is allowed."""
    limit, window, times = schedule
    # hammer a little more at the last instant so that the limit is often reached
    times = times + [times[-1]] * (limit + extra)
    _, decisions = replay(limit, window, times)
    last = decisions[-1]
    now = times[-1] / 1000
    if last.remaining > 0:
        assert last.reset == math.floor(now)
        return
    assert last.reset > now
    limiter, _ = replay(limit, window, times)
    assert limiter.hit("k", RateLimit(limit, float(window)), float(last.reset)).allowed
    if last.reset - 1 >= now:
        limiter, _ = replay(limit, window, times)
        assert not limiter.hit("k", RateLimit(limit, float(window)), float(last.reset - 1)).allowed


def test_remaining_counts_down_to_zero_then_refuses_with_an_exact_reset() -> None:
    rule = RateLimit(3, 10.0)
    limiter = SlidingWindowLimiter()
    got = [limiter.hit("k", rule, BASE + 0.5) for _ in range(4)]
    assert [(d.allowed, d.remaining) for d in got] == [(True, 2), (True, 1), (True, 0), (False, 0)]
    # 3 in the window: the estimate at the rollover (BASE+10) is exactly 3, so the first second
    # below the limit is BASE+11; the 4th (refused, still counted) request pushes it to
    # BASE+10 + (1 - 3/4) * 10 = BASE+12.5 -> BASE+13.
    assert got[2].reset == BASE + 11
    assert got[3].reset == BASE + 13
    assert got[3].headers() == {
        "X-RateLimit-Limit": "3",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": str(BASE + 13),
    }


def test_calls_made_while_limited_are_still_counted() -> None:
    """A client that hammers while limited stays limited longer than one that waits."""
    rule = RateLimit(5, 10.0)
    patient, hammering = SlidingWindowLimiter(), SlidingWindowLimiter()
    for limiter in (patient, hammering):
        assert all(limiter.hit("k", rule, BASE).allowed for _ in range(5))
    refused = [hammering.hit("k", rule, BASE + s) for s in range(1, 10)]
    assert not any(d.allowed for d in refused)
    # the patient client may go again at BASE+11 (5 * 0.9 = 4.5 < 5) ...
    assert patient.hit("k", rule, BASE + 11).allowed
    # ... the hammering one is still refused there (14 * 0.9 = 12.6) and stays so until its reset
    still = hammering.hit("k", rule, BASE + 11)
    assert not still.allowed
    assert still.reset > BASE + 11
    assert not hammering.hit("k", rule, still.reset - 1).allowed
    assert hammering.hit("k", rule, still.reset).allowed


def test_keys_have_independent_windows_and_a_quiet_window_forgets() -> None:
    rule = RateLimit(2, 60.0)
    limiter = SlidingWindowLimiter()
    assert [limiter.hit("a", rule, BASE).allowed for _ in range(3)] == [True, True, False]
    assert limiter.hit("b", rule, BASE).allowed
    # two full windows later nothing of the burst is left
    fresh = limiter.hit("a", rule, BASE + 120)
    assert fresh.allowed and fresh.remaining == 1
