"""Push: records -> an action, duplicate-safe, with rejects, response capture, previews and test sends.

For every record: map, prepare, validate locally (bad rows become rejects naming field and reason,
and are never sent), then consult the ledger by the record's key:
- ``done``: already pushed by an earlier run; skipped.
- ``sent``/``unknown``: an earlier run crashed or timed out after sending; for a create the outcome
  is looked up (``reconcile``) before anything is sent again, so nothing is created twice.
The ledger row is written (``sent``) *before* the request goes out, so a crash at any point leaves a
trail the next run can reconcile.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ..client.actions import ActionSpec, Request, dig
from ..client.errors import ApiError, AuthError, OutcomeUnknown, TransportError
from ..client.http import ApiClient
from .mapping import Mapping, MappingError
from .store import Store

#: How many times a create whose outcome stays unknown (and cannot be found) is sent again.
MAX_UNKNOWN_RESENDS = 3

Progress = Callable[[str, dict[str, Any]], None]


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
    elapsed: float = 0.0

    @property
    def rejected(self) -> int:
        return self.rejected_locally + self.rejected_by_api

    def to_dict(self) -> dict[str, Any]:
        return {"action": self.action, "read": self.read, "sent": self.sent, "done": self.done,
                "skipped": self.skipped, "reconciled": self.reconciled, "rejected": self.rejected,
                "rejected_locally": self.rejected_locally, "rejected_by_api": self.rejected_by_api,
                "unknown": self.unknown, "elapsed_seconds": round(self.elapsed, 3)}


def record_key(record: dict[str, Any], key_field: str | None, raw: dict[str, Any]) -> str:
    """The ledger key: the ``--key`` column's value, else a hash of the mapped payload."""
    if key_field:
        value = raw.get(key_field, record.get(key_field))
        if value is None or value == "":
            raise MappingError(key_field, "the --key column is empty for this row")
        return str(value)
    canonical = json.dumps(record, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def _field_of(reason: str, record: dict[str, Any], action: ActionSpec) -> str | None:
    """The field a vendor message is about: Rails messages start with it ("state must be ...")."""
    head = reason.split(" ", 1)[0].split("[", 1)[0]
    names = {f.name for f in action.fields} | set(record)
    return head if head in names else None


class Pusher:
    def __init__(self, client: ApiClient, connection: str, action: ActionSpec, store: Store,
                 mapping: Mapping | None = None, key_field: str | None = None, progress: Progress | None = None,
                 capture: bool = True) -> None:
        self.client = client
        self.connection = connection
        self.action = action
        self.store = store
        self.mapping = mapping or Mapping()
        self.key_field = key_field
        self.progress = progress
        self.capture = capture
        self.started = client.budget.sync.midpoint(time.time())

    # -- entry points ----------------------------------------------------------------------------
    def run(self, rows: Iterable[tuple[int, dict[str, Any]]], dry_run: bool = False, test: bool = False,
            limit: int | None = None) -> PushResult:
        result = PushResult(self.action.name)
        began = time.perf_counter()
        run_id = None if dry_run else self.store.run_start(self.connection, "push", self.action.name)
        status = "failed"
        try:
            for line, raw in rows:
                if limit is not None and result.read >= limit:
                    break
                result.read += 1
                self._one(line, raw, result, dry_run=dry_run, test=test)
                if test and (result.sent or result.rejected):
                    break
                if self.progress:
                    self.progress("record", {"read": result.read, "done": result.done,
                                             "rejected": result.rejected})
            status = "ok"
        finally:
            result.elapsed = time.perf_counter() - began
            if run_id is not None:
                self.store.run_finish(run_id, status, result.to_dict())
        return result

    # -- one record ------------------------------------------------------------------------------
    def _one(self, line: int, raw: dict[str, Any], result: PushResult, *, dry_run: bool, test: bool) -> None:
        action = self.action
        try:
            record = action.prepare(self.mapping.apply(raw))
            key = record_key(record, self.key_field, raw)
        except MappingError as exc:
            self._reject_local(None, raw, line, [(exc.field, exc.reason)], result, dry_run)
            return
        problems = action.validate(record)
        if problems:
            self._reject_local(key, raw, line, problems, result, dry_run)
            return
        request = action.build(record)
        if dry_run:
            preview = request.describe(self.client.safe_url(self.client.base_url))
            result.requests.append({"line": line, "key": key, **preview})
            return
        entry = self.store.ledger_get(self.connection, action.name, key)
        if entry is not None and entry.status in ("done", "rejected"):
            result.skipped += 1  # rejected rows wait for `rejects retry`, done ones are done
            return
        if entry is not None and entry.status in ("sent", "unknown") and action.creates and self._reconcile(
                key, record, result):
            return
        if action.resolve is not None:  # an upsert: look the target up now (a dry run shows the create)
            try:
                request = action.resolve(self.client, record)
            except AuthError:
                raise
            except ApiError as exc:
                self._reject_api(key, record, raw, line, exc, exc.reason, result)
                return
            except TransportError as exc:
                self._reject_api(key, record, raw, line, None, f"looking the record up failed: {exc}", result)
                return
        self._send(key, record, raw, request, line, result, test)

    def _send(self, key: str, record: dict[str, Any], raw: dict[str, Any], request: Request, line: int,
              result: PushResult, test: bool) -> None:
        action = self.action
        for attempt in range(1, MAX_UNKNOWN_RESENDS + 2):
            self.store.ledger_put(self.connection, action.name, key, "sent", request=request.describe(""),
                                  attempt=True)
            result.sent += 1
            try:
                response = self.client.request(request.method, request.path, json=request.json,
                                               idempotent=not action.creates, retry=not test)
            except OutcomeUnknown:
                self.store.ledger_put(self.connection, action.name, key, "unknown")
                if test:
                    result.unknown += 1
                    result.requests.append({"line": line, "key": key, "outcome": "unknown"})
                    return
                if action.creates and self._reconcile(key, record, result, since=self.started):
                    return
                if attempt > MAX_UNKNOWN_RESENDS:
                    result.unknown += 1
                    self._reject_api(key, record, raw, line, None,
                                     f"outcome unknown after {attempt} attempts (timeouts); not found on lookup",
                                     result)
                    return
                continue
            except AuthError:
                raise  # the whole run is refused, not this record
            except ApiError as exc:  # 4xx (422, 404...) or a 5xx/429 that outlasted the retries
                self._capture(key, exc.status, exc.body)
                self._reject_api(key, record, raw, line, exc, exc.reason, result)
                if test:
                    result.requests.append({"line": line, "key": key, "status": exc.status, "body": exc.body})
                return
            except TransportError as exc:
                self._reject_api(key, record, raw, line, None, str(exc), result)
                return
            body = _body(response)
            remote_id = dig(body, action.id_path) if action.id_path else None
            self.store.ledger_put(self.connection, action.name, key, "done",
                                  remote_id=None if remote_id is None else str(remote_id),
                                  response={"status": response.status_code, "body": body})
            self._capture(key, response.status_code, body)
            result.done += 1
            if test:
                result.requests.append({"line": line, "key": key, "status": response.status_code,
                                        "location": response.headers.get("location"), "body": body})
            return

    def _reconcile(self, key: str, record: dict[str, Any], result: PushResult, since: float | None = None) -> bool:
        """Look up whether an earlier send took effect; mark it done if so.

        ``since`` (server time) is given when the send was made by this run, so a lookup can tell the
        resource it just created from an identical older one (APIs that never deduplicate need that).
        """
        if self.action.reconcile is None:
            return False
        found = self.action.reconcile(self.client, record, since=since)
        if found is None:
            return False
        remote_id = dig(found, self.action.id_path) if self.action.id_path else None
        self.store.ledger_put(self.connection, self.action.name, key, "done",
                              remote_id=None if remote_id is None else str(remote_id),
                              response={"reconciled": True, "body": found})
        result.reconciled += 1
        result.done += 1
        return True

    # -- outcomes --------------------------------------------------------------------------------
    def _reject_local(self, key: str | None, raw: dict[str, Any], line: int, problems: list[tuple[str, str]],
                      result: PushResult, dry_run: bool) -> None:
        result.rejected_locally += 1
        if dry_run:
            result.requests.append({"line": line, "rejected": [f"{f} {r}" for f, r in problems]})
            return
        if key is None:  # the mapping itself failed: key the reject by line and content
            key = "line:" + hashlib.sha256(json.dumps(raw, sort_keys=True, default=str).encode()).hexdigest()[:24]
        if self.store.has_open_reject(self.connection, self.action.name, key):
            return  # filed by an earlier run; still open
        for field_name, reason in problems:
            self.store.reject(self.connection, self.action.name, key, {"line": line, "record": raw}, field_name,
                              f"line {line}: {field_name} {reason}")

    def _reject_api(self, key: str, record: dict[str, Any], raw: dict[str, Any], line: int, exc: ApiError | None,
                    reason: str, result: PushResult) -> None:
        result.rejected_by_api += 1
        self.store.ledger_put(self.connection, self.action.name, key, "rejected")
        messages = exc.messages if exc is not None and exc.messages else [reason]
        for message in messages:
            self.store.reject(self.connection, self.action.name, key, {"line": line, "record": raw},
                              _field_of(message, record, self.action), f"line {line}: {message}")

    def _capture(self, key: str, status: int, body: Any) -> None:
        if self.capture:
            self.store.capture_response(self.connection, self.action.name, key, status, body)


def _body(response: Any) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return response.text


def retry_rejects(pusher: Pusher, store: Store) -> PushResult:
    """Send open rejects of the pusher's action again (after the source data or mapping was fixed)."""
    rejects = list(store.rejects(pusher.connection, pusher.action.name, status="open"))
    by_key: dict[str | None, Any] = {}
    for item in rejects:
        by_key.setdefault(item.key, item)
    rows: Iterator[tuple[int, dict[str, Any]]] = (
        (int(r.record.get("line", 0)), r.record.get("record", {})) for r in by_key.values())
    for item in rejects:
        store.mark_reject_retried(item.id)
    for item in by_key.values():
        if item.key is not None:
            store.ledger_put(pusher.connection, pusher.action.name, item.key, "unknown")
    return pusher.run(rows)
