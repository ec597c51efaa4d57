"""Grouping algorithms: which records share one request. Pure functions over indices.

Each returns groups of indices into its input such that every index is in exactly one group, indices
keep their order inside a group, groups are ordered by their first index, and no group holds more
than ``size`` records (nor, for ``max_bytes``, more than ``budget`` bytes of body).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import Any

Groups = list[list[int]]


def fixed(count: int, size: int) -> Groups:
    """Consecutive records, ``size`` at a time (Nexla's default batching)."""
    _positive(size)
    return [list(range(start, min(start + size, count))) for start in range(0, count, size)]


def by_attribute(values: Sequence[Hashable], size: int) -> Groups:
    """Records sharing a value (``values[i]`` is record i's), ``size`` at a time; a value's records
    that do not fit start a new group of that value. ``None`` (attribute absent) is a value too."""
    _positive(size)
    open_groups: dict[Any, list[int]] = {}
    groups: Groups = []
    for index, value in enumerate(values):
        group = open_groups.get(_hashable(value))
        if group is None or len(group) >= size:
            group = []
            groups.append(group)
            open_groups[_hashable(value)] = group
        group.append(index)
    return groups


def max_bytes(sizes: Sequence[int], size: int, budget: int, *, fixed_bytes: int = 0, separator: int = 0) -> Groups:
    """Consecutive records filling a body up to ``budget`` bytes, at most ``size`` records.

    A body of n records weighs ``fixed_bytes + sum(sizes) + separator * (n - 1)`` (a JSON array:
    2 + the records + n - 1 commas). A record that alone exceeds the budget raises ``ValueError``:
    the caller rejects it before grouping."""
    _positive(size)
    groups: Groups = []
    current: list[int] = []
    weight = 0
    for index, item in enumerate(sizes):
        if fixed_bytes + item > budget:
            raise ValueError(f"record {index} needs {fixed_bytes + item} bytes, over the budget of {budget}")
        if current and (len(current) >= size or weight + separator + item > budget):
            groups.append(current)
            current = []
        weight = weight + separator + item if current else fixed_bytes + item
        current.append(index)
    if current:
        groups.append(current)
    return groups


def body_bytes(sizes: Sequence[int], *, fixed_bytes: int = 0, separator: int = 0) -> int:
    """What ``max_bytes`` counts for one group (tests compare it with the real body)."""
    return fixed_bytes + sum(sizes) + separator * max(len(sizes) - 1, 0)


def plan(
    count: int,
    size: int,
    grouping: str,
    *,
    value_of: Callable[[int], Hashable] | None = None,
    size_of: Callable[[int], int] | None = None,
    budget: int | None = None,
    fixed_bytes: int = 0,
    separator: int = 0,
) -> Groups:
    """The grouping named in a configuration, given how to read a record's attribute or size."""
    if grouping == "fixed":
        return fixed(count, size)
    if grouping == "by_attribute":
        assert value_of is not None
        return by_attribute([value_of(i) for i in range(count)], size)
    if grouping == "max_bytes":
        assert size_of is not None and budget is not None
        return max_bytes([size_of(i) for i in range(count)], size, budget, fixed_bytes=fixed_bytes, separator=separator)
    raise ValueError(f"unknown grouping {grouping!r}")


def _positive(size: int) -> None:
    if size < 1:
        raise ValueError(f"batch size must be at least 1, not {size}")


def _hashable(value: Any) -> Hashable:
    """Group keys for values a record may hold (lists, dicts) by their text."""
    try:
        hash(value)
    except TypeError:
        return repr(value)
    return (type(value).__name__ == "bool", value)
