"""Paginators: page/per_page following an absolute "next page" URL, and opaque cursors.

Part of the client engine: it knows no API. The defaults match Groove's ``meta.pagination.next_page``,
which drops ``per_page``, so it is put back on every followed page. A next URL on another origin than
the client's base URL is never followed as is (that would send the credential elsewhere): its query
is replayed on ``path``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator, Sequence
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from .errors import EngageSyncError
from .http import ApiClient

DEFAULT_PER_PAGE = 50
#: Pages / cursors remembered to detect a server that points back (bounded, so memory stays flat).
_RECENT_CURSORS = 1024
NEXT_PAGE_PATH: tuple[str, ...] = ("meta", "pagination", "next_page")


class PaginationLoop(EngageSyncError):
    """The server pointed back at a page already read: following it would never end."""


def dig(body: Any, path: Sequence[str]) -> Any:
    """``body[path[0]][path[1]]...`` or ``None`` when any step is missing."""
    for key in path:
        if not isinstance(body, dict):
            return None
        body = body.get(key)
    return body


def query_of(url: str) -> dict[str, Any]:
    """A URL's query as params: repeated keys become lists (as httpx sends them back)."""
    out: dict[str, Any] = {}
    for key, value in parse_qsl(urlsplit(url).query, keep_blank_values=True):
        if key in out:
            existing = out[key]
            out[key] = [*existing, value] if isinstance(existing, list) else [existing, value]
        else:
            out[key] = value
    return out


def page_of(url: str | None, page_param: str = "page") -> int | None:
    """The page number a next URL asks for (``None`` for no URL or no number)."""
    if not url:
        return None
    raw = query_of(url).get(page_param)
    try:
        return int(raw) if isinstance(raw, str) else None
    except ValueError:
        return None


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


def _canonical(url: str, params: dict[str, Any]) -> tuple[str, tuple[tuple[str, str], ...]]:
    items: list[tuple[str, str]] = []
    for key, value in params.items():
        for item in value if isinstance(value, list) else [value]:
            items.append((str(key), str(item)))
    return url, tuple(sorted(items))


def follow_next_page(
    client: ApiClient,
    path: str,
    params: dict[str, Any] | None,
    items_key: str,
    *,
    per_page_param: str = "per_page",
    next_path: Sequence[str] = NEXT_PAGE_PATH,
) -> Iterator[tuple[list[dict[str, Any]], str | None]]:
    """Yield ``(items, next_url)`` per page, starting with ``GET path?params``.

    ``per_page`` (default 50, or the caller's value in ``params``) is sent on the first request and
    re-added to every followed URL. Stops after a page whose next URL is null (or after an empty
    page: offset paging has nothing beyond one). Raises ``PaginationLoop`` if a URL repeats.
    """
    query: dict[str, Any] = dict(params or {})
    per_page = query.setdefault(per_page_param, DEFAULT_PER_PAGE)
    base_origin = _origin(client.base_url)
    url = path
    recent: deque[tuple[str, tuple[tuple[str, str], ...]]] = deque(maxlen=_RECENT_CURSORS)
    seen: set[tuple[str, tuple[tuple[str, str], ...]]] = set()
    while True:
        key = _canonical(client.safe_url(url if "://" in url else f"{client.base_url}/{url.lstrip('/')}"), query)
        if key in seen:
            raise PaginationLoop(f"the server's next page repeats a page already read ({key[0]}); stopping")
        if len(recent) == recent.maxlen:
            seen.discard(recent[0])
        recent.append(key)
        seen.add(key)
        body = client.request("GET", url, params=query).json()
        raw_items = body.get(items_key) if isinstance(body, dict) else None
        items = [i for i in raw_items if isinstance(i, dict)] if isinstance(raw_items, list) else []
        next_url = dig(body, next_path)
        next_url = next_url if isinstance(next_url, str) and next_url.strip() else None
        yield items, next_url
        if next_url is None or not items:
            return
        query = query_of(next_url)
        query[per_page_param] = per_page
        parts = urlsplit(next_url)
        if "://" in next_url and (parts.scheme.lower(), parts.netloc.lower()) == base_origin:
            url = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
        else:
            url = path  # a relative or foreign next URL: replay its query on the path we were given


#: ``fetch(cursor)`` -> the page's items and the cursor of the next page (``None``: the last page).
CursorFetch = Callable[[str | None], tuple[list[dict[str, Any]], str | None]]


def follow_cursor(fetch: CursorFetch, start: str | None = None) -> Iterator[tuple[list[dict[str, Any]], str | None]]:
    """Yield ``(items, next_cursor)`` per page for opaque-cursor lists, from ``start`` (None: the first page).

    Serves Relay connections (``after: endCursor`` while ``hasNextPage``) and ``before`` cursors
    (Volt's base64 ``pageInfo.nextPage``) alike: the caller's ``fetch`` maps a cursor to its API's
    arguments and reads the next one back. Stops after a page with no next cursor or no items; a
    cursor the server already handed out raises ``PaginationLoop``. Resume by passing the last
    ``next_cursor`` committed with its page as ``start``.
    """
    recent: deque[str] = deque(maxlen=_RECENT_CURSORS)
    seen: set[str] = set()
    cursor = start
    while True:
        items, next_cursor = fetch(cursor)
        yield items, next_cursor
        if next_cursor is None or not items:
            return
        if next_cursor == cursor or next_cursor in seen:
            raise PaginationLoop(f"the server's next cursor {next_cursor[:40]!r} repeats one already read; stopping")
        if len(recent) == recent.maxlen:
            seen.discard(recent[0])
        recent.append(next_cursor)
        seen.add(next_cursor)
        cursor = next_cursor
