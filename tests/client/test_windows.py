"""Property tests for the time-window paginator (client/windows.py), against an adversarial list.

The fake API below is data, not our code: records with integer times, answering a window with at most
``limit`` records, in any order, leaving out any of them when more match (as an API that truncates
silently may). Whatever it does, each pass must yield every record in its range exactly once.
"""

from __future__ import annotations

import random
from collections import Counter
from itertools import pairwise
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engagesync.client.windows import DenseWindow, TimeWindows, restart_state


class TruncatingList:
    def __init__(self, times: list[int], limit: int, seed: int, order: str = "any") -> None:
        self.records = [{"id": i, "t": t} for i, t in enumerate(times)]
        self.limit = limit
        self.rng = random.Random(seed)
        self.order = order
        self.calls = 0

    def fetch(self, start: int, end: int) -> list[dict[str, Any]]:
        self.calls += 1
        hits = [r for r in self.records if start <= r["t"] <= end]
        self.rng.shuffle(hits)
        if self.order != "any":  # oldest or newest first, ties in any order
            hits.sort(key=lambda r: r["t"], reverse=self.order == "newest")
        return hits[: self.limit]


def tick(record: dict[str, Any]) -> int:
    return int(record["t"])


def ties_below(limit: int) -> st.SearchStrategy[list[int]]:
    """Times in [0, 500] where no instant holds ``limit`` records or more (else DenseWindow is right)."""
    return st.lists(st.integers(0, 500), max_size=300).filter(lambda ts: not ts or max(Counter(ts).values()) < limit)


@settings(max_examples=150, deadline=None)
@given(
    data=st.data(),
    limit=st.integers(2, 12),
    seed=st.integers(0, 10**6),
    first_width=st.one_of(st.none(), st.integers(1, 600)),
    order=st.sampled_from(["any", "oldest", "newest"]),
    hinted=st.booleans(),
    fill=st.sampled_from([0.5, 0.85, 1.0]),
)
def test_a_pass_yields_every_record_exactly_once(
    data: st.DataObject, limit: int, seed: int, first_width: int | None, order: str, hinted: bool, fill: float
) -> None:
    """Whatever order the API answers in, and whether or not full windows are cut at a record's time."""
    times = data.draw(ties_below(limit))
    api = TruncatingList(times, limit, seed, order)
    pager = TimeWindows(api.fetch, limit, origin=0, first_width=first_width, tick=tick if hinted else None, fill=fill)
    pages = list(pager.pages(None, lambda: 500))
    ids = [r["id"] for p in pages for r in p.records]
    assert sorted(ids) == list(range(len(times)))
    windows = [p.window for p in pages if p.window]
    assert windows[0][0] == 0 and windows[-1][1] == 500
    assert all(b[0] == a[1] + 1 for a, b in pairwise(windows))  # contiguous, disjoint
    assert sum(p.requests for p in pages) == api.calls
    assert pages[-1].state["since"] == 501


@settings(max_examples=100, deadline=None)
@given(data=st.data(), limit=st.integers(2, 8), seed=st.integers(0, 10**6), cut=st.integers(0, 1000))
def test_resuming_from_any_committed_window_yields_exactly_the_rest(
    data: st.DataObject, limit: int, seed: int, cut: int
) -> None:
    times = data.draw(ties_below(limit))
    api = TruncatingList(times, limit, seed)
    pager = TimeWindows(api.fetch, limit, first_width=7)
    first = list(pager.pages(None, lambda: 500))
    k = cut % len(first)
    before = [r["id"] for p in first[: k + 1] for r in p.records]
    # A killed pull resumes from the last committed state; the clock has moved on meanwhile.
    rest = [r["id"] for p in pager.pages(first[k].state, lambda: 10_000) for r in p.records]
    assert sorted(before + rest) == list(range(len(times)))


@settings(max_examples=80, deadline=None)
@given(
    old=st.lists(st.integers(0, 300), max_size=80),
    new=st.lists(st.integers(0, 300), max_size=40),
    seed=st.integers(0, 1000),
)
def test_the_next_pass_reads_exactly_what_changed_after_the_last(old: list[int], new: list[int], seed: int) -> None:
    limit = 100
    api = TruncatingList(old, limit, seed)
    pager = TimeWindows(api.fetch, limit)
    first = list(pager.pages(None, lambda: 300))
    assert sorted(r["id"] for p in first for r in p.records) == list(range(len(old)))
    # Records "updated" after the first pass get later times; the old ones are not read again.
    api.records += [{"id": 1000 + i, "t": 301 + t} for i, t in enumerate(new)]
    second = list(pager.pages(restart_state(first[-1].state), lambda: 700))
    assert sorted(r["id"] for p in second for r in p.records) == [1000 + i for i in range(len(new))]


def test_ties_on_a_split_boundary_are_neither_lost_nor_duplicated() -> None:
    # 4 records at t=49, 4 at t=50, 4 at t=51, limit 5: every split lands on a crowded instant.
    times = [49] * 4 + [50] * 4 + [51] * 4
    api = TruncatingList(times, 5, seed=1)
    pages = list(TimeWindows(api.fetch, 5).pages(None, lambda: 100))
    ids = [r["id"] for p in pages for r in p.records]
    assert sorted(ids) == list(range(12)) and len(ids) == len(set(ids))


def test_an_instant_holding_limit_records_is_an_error_not_a_silent_loss() -> None:
    api = TruncatingList([7] * 5 + [8], 5, seed=0)
    with pytest.raises(DenseWindow, match="5 records share the instant 7"):
        list(TimeWindows(api.fetch, 5).pages(None, lambda: 20))


def test_nothing_new_yields_one_empty_page_keeping_the_start() -> None:
    api = TruncatingList([1, 2], 5, seed=0)
    pages = list(TimeWindows(api.fetch, 5).pages({"since": 30, "width": 8}, lambda: 29))
    assert [(p.records, p.requests, p.state) for p in pages] == [([], 0, {"since": 30, "width": 8})]
    assert api.calls == 0


@pytest.mark.parametrize("order", ["oldest", "any", "newest"])
def test_cutting_at_a_returned_time_reads_an_oldest_first_list_near_fill_per_request(order: str) -> None:
    """5,000 records over a day, at most 200 per answer: cut at the 170th earliest time returned, an
    oldest-first list costs about 5,000 / 170 requests (halving alone spends about twice that); in any
    other order the cut falls back to halving and costs no more than halving does."""
    rng = random.Random(7)
    times = sorted(rng.randrange(86_400_000) for _ in range(5_000))
    costs = {}
    for hinted in (True, False):
        api = TruncatingList(times, 200, seed=3, order=order)
        pages = list(TimeWindows(api.fetch, 200, tick=tick if hinted else None).pages(None, lambda: 86_400_000 * 2))
        assert sorted(r["id"] for p in pages for r in p.records) == list(range(5_000))
        costs[hinted] = api.calls
    if order == "oldest":
        assert costs[True] <= 5_000 / 170 + 6 < costs[False]
    else:
        assert costs[True] <= costs[False]
