"""Grouping algorithms: every record in exactly one group, order kept, size and byte budgets held."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engagesync.sync.destinations import batching
from engagesync.sync.destinations.endpoint import batch_frame, encode_record


def _partition(groups: batching.Groups, count: int) -> None:
    flat = [i for g in groups for i in g]
    assert sorted(flat) == list(range(count)), "every record in exactly one group"
    assert all(g == sorted(g) for g in groups), "order kept inside a group"
    assert [g[0] for g in groups] == sorted(g[0] for g in groups), "groups in order of their first record"
    assert all(groups), "no empty group"


@given(st.integers(0, 300), st.integers(1, 120))
def test_fixed(count: int, size: int) -> None:
    groups = batching.fixed(count, size)
    _partition(groups, count)
    assert all(len(g) == size for g in groups[:-1]) and all(len(g) <= size for g in groups)
    assert [i for g in groups for i in g] == list(range(count)), "consecutive"


@given(st.lists(st.sampled_from(["a", "b", "c", None, 1, True]), max_size=200), st.integers(1, 20))
def test_by_attribute(values: list[object], size: int) -> None:
    groups = batching.by_attribute(values, size)
    _partition(groups, len(values))
    for group in groups:
        assert len(group) <= size
        assert len({(type(values[i]), values[i]) for i in group}) == 1, "one value per group (True is not 1)"
    # as few groups as the size allows, per value
    for value in set(map(repr, values)):
        count = sum(1 for v in values if repr(v) == value)
        assert sum(1 for g in groups if repr(values[g[0]]) == value) == -(-count // size)


@given(
    st.lists(st.integers(1, 200), max_size=150),
    st.integers(1, 40),
    st.integers(0, 30),
    st.integers(0, 3),
    st.integers(0, 400),
)
def test_max_bytes(sizes: list[int], size: int, fixed: int, separator: int, slack: int) -> None:
    budget = fixed + 200 + slack
    groups = batching.max_bytes(sizes, size, budget, fixed_bytes=fixed, separator=separator)
    _partition(groups, len(sizes))
    assert [i for g in groups for i in g] == list(range(len(sizes))), "consecutive"
    for k, group in enumerate(groups):
        weight = batching.body_bytes([sizes[i] for i in group], fixed_bytes=fixed, separator=separator)
        assert len(group) <= size and weight <= budget
        if k + 1 < len(groups) and len(group) < size:  # closed because the next record did not fit
            nxt = groups[k + 1][0]
            assert weight + separator + sizes[nxt] > budget


def test_max_bytes_refuses_a_record_that_alone_exceeds_the_budget() -> None:
    with pytest.raises(ValueError, match="record 1 needs 12 bytes, over the budget of 10"):
        batching.max_bytes([3, 10], 5, 10, fixed_bytes=2)


@given(
    st.lists(
        st.dictionaries(st.text(min_size=1, max_size=5), st.one_of(st.text(max_size=20), st.integers()), max_size=4),
        min_size=1,
        max_size=30,
    ),
    st.sampled_from([None, "tickets"]),
)
def test_the_byte_count_is_the_json_body_sent(records: list[dict[str, object]], wrap: str | None) -> None:
    """What ``max_bytes`` counts equals the length of the body ``ManualEndpoint`` renders."""
    prefix, sep, suffix = batch_frame("json", wrap)
    parts = [encode_record(r, "json") for r in records]
    body = prefix + sep.join(parts) + suffix
    counted = batching.body_bytes([len(p) for p in parts], fixed_bytes=len(prefix) + len(suffix), separator=len(sep))
    assert counted == len(body)
    decoded = json.loads(body)
    assert (decoded if wrap is None else decoded[wrap]) == records
