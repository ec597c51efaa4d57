"""The opaque-cursor paginator against list servers with the behaviours real cursor APIs have."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engagesync.client.paginate import PaginationLoop, follow_cursor


def _cursor(offset: int) -> str:
    return base64.b64encode(f"offset:{offset}".encode()).decode()


def _offset(cursor: str | None) -> int:
    return 0 if cursor is None else int(base64.b64decode(cursor).decode().split(":")[1])


def _server(items: list[dict[str, Any]], size: int) -> Any:
    """A ``before``-style list: a page of ``size`` items and the base64 cursor of the next one."""
    calls: list[str | None] = []

    def fetch(cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
        calls.append(cursor)
        start = _offset(cursor)
        page = items[start : start + size]
        return page, (_cursor(start + size) if start + size < len(items) else None)

    fetch.calls = calls  # type: ignore[attr-defined]
    return fetch


@given(count=st.integers(0, 300), size=st.integers(1, 60), stop_after=st.integers(0, 10))
def test_every_item_once_in_order_and_a_resume_from_any_committed_cursor_finishes_the_list(
    count: int, size: int, stop_after: int
) -> None:
    items = [{"id": i} for i in range(count)]
    first: list[dict[str, Any]] = []
    committed: str | None = None
    for pages, (page, next_cursor) in enumerate(follow_cursor(_server(items, size)), start=1):
        first.extend(page)
        committed = next_cursor
        if pages == stop_after:  # "killed" here: resume from the cursor committed with this page
            break
    else:
        assert first == items
        return
    rest = [] if committed is None else [i for page, _ in follow_cursor(_server(items, size), committed) for i in page]
    assert first + rest == items


def test_a_server_that_points_back_is_stopped_not_followed_forever() -> None:
    def fetch(cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
        return [{"id": 1}], _cursor(0) if cursor is None else _cursor(1 - _offset(cursor))

    with pytest.raises(PaginationLoop, match="repeats"):
        for _ in follow_cursor(fetch):
            pass


def test_an_empty_page_with_a_next_cursor_ends_the_list() -> None:
    fetch = _server([], 10)
    assert list(follow_cursor(fetch)) == [([], None)]
    assert list(follow_cursor(lambda cursor: ([], "more"))) == [([], "more")]
