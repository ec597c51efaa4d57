"""Time-window pagination for lists that answer "records updated between ``from`` and ``to``".

Part of the client engine: it knows no API. Such lists have no page token; they answer one window
at a time, with at most ``limit`` records, and say nothing when they leave some out. So a window
that comes back full (``limit`` records or more) may be truncated: it is cut and asked again, until
every window answers with fewer than ``limit``. The next window's width adapts to the density just
seen, so sparse stretches cost one request and dense ones a few.

Where a full window is cut uses the records it did return when their times are known (``tick``): the
first cut ends at the time of the ``fill``-th earliest of them, later cuts of the same window halve it.
Nothing about the API's order is assumed for correctness (a cut window is asked again and checked like
any other), but from an API that answers oldest first, as most do, the cut window holds about ``fill``
of ``limit`` records: a full window costs one extra request, where halving alone spends
``log2(count / limit)`` on every dense stretch and leaves half-empty windows behind. An API in any other
order costs at most one request more per dense stretch. An empty window asks the rest of the pass next.

Windows are closed intervals of integer ticks (milliseconds, seconds: the API's resolution), and
consecutive windows are ``[a, b]``, ``[b + 1, c]``: a record whose time sits exactly on a boundary
falls in one window only, never lost and never read twice. The connector maps a window to the API's
parameters (inclusive bounds at the API's resolution) in ``fetch``.

A pass covers ``[since, until()]`` where ``until()`` is read once, when the pass starts (the server's
time minus a lag covering writes in flight). Records changed while the pass runs get a later time
and fall in the next pass, so none is lost. State, committed with each window's records:

- ``None``: no pass yet: the first pass starts at ``origin``;
- ``{"pass": [lo, hi], "next": n, "width": w}``: a pass over ``[lo, hi]`` in progress, ``[lo, n)`` done;
- ``{"since": t, "width": w}``: the last pass ended at ``t - 1``; the next one starts at ``t``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from .errors import EngageSyncError

Record = dict[str, Any]
#: ``fetch(start, end)``: the records whose time is in ``[start, end]`` (ticks), as many as the API gives.
Fetch = Callable[[int, int], Sequence[Record]]


class DenseWindow(EngageSyncError):
    """One single tick holds ``limit`` records or more: the API cannot list them all by time."""

    def __init__(self, tick: int, count: int, limit: int, label: str) -> None:
        self.tick, self.count, self.limit = tick, count, limit
        super().__init__(
            f"{count} records share the instant {label}, and the API lists at most {limit} per "
            "request: the rest cannot be reached by time windows (raise the window limit if the "
            "API allows more)"
        )


@dataclass(frozen=True)
class WindowPage:
    records: list[Record]
    #: The window these records fill, ``(start, end)`` inclusive; ``None`` for an empty pass.
    window: tuple[int, int] | None
    #: State to resume from after this page (see the module docstring); never ``None``.
    state: dict[str, Any]
    #: Requests spent on this page, split attempts included.
    requests: int


@dataclass
class TimeWindows:
    fetch: Fetch
    #: Most records the API answers one window with; a window answering with this many is split.
    limit: int
    #: Where the first pass starts (ticks).
    origin: int = 0
    #: First window width when nothing is known (``None``: the whole pass in one window).
    first_width: int | None = None
    #: Renders a tick for messages (e.g. as ISO-8601).
    label: Callable[[int], str] = str
    #: A record's time in ticks (``None`` if unknown): where to cut a full window (see the module docstring).
    tick: Callable[[Record], int | None] | None = None
    #: Records per window the widths aim at, as a share of ``limit``: higher spends fewer requests on
    #: even densities and more on cuts where density varies.
    fill: float = 0.85

    def __post_init__(self) -> None:
        if self.limit < 1:
            raise ValueError("limit must be at least 1")
        if not 0 < self.fill <= 1:
            raise ValueError("fill must be in (0, 1]")

    def _cut(self, records: Sequence[Record], start: int, end: int, hinted: bool) -> tuple[int, bool]:
        """The end of the window to ask next after ``[start, end]`` came back full (``start < end``), and
        whether it was cut at a returned record's time: that is tried once per window, then halving."""
        half = start + (end - start + 1) // 2 - 1
        if self.tick is None or hinted:
            return half, hinted
        times = sorted(t for t in map(self.tick, records) if t is not None and start <= t <= end)
        aim = max(1, int(self.limit * self.fill))
        if len(times) < aim or times[aim - 1] >= end:
            return half, False
        return times[aim - 1], True

    def pages(self, state: dict[str, Any] | None, until: Callable[[], int]) -> Iterator[WindowPage]:
        """Windows of one pass, from ``state``, each with the state to resume from after it."""
        state = state or {}
        if isinstance(state.get("pass"), list | tuple) and "next" in state:
            low, high = (int(v) for v in state["pass"])
            nxt = int(state["next"])
        else:
            low = int(state["since"]) if state.get("since") is not None else self.origin
            high = int(until())
            nxt = low
        width = int(state.get("width") or self.first_width or max(1, high - low + 1))
        if nxt > high:  # nothing new since the last pass (or the clock has not moved past the lag)
            yield WindowPage([], None, {"since": max(low, nxt), "width": width}, 0)
            return
        while nxt <= high:
            start = nxt
            end = min(high, start + max(1, width) - 1)
            spent, hinted = 0, False
            while True:
                records = list(self.fetch(start, end))
                spent += 1
                if len(records) < self.limit:
                    break
                if end == start:
                    raise DenseWindow(start, len(records), self.limit, self.label(start))
                end, hinted = self._cut(records, start, end, hinted)  # keep the first part, ask again
            span = end - start + 1
            nxt = end + 1
            aim = self.limit * self.fill
            # an empty window says the stretch is sparse: the rest of the pass is asked at once
            width = min(span * 4, max(1, int(span * aim / len(records)))) if records else high - low + 1
            width = max(1, min(width, high - low + 1))
            after: dict[str, Any] = (
                {"pass": [low, high], "next": nxt, "width": width}
                if nxt <= high
                else {"since": high + 1, "width": width}
            )
            yield WindowPage(records, (start, end), after, spent)


def restart_state(last: dict[str, Any] | None) -> dict[str, Any] | None:
    """The state a new pass starts from, given the last state of a finished one (``None``: from scratch)."""
    if not last:
        return None
    if last.get("since") is not None:
        return {"since": int(last["since"]), "width": last.get("width")}
    if isinstance(last.get("pass"), list | tuple):  # a pass cut short: redo it from where it was
        return dict(last)
    return None
