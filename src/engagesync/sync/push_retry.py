"""``rejects --retry``: a push's open rejects sent again, each with the settings of the run that
filed it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .push_records import PushResult
from .store import Store

if TYPE_CHECKING:
    from .push import Pusher


def retry_rejects(pusher: Pusher, store: Store) -> PushResult:
    """Send the open rejects of the pusher's action again, each with the settings of the push that
    filed it (mapping, key, options; the pusher's own for rejects older than stored settings).

    Rejects stay open until their record is done: a record refused again keeps one set of open
    rejects (the latest reasons), so retrying never multiplies them."""
    latest: dict[str, tuple[int | None, int, dict[str, Any]]] = {}
    for item in store.rejects(pusher.connection, pusher.action.name, status="open"):
        record = item.record if isinstance(item.record, dict) else {}
        latest[item.key or f"id:{item.id}"] = (item.run_id, int(record.get("line") or 0), record.get("record") or {})
    groups: dict[int | None, list[tuple[int, dict[str, Any]]]] = {}
    for run_id, line, raw in latest.values():
        groups.setdefault(run_id, []).append((line, raw))
    total = PushResult(pusher.action.name)
    for run_id, rows in groups.items():
        settings = store.run_settings(run_id) if run_id is not None else None
        if isinstance(settings, dict):
            runner = pusher.with_settings(settings, force=True)
        else:
            runner = pusher.with_settings(pusher.settings(), force=True)
        try:
            runner.run(rows)
        finally:  # counts so far, also when a group stopped on an outage
            total.add(runner.result)
            pusher.result = total
    return total
