"""Property tests for ``TimeWindows(learn_order=True)``: learning the API's order never costs a record.

The fake list is data, not our code: it answers a window with at most ``limit`` records in an order
that may change mid-pass (after a number of requests), including to orders that look sorted by chance.
Learning pays off only when the API really answers oldest first; whatever it does, a pass yields
every record exactly once, and a pass resumed from any committed state yields exactly the rest.
"""

from __future__ import annotations

import random
from collections import Counter
from itertools import pairwise
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engagesync.client.windows import CONTRADICTED, DenseWindow, TimeWindows, WindowPage

#: ``sample``: any ``limit`` of the window's records, then sorted by time (a ``LIMIT`` before the sort).
ORDERS = ["oldest", "newest", "any", "sample"]
#: Orders an API may switch to mid-pass. A switch to ``sample`` once oldest-first was learned is the one
#: case learning cannot see (its answers look oldest-first): switch ``learn_order`` off for such an API.
LATER = ["oldest", "newest", "any"]


class FlippingList:
    """Answers in ``order`` (see ``ORDERS``), switching to ``then`` after ``after`` calls."""

    def __init__(self, times: list[int], limit: int, seed: int, order: str, then: str, after: int) -> None:
        self.records = [{"id": i, "t": t} for i, t in enumerate(times)]
        self.limit, self.order, self.then, self.after = limit, order, then, after
        self.rng = random.Random(seed)
        self.calls = 0

    def fetch(self, start: int, end: int) -> list[dict[str, Any]]:
        order = self.order if self.calls < self.after else self.then
        self.calls += 1
        hits = [r for r in self.records if start <= r["t"] <= end]
        self.rng.shuffle(hits)  # ties in any order
        if order == "sample":
            return sorted(hits[: self.limit], key=lambda r: r["t"])
        if order != "any":
            hits.sort(key=lambda r: r["t"], reverse=order == "newest")
        return hits[: self.limit]


def tick(record: dict[str, Any]) -> int:
    return int(record["t"])


def learning(api: FlippingList, limit: int, first_width: int | None = None) -> TimeWindows:
    return TimeWindows(api.fetch, limit, tick=tick, learn_order=True, first_width=first_width, key=lambda r: r["id"])


@st.composite
def times_for(draw: st.DrawFn, limit: int, high: int) -> list[int]:
    """Up to 800 times in [0, high] (many, so that orders get learned), some crowded into a few instants,
    fewer than ``limit`` per instant (else DenseWindow is the right answer)."""
    rng = random.Random(draw(st.integers(0, 10**6)))
    times = [rng.randint(0, high) for _ in range(draw(st.integers(0, 800)))]
    times += draw(st.lists(st.integers(0, high), max_size=40))
    seen: Counter[int] = Counter()
    return [t for t in times if (seen.update([t]) or seen[t]) < limit]


def check_partition(pages: list[WindowPage], low: int, high: int, calls: int) -> None:
    windows = [p.window for p in pages if p.window]
    assert windows[0][0] == low and windows[-1][1] == high
    assert all(b[0] == a[1] + 1 for a, b in pairwise(windows))  # contiguous, disjoint
    for page in pages:  # every kept record inside its window
        assert page.window and all(page.window[0] <= tick(r) <= page.window[1] for r in page.records)
    assert sum(p.requests for p in pages) == calls


@settings(max_examples=150, deadline=None)
@given(
    data=st.data(),
    limit=st.integers(2, 24),
    seed=st.integers(0, 10**6),
    order=st.sampled_from(ORDERS),
    then=st.sampled_from(LATER),
    after=st.integers(0, 40),
    first_width=st.one_of(st.none(), st.integers(1, 3000)),
    high=st.sampled_from([300, 3000]),
)
def test_whatever_the_order_and_when_it_changes_a_pass_yields_every_record_once(
    data: st.DataObject,
    limit: int,
    seed: int,
    order: str,
    then: str,
    after: int,
    first_width: int | None,
    high: int,
) -> None:
    times = data.draw(times_for(limit, high))
    api = FlippingList(times, limit, seed, order, then, after)
    pages = list(learning(api, limit, first_width).pages(None, lambda: high))
    ids = [r["id"] for p in pages for r in p.records]
    assert sorted(ids) == list(range(len(times)))  # none lost, none twice
    check_partition(pages, 0, high, api.calls)
    assert pages[-1].state["since"] == high + 1


