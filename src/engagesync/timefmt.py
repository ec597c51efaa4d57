"""The one RFC 3339 / ISO 8601 reader, shared by client, sandbox, sync and every API.

Every side reads vendor timestamps; one copy keeps them agreeing on the edge cases: ``Z`` (either
case) or a numeric offset is honoured, and a time without one is read as UTC, never as the
machine's local time (``datetime.timestamp()`` on a naive value would). An API whose vendor means
another zone for offset-less times (GrowthGenius: US Eastern) passes ``zone``; its other formats
stay in its contract.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any


def parse_datetime(text: str, *, zone: Callable[[float], float] | None = None) -> datetime:
    """``2026-01-15T10:20:30Z``, ``...+02:00``, ``2026-01-15 10:20:30`` or a date -> an aware ``datetime``.

    A time without an offset is UTC, or, with ``zone``, is shifted by ``zone(t)`` seconds east of UTC,
    where ``t`` is the wall time read as if it were UTC. ``ValueError`` if the text is not ISO 8601.
    """
    text = text.strip()
    if text[-1:] in ("Z", "z"):
        text = text[:-1] + "+00:00"
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is not None:
        return moment
    if zone is None:
        return moment.replace(tzinfo=UTC)
    offset = zone(moment.replace(tzinfo=UTC).timestamp())
    return moment.replace(tzinfo=timezone(timedelta(seconds=offset)))


def to_epoch(value: Any) -> float | None:
    """Epoch seconds of an RFC 3339 text (offset-less = UTC); ``None`` if it is not text or not a time."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return parse_datetime(value).timestamp()
    except ValueError:
        return None
