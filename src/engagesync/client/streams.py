"""Source streams: what an API connector declares so the sync engine can pull it.

A stream yields pages; each page carries the records and the cursor state *after* it, so the store
can commit both in one transaction and a killed pull resumes exactly where it stopped.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from .http import ApiClient

#: Column types the store understands (DuckDB names).
COLUMN_TYPES = frozenset({"VARCHAR", "BIGINT", "DOUBLE", "BOOLEAN", "TIMESTAMP", "JSON"})


@dataclass
class Page:
    records: list[dict[str, Any]]
    #: Cursor state to resume from after this page; ``None`` means the stream is complete.
    state: dict[str, Any] | None
    #: Requests spent on this page (for progress).
    requests: int = 1


@dataclass(frozen=True)
class StreamSpec:
    name: str
    primary_key: tuple[str, ...]
    #: column -> DuckDB type; records may carry more fields (kept in a ``_raw`` JSON column).
    columns: dict[str, str]
    description: str = ""
    #: The stream this one iterates per record of (e.g. messages per ticket), if any.
    parent: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class Stream(Protocol):
    """A source stream. Optional hooks the pull engine looks for:

    - ``restart_state(last) -> state | None``: where the next pass starts after a complete one;
    - ``pages_of_parents(client, state, keys) -> Iterator[Page]`` (child streams): the pages of the
      given parent keys only (sorted; those written since the child's last pass), so an incremental
      pull fetches children of changed parents alone.
    """

    spec: StreamSpec

    def pages(self, client: ApiClient, state: dict[str, Any] | None) -> Iterator[Page]:
        """Pages from ``state`` (``None``: from the beginning) to the end of the stream."""
        ...
