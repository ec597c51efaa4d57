"""What a push works with: its counts (``PushResult``), the records on their way (``Item``) and the
keys that name them in the ledger, and the small helpers around them."""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ..client.actions import ActionSpec, Request
from ..client.errors import RateLimitedError, ServerError, TransportError
from .mapping import MappingError
from .store import LedgerEntry

#: Dry-run previews kept in a result (the rest are counted).
PREVIEW_LIMIT = 1000


@dataclass
class PushResult:
    action: str
    read: int = 0
    sent: int = 0
    done: int = 0
    skipped: int = 0
    reconciled: int = 0
    rejected_locally: int = 0
    rejected_by_api: int = 0
    unknown: int = 0
    requests: list[dict[str, Any]] = field(default_factory=list)  # dry-run previews / test response
    #: previews beyond ``PREVIEW_LIMIT`` are counted, not kept (a dry run of a huge file stays flat)
    previews_omitted: int = 0
    elapsed: float = 0.0

    def preview(self, entry: dict[str, Any]) -> None:
        if len(self.requests) < PREVIEW_LIMIT:
            self.requests.append(entry)
        else:
            self.previews_omitted += 1

    @property
    def rejected(self) -> int:
        return self.rejected_locally + self.rejected_by_api

    def add(self, other: PushResult) -> None:
        """Fold another run's counts into this one (``rejects --retry`` runs one push per settings)."""
        for name in (
            "read",
            "sent",
            "done",
            "skipped",
            "reconciled",
            "rejected_locally",
            "rejected_by_api",
            "unknown",
            "previews_omitted",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.requests.extend(other.requests)
        self.elapsed += other.elapsed

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "read": self.read,
            "sent": self.sent,
            "done": self.done,
            "skipped": self.skipped,
            "reconciled": self.reconciled,
            "rejected": self.rejected,
            "rejected_locally": self.rejected_locally,
            "rejected_by_api": self.rejected_by_api,
            "unknown": self.unknown,
            "previews_omitted": self.previews_omitted,
            "elapsed_seconds": round(self.elapsed, 3),
        }


def _digest(data: Any) -> str:
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def record_key(record: dict[str, Any], key_field: str | None, raw: dict[str, Any]) -> str:
    """The ledger key: the ``--key`` column's value, else a hash of the source row.

    The source row, not the mapped payload: a re-push with a changed ``--map`` is the same records.
    A row edited between runs is a new record unless ``--key`` names a column that identifies it."""
    if key_field:
        value = raw.get(key_field, record.get(key_field))
        if value is None or value == "":
            raise MappingError(key_field, "the --key column is empty for this row")
        return str(value)
    return _digest(raw)


def payload_key(record: dict[str, Any]) -> str:
    """The key earlier versions used by default (a hash of the mapped payload), still honoured when
    found in a ledger so an upgrade re-creates nothing; also the fingerprint of what was sent."""
    return _digest(record)


def is_outage(error: object) -> bool:
    """A failure of the API rather than a refusal of the record: stops the push, never a reject."""
    return isinstance(error, TransportError | ServerError | RateLimitedError)


def field_of(reason: str, record: dict[str, Any], action: ActionSpec) -> str | None:
    """The field a vendor message is about: Rails messages start with it ("state must be ...")."""
    head = reason.split(" ", 1)[0].split("[", 1)[0]
    names = {f.name for f in action.fields} | set(record)
    return head if head in names else None


@dataclass
class Item:
    """A record that passed local validation, on its way to the API."""

    line: int
    raw: dict[str, Any]
    record: dict[str, Any]
    key: str
    request: Request
    #: The pre-source-row default key (hash of the payload): an old ledger's entry for this record.
    legacy_key: str | None = None

    @functools.cached_property
    def fingerprint(self) -> str:
        """``payload_key`` of the record, hashed once (legacy key, sent mark and rejected check)."""
        return payload_key(self.record)


def batches(
    rows: Iterable[tuple[int, dict[str, Any]]], size: int, limit: int | None
) -> Iterator[list[tuple[int, dict[str, Any]]]]:
    batch: list[tuple[int, dict[str, Any]]] = []
    for taken, row in enumerate(rows):
        if limit is not None and taken >= limit:
            break
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def response_body(response: Any) -> Any:
    """An HTTP response's body: its JSON, else its text (``None`` when empty)."""
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return response.text


def lookup_keys(items: list[Item]) -> list[str]:
    """The ledger keys to look up: each item's key, and its legacy key when it has one."""
    return [k for item in items for k in (item.key, item.legacy_key) if k is not None]


def entry_for(entries: dict[str, LedgerEntry], item: Item) -> LedgerEntry | None:
    found = entries.get(item.key)
    if found is None and item.legacy_key is not None:
        found = entries.get(item.legacy_key)
    return found
