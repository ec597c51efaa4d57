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

Learning the order (``learn_order``, off by default): the cut costs one request per full window, the
price of assuming nothing. Instead of assuming the order, the paginator can learn it from what the API
answers. When a full window sorted oldest first (non-decreasing ticks, at least ``ORDER_EVIDENCE``
distinct ones, so chance is ruled out) is cut at ``c`` below its latest tick and the re-asked window
answers exactly the records of the first answer with tick ``<= c``, that is one confirmation that the API
answers the oldest records of a window first. Once confirmed (``learn_after`` times in the pass), each
window asks the rest of the pass, and a full answer is trusted: its records before its latest tick
``m`` are kept (the window is ``[start, m - 1]``) and the next window starts at ``m``, so the records at
``m`` are read again there, never kept twice: windows still partition the time line. Any answer that
contradicts oldest-first (ticks out of order, a re-asked window holding records the first answer should
have shown) drops back to the cut for the rest of the pass, as does a full answer with too few distinct
ticks to tell. So an API in any other order is read as before; only an API that answers sorted by time
but *not* the oldest records, after answering oldest first long enough to be trusted, could hide records
(docs/fidelity.md). What was learned is part of the pass's state (``"oldest_first"``: confirmations, ``-1``
once contradicted), so a resumed pass keeps it; a new pass learns again (one extra request).

Windows are closed intervals of integer ticks (milliseconds, seconds: the API's resolution), and
consecutive windows are ``[a, b]``, ``[b + 1, c]``: a record whose time sits exactly on a boundary
falls in one window only, never lost and never read twice. The connector maps a window to the API's
parameters (inclusive bounds at the API's resolution) in ``fetch``.

A pass covers ``[since, until()]`` where ``until()`` is read once, when the pass starts (the server's
time minus a lag covering writes in flight). Records changed while the pass runs get a later time
and fall in the next pass, so none is lost. State, committed with each window's records:

- ``None``: no pass yet: the first pass starts at ``origin``;
- ``{"pass": [lo, hi], "next": n, "width": w}``: a pass over ``[lo, hi]`` in progress, ``[lo, n)`` done
  (plus ``"oldest_first": k`` once the order is learned or contradicted);
- ``{"since": t, "width": w}``: the last pass ended at ``t - 1``; the next one starts at ``t``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable, Iterator, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from .errors import EngageSyncError

Record = dict[str, Any]
#: ``fetch(start, end)``: the records whose time is in ``[start, end]`` (ticks), as many as the API gives.
Fetch = Callable[[int, int], Sequence[Record]]
#: Distinct ticks a sorted full answer needs to count as evidence of the order: a random order of 8
#: distinct times is sorted by chance once in 40,320.
ORDER_EVIDENCE = 8
#: ``oldest_first`` once an answer contradicted the order: the cut, for the rest of the pass.
CONTRADICTED = -1


def _same(record: Record) -> Hashable:
    return json.dumps(record, sort_keys=True, default=str)


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
    #: Learn whether the API answers oldest first and, once it has, trust full answers (see above).
    learn_order: bool = False
    #: Confirmations of the order before full answers are trusted.
    learn_after: int = 2
    #: A record's identity, to compare a re-asked window's answer with the first one's.
    key: Callable[[Record], Hashable] = _same

    def __post_init__(self) -> None:
        if self.limit < 1:
            raise ValueError("limit must be at least 1")
        if not 0 < self.fill <= 1:
            raise ValueError("fill must be in (0, 1]")
        if self.learn_order and self.tick is None:
            raise ValueError("learn_order needs the records' times (tick)")

    def _ticks(self, records: Sequence[Record], start: int, end: int) -> list[int] | None:
        """The answer's ticks in answer order, ``None`` if any is unknown or outside the window."""
        assert self.tick is not None
        ticks: list[int] = []
        for record in records:
            t = self.tick(record)
            if t is None or not start <= t <= end:
                return None
            ticks.append(t)
        return ticks

    def _observe(self, order: int, records: Sequence[Record], start: int, end: int) -> tuple[int, list[int] | None]:
        """``order`` after this answer, and its ticks when it is evidence of oldest-first (sorted,
        ``ORDER_EVIDENCE`` distinct ticks; the last is its latest), else ``None``. An answer out of
        order contradicts it."""
        if not self.learn_order or order == CONTRADICTED:
            return order, None
        ticks = self._ticks(records, start, end)
        if ticks is None:
            return order, None
        if any(b < a for a, b in pairwise(ticks)):
            return CONTRADICTED, None
        return order, (ticks if len(set(ticks)) >= ORDER_EVIDENCE else None)

    def _check(self, order: int, first: Sequence[Record], latest: int, cut: int, again: Sequence[Record]) -> int:
        """``order`` after ``[start, cut]`` (``cut < latest``) answered ``again``, where ``[start, ..]``
        answered ``first`` (full, sorted, latest tick ``latest``): oldest-first means exactly ``first``'s
        records up to ``cut``. Fewer may be updates moving records out (no evidence); more contradict it."""
        assert self.tick is not None
        if order == CONTRADICTED:
            return order
        tick = self.tick
        expected = {self.key(r) for r in first if (t := tick(r)) is not None and t <= cut}
        got = {self.key(r) for r in again}
        if not got <= expected or len(again) >= self.limit:
            return CONTRADICTED
        return order + 1 if got == expected else order

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
        order = int(state.get("oldest_first") or 0) if self.learn_order and "next" in state else 0
        if nxt > high:  # nothing new since the last pass (or the clock has not moved past the lag)
            yield WindowPage([], None, {"since": max(low, nxt), "width": width}, 0)
            return
        while nxt <= high:
            start = nxt
            # once an order is seen, ask the rest of the pass: a full answer confirms or is trusted
            end = high if order > 0 else min(high, start + max(1, width) - 1)
            spent, hinted = 0, False
            asked: tuple[Sequence[Record], int, int] | None = None  # a full sorted answer, its latest tick, the cut
            while True:
                records = list(self.fetch(start, end))
                spent += 1
                order, ticks = self._observe(order, records, start, end)
                latest = ticks[-1] if ticks is not None else None
                if asked is not None and end == asked[2]:
                    order = self._check(order, asked[0], asked[1], end, records)
                if len(records) < self.limit:
                    break
                if order >= self.learn_after and ticks is not None and ticks[-1] > start:
                    records = [r for r, t in zip(records, ticks, strict=True) if t < ticks[-1]]
                    end = ticks[-1] - 1  # the records at the latest tick are read again by the next window
                    break
                if end == start:
                    raise DenseWindow(start, len(records), self.limit, self.label(start))
                end, hinted = self._cut(records, start, end, hinted)  # keep the first part, ask again
                asked = (records, latest, end) if latest is not None and end < latest else None
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
            if order and "pass" in after:
                after["oldest_first"] = order
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