@settings(max_examples=100, deadline=None)
@given(
    data=st.data(),
    limit=st.integers(8, 24),
    seed=st.integers(0, 10**6),
    order=st.sampled_from(ORDERS),
    then=st.sampled_from(LATER),
    after=st.integers(0, 30),
    cut=st.integers(0, 1000),
)
def test_resuming_from_any_committed_window_yields_exactly_the_rest(
    data: st.DataObject, limit: int, seed: int, order: str, then: str, after: int, cut: int
) -> None:
    times = data.draw(times_for(limit, 3000))
    api = FlippingList(times, limit, seed, order, then, after)
    pager = learning(api, limit)
    first = list(pager.pages(None, lambda: 3000))
    k = cut % len(first)
    before = [r["id"] for p in first[: k + 1] for r in p.records]
    # A killed pull resumes from the last committed state (learned order included); the clock moved on.
    rest = [r["id"] for p in pager.pages(first[k].state, lambda: 10_000) for r in p.records]
    assert sorted(before + rest) == list(range(len(times)))


def spread(n: int, seed: int = 7, span: int = 86_400_000) -> list[int]:
    rng = random.Random(seed)
    return sorted(rng.randrange(span) for _ in range(n))


def requests(order: str, learn: bool, times: list[int], limit: int = 200, then: str | None = None) -> int:
    api = FlippingList(times, limit, 3, order, then or order, 10)
    pager = TimeWindows(api.fetch, limit, tick=tick, learn_order=learn, key=lambda r: r["id"])
    pages = list(pager.pages(None, lambda: 86_400_000))
    assert sorted(r["id"] for p in pages for r in p.records) == list(range(len(times)))
    return api.calls


def test_a_learned_oldest_first_list_costs_about_one_request_per_limit_records() -> None:
    """5,000 records, at most 200 per answer: two cut windows confirm the order (4 requests for 340
    records), then each request keeps 199 and the last one ends the pass: 4 + 24 + 1."""
    times = spread(5_000)
    assert requests("oldest", True, times) <= 4 + (5_000 - 340) / 199 + 1 < requests("oldest", False, times)


def test_a_sorted_answer_that_is_not_the_oldest_is_caught_by_the_re_asked_window() -> None:
    """Each answer is sorted, but a sample: the re-asked window holds records the first answer left
    out below its cut, which contradicts oldest-first before anything is trusted."""
    times = spread(5_000)
    api = FlippingList(times, 200, 3, "sample", "sample", 0)
    pages = list(learning(api, 200).pages(None, lambda: 86_400_000))
    assert pages[0].state["oldest_first"] == CONTRADICTED
    assert sorted(r["id"] for p in pages for r in p.records) == list(range(5_000))


@pytest.mark.parametrize("order", ["newest", "any", "sample"])
def test_an_order_contradicted_at_once_costs_what_the_cut_costs(order: str) -> None:
    times = spread(5_000)
    assert requests(order, True, times) == requests(order, False, times)


@pytest.mark.parametrize("then", ["newest", "any"])  # ("sample" after learning is not caught: docs/fidelity.md)
def test_an_order_changing_after_it_was_learned_drops_back_to_the_cut(then: str) -> None:
    times = spread(5_000)
    api = FlippingList(times, 200, 3, "oldest", then, 10)
    pages = list(learning(api, 200).pages(None, lambda: 86_400_000))
    assert sorted(r["id"] for p in pages for r in p.records) == list(range(5_000))
    states = [p.state.get("oldest_first", 0) for p in pages]
    assert max(states) >= 2 and CONTRADICTED in states  # learned, then contradicted
    assert all(s == CONTRADICTED for s in states[states.index(CONTRADICTED) : -1])  # for the rest of the pass


def test_a_resumed_pass_keeps_what_it_learned() -> None:
    times = spread(2_000)
    api = FlippingList(times, 200, 3, "oldest", "oldest", 0)
    pager = learning(api, 200)
    pages = list(pager.pages(None, lambda: 86_400_000))
    learned = next(p.state for p in pages if p.state.get("oldest_first", 0) >= 2)
    resumed = next(iter(pager.pages(learned, lambda: 86_400_000)))
    assert resumed.requests == 1 and len(resumed.records) == 199  # trusted at once: no cut, no re-ask


def test_an_instant_holding_limit_records_is_still_an_error_once_the_order_is_learned() -> None:
    times = spread(1_000, span=1_000_000) + [2_000_000] * 20 + [2_000_001]
    api = FlippingList(times, 20, 1, "oldest", "oldest", 0)
    with pytest.raises(DenseWindow, match="20 records share the instant 2000000"):
        list(learning(api, 20).pages(None, lambda: 3_000_000))


def test_learning_the_order_needs_the_records_times() -> None:
    with pytest.raises(ValueError, match="tick"):
        TimeWindows(lambda a, b: [], 5, learn_order=True)
