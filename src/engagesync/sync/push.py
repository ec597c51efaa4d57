"""Push: records -> an action, duplicate-safe, with rejects, response capture, previews and test sends.

For every record: map, prepare, validate locally (bad rows become rejects naming field and reason,
and are never sent), then consult the ledger by the record's key:
- ``done``: already pushed by an earlier run; skipped.
- ``sent``/``unknown``: an earlier run crashed or timed out after sending; for a create the outcome
  is looked up (``reconcile``) before anything is sent again, so nothing is created twice.
The ledger row is written (``sent``) *before* the request goes out, so a crash at any point leaves a
trail the next run can reconcile.

Only a refusal (local validation, or the API's 4xx with a reason) is a reject. An outage (no
connection, timeouts, 5xx or 429 after the retry budget, a reconcile lookup that fails) stops the push
with the typed client error: records not sent are left ``pending``, records that may have been sent
``unknown``, so a re-run sends the former and reconciles the latter first.
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import json
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ..client.actions import ActionSpec, Sent, dig
from ..client.errors import (
    ApiError,
    AuthError,
    EngageSyncError,
    OutcomeUnknown,
    ServerError,
    TransportError,
)
from ..client.http import ApiClient
from .collect import collect
from .mapping import Mapping, MappingError
from .push_records import (
    Item,
    PushResult,
    batches,
    entry_for,
    field_of,
    is_outage,
    lookup_keys,
    payload_key,
    record_key,
    response_body,
)
from .push_writes import PushWrites
from .store import LedgerEntry, LedgerWrite, RejectWrite, ResponseWrite, Store

__all__ = [
    "BATCH_SIZE",
    "MAX_UNKNOWN_RESENDS",
    "Progress",
    "PushResult",
    "Pusher",
    "is_outage",
    "payload_key",
    "record_key",
]

#: How many times a create whose outcome stays unknown (and cannot be found) is sent again.
MAX_UNKNOWN_RESENDS = 3

Progress = Callable[[str, dict[str, Any]], None]
#: Records per batch: their ledger rows, responses and rejects are written in one transaction each.
BATCH_SIZE = 100


class Pusher:
    """Pushes records through one action.

    Records go in batches: one transaction marks a batch's records ``sent`` in the ledger, the
    requests go out (``concurrency`` at a time, all under the shared rate budget), and one more
    transaction records the outcomes. A crash between the two leaves ``sent`` rows that the next run
    reconciles before sending again, exactly as a crash between one record's two writes would.

    The outcomes' transaction (the costlier one) is off the critical path: ``PushWrites`` writes a
    batch's outcomes on a thread of its own while the next batch's requests go out, in order.
    """

    def __init__(
        self,
        client: ApiClient,
        connection: str,
        action: ActionSpec,
        store: Store,
        mapping: Mapping | None = None,
        key_field: str | None = None,
        progress: Progress | None = None,
        capture: bool = True,
        batch_size: int = BATCH_SIZE,
        concurrency: int = 1,
        force: bool = False,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch size must be at least 1, not {batch_size}")
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, not {concurrency}")
        self.client = client
        self.connection = connection
        self.action = action
        self.store = store
        self.mapping = mapping or Mapping()
        self.key_field = key_field
        self.progress = progress
        self.capture = capture
        self.batch_size = batch_size
        self.concurrency = concurrency
        #: Send records the API rejected before even if unchanged (``rejects --retry``).
        self.force = force
        #: The last run's counts, also when it stopped on an error (the CLI reports them).
        self.result = PushResult(action.name)
        # set on the first outage: requests not yet made are not made (they stay pending)
        self._stop = threading.Event()
        self._claims = action.reconcile is not None and "claimed" in inspect.signature(action.reconcile).parameters
        self._batch_items = action.send_batch is not None and "keys" in inspect.signature(action.send_batch).parameters
        self.started = client.budget.sync.midpoint(time.time())
        self._writes = PushWrites(store, connection, action.name)

    # -- settings --------------------------------------------------------------------------------
    def settings(self) -> dict[str, Any]:
        """What this pusher was made with, stored with its run so ``rejects --retry`` can reuse it."""
        passthrough = self.mapping.passthrough
        return {
            "action": self.action.name,
            "map": [f"{rule.target}={rule.expr}" for rule in self.mapping.rules],
            "passthrough": None if passthrough is None else sorted(passthrough),
            "key": self.key_field,
            "batch_size": self.batch_size,
            "concurrency": self.concurrency,
            "capture": self.capture,
        }

    def with_settings(self, settings: dict[str, Any], *, force: bool = False) -> Pusher:
        """A pusher for the same client, action and store, with a stored run's settings."""
        return Pusher(
            self.client,
            self.connection,
            self.action,
            self.store,
            mapping=Mapping.parse(settings.get("map") or [], passthrough=settings.get("passthrough")),
            key_field=settings.get("key"),
            progress=self.progress,
            capture=bool(settings.get("capture", True)),
            batch_size=int(settings.get("batch_size") or BATCH_SIZE),
            concurrency=int(settings.get("concurrency") or 1),
            force=force,
        )

    # -- entry points ----------------------------------------------------------------------------
    def run(
        self,
        rows: Iterable[tuple[int, dict[str, Any]]],
        dry_run: bool = False,
        test: bool = False,
        limit: int | None = None,
    ) -> PushResult:
        result = self.result = PushResult(self.action.name)
        self._stop.clear()
        began = time.perf_counter()
        run_id = None if dry_run else self.store.run_start(self.connection, "push", self.action.name, self.settings())
        self._writes.run_id = run_id
        status = "failed"
        try:
            if dry_run or test:
                self._previews(rows, result, dry_run=dry_run, test=test, limit=limit)
            else:
                self._writes.start_writer()
                for done, batch in enumerate(batches(rows, self.batch_size, limit), start=1):
                    self._batch(batch, result)
                    self._report(result)
                    collect(done)  # the batch's responses are garbage now; a long push stays flat
            self._writes.flush()  # also waits for the writer: the summary comes after every write is committed
            status = "complete"
        finally:
            if status != "complete":
                with contextlib.suppress(Exception):  # keep what is known; never hide the real error
                    self._writes.flush()
            self._writes.stop_writer()  # idle: the flush waited for it
            result.elapsed = time.perf_counter() - began
            if run_id is not None:
                self.store.run_finish(run_id, status, result.to_dict())
        return result

    def _report(self, result: PushResult) -> None:
        if self.progress:
            self.progress("record", {"read": result.read, "done": result.done, "rejected": result.rejected})

    def _previews(
        self,
        rows: Iterable[tuple[int, dict[str, Any]]],
        result: PushResult,
        *,
        dry_run: bool,
        test: bool,
        limit: int | None,
    ) -> None:
        """``--dry-run`` (every request, nothing sent) and ``--test`` (the first valid record, once)."""
        for line, raw in rows:
            if limit is not None and result.read >= limit:
                break
            result.read += 1
            item = self._prepare(line, raw, result, dry_run=dry_run)
            if item is None:
                if test and result.rejected:
                    break
                continue
            if dry_run:
                preview = item.request.describe(self.client.safe_url(self.client.base_url))
                result.preview({"line": line, "key": item.key, **preview})
                self._report(result)
                continue
            entries = self.store.ledger_get_many(self.connection, self.action.name, lookup_keys([item]))
            if self._settled(entry_for(entries, item), item, result):
                continue  # already pushed: test the next record instead
            if self._resolve(item, result):
                self._send(item, result, test=True)
            self._writes.flush()
            break

    # -- one record ------------------------------------------------------------------------------
    def _prepare(self, line: int, raw: dict[str, Any], result: PushResult, *, dry_run: bool = False) -> Item | None:
        """Map, coerce and validate; a row that fails becomes a local reject (never sent)."""
        action = self.action
        key: str | None = None
        try:
            if self.key_field is None or self.key_field in raw:  # known before mapping: a bad map keeps it
                key = record_key({}, self.key_field, raw)
            record = action.prepare(self.mapping.apply(raw))
            key = key or record_key(record, self.key_field, raw)
        except MappingError as exc:
            self._reject_local(key, raw, line, [(exc.field, exc.reason)], result, dry_run)
            return None
        problems = action.validate(record)
        if problems:
            self._reject_local(key, raw, line, problems, result, dry_run)
            return None
        item = Item(line, raw, record, key, action.build(record))
        if self.key_field is None:
            item.legacy_key = item.fingerprint
        return item

    def _settled(self, entry: LedgerEntry | None, item: Item, result: PushResult) -> bool:
        """Whether the ledger says this record needs no send: done, rejected, or found by reconciling."""
        if entry is None:
            return False
        if entry.status == "done":
            result.skipped += 1
            if self.force:  # a retried reject whose record is done after all: close it
                self._writes.ledger.append(LedgerWrite(item.key, "done"))
            return True
        if entry.status == "rejected":
            # the same payload would be refused again (`rejects --retry` forces it); a changed one goes
            sent = entry.request.get("fingerprint") if isinstance(entry.request, dict) else None
            if not self.force and sent in (None, item.fingerprint):
                result.skipped += 1
                return True
            return False
        return (
            entry.status in ("sent", "unknown")
            and self.action.creates
            and self._reconcile(item.key, item.record, result)
        )

    def _resolve(self, item: Item, result: PushResult) -> bool:
        """An upsert looks its target up now (a dry run shows the create); False if that failed."""
        if self.action.resolve is None:
            return True
        try:
            item.request = self.action.resolve(self.client, item.record)
        except AuthError:
            raise
        except ApiError as exc:
            if is_outage(exc):
                raise  # the lookup failed, not the record: stop (nothing of it was sent)
            self._reject_api(item.key, item.record, item.raw, item.line, exc, exc.reason, result)
            return False
        return True

    # -- a batch -----------------------------------------------------------------------------------
    def _batch(self, rows: list[tuple[int, dict[str, Any]]], result: PushResult) -> None:
        items: list[Item] = []
        seen: set[str] = set()
        for line, raw in rows:
            result.read += 1
            item = self._prepare(line, raw, result)
            if item is None:
                continue
            if item.key in seen:  # the same record twice in one batch: the first one pushes it
                result.skipped += 1
                continue
            seen.add(item.key)
            items.append(item)
        keys = lookup_keys(items)
        if self._writes.unwritten.intersection(keys):  # a record of a batch whose outcomes are not written
            self._writes.drain()
        entries = self.store.ledger_get_many(self.connection, self.action.name, keys)
        todo = [
            item
            for item in items
            if not self._settled(entry_for(entries, item), item, result) and self._resolve(item, result)
        ]
        for item in todo:
            self._mark_sent(item, result, new=item.key not in entries)
        self._writes.commit_marks()  # local rejects and the whole batch's "sent" marks, before anything goes out
        if not todo:
            return
        outcomes = self._send_all(todo)
        unknown: list[Item] = []
        stop: EngageSyncError | None = None
        for item, outcome in zip(todo, outcomes, strict=True):
            if isinstance(outcome, OutcomeUnknown):
                self._writes.ledger.append(LedgerWrite(item.key, "unknown"))
                unknown.append(item)
            elif isinstance(outcome, AuthError) or is_outage(outcome):
                self._unsettled(item, outcome, result)
                if stop is None or isinstance(outcome, AuthError):
                    stop = outcome  # a refused credential says more than the outage it caused
            else:
                self._settle(item, outcome, result)
        if stop is None and not unknown:
            self._writes.hold()  # written while the next batch's requests go out
        else:
            self._writes.flush()
        if stop is not None:
            raise stop  # the whole run is refused or the API is down, not one record
        for item in unknown:  # rare: look each one up, then send again if it never arrived
            if not (self.action.creates and self._reconcile(item.key, item.record, result, since=self.started)):
                self._send(item, result, test=False, first_attempt=2)

    def _send_all(self, items: list[Item]) -> list[Any]:
        """Each item's response or the exception its request ended with, in the items' order."""
        if self.action.send_batch is not None:  # the whole batch in one request (split over workers)
            size = -(-len(items) // self.concurrency)
            chunks = [items[i : i + size] for i in range(0, len(items), size)]
            if len(chunks) == 1:
                return self._send_batch(items, retry=True)
            with ThreadPoolExecutor(max_workers=len(chunks), thread_name_prefix="push") as pool:
                return [o for chunk in pool.map(lambda c: self._send_batch(c, retry=True), chunks) for o in chunk]
        if self.concurrency == 1 or len(items) == 1:
            return [self._request(item, retry=True) for item in items]
        with ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="push") as pool:
            return list(pool.map(lambda item: self._request(item, retry=True), items))

    def _send_batch(self, items: list[Item], *, retry: bool) -> list[Any]:
        """The action's batch sender: one outcome per item (a failure of the whole request, for each)."""
        assert self.action.send_batch is not None
        extra: dict[str, Any] = {}
        if self._batch_items:  # a destination's sender records each call's response under the records' keys
            extra = {"keys": [i.key for i in items], "requests": [i.request for i in items]}
        try:
            outcomes = list(self.action.send_batch(self.client, [i.record for i in items], retry=retry, **extra))
        except (ApiError, TransportError) as exc:
            return [exc] * len(items)
        if len(outcomes) != len(items):
            raise RuntimeError(f"{self.action.name}: send_batch answered {len(outcomes)} outcomes for {len(items)}")
        return outcomes

    def _request(self, item: Item, *, retry: bool) -> Any:
        request = item.request
        if self._stop.is_set():  # an earlier request of this batch found the API down
            return TransportError("not sent: the API could not be reached", request.method, "", maybe_sent=False)
        if self.action.send_batch is not None:
            outcome = self._send_batch([item], retry=retry)[0]
        else:
            try:
                outcome = self.client.request(
                    request.method,
                    request.path,
                    json=request.json,
                    idempotent=not self.action.creates,
                    retry=retry,
                    content=request.content,
                    headers=request.headers,
                )
            except (ApiError, TransportError) as exc:
                outcome = exc
        if isinstance(outcome, AuthError) or (is_outage(outcome) and not isinstance(outcome, OutcomeUnknown)):
            self._stop.set()
        return outcome

    def _mark_sent(self, item: Item, result: PushResult, *, new: bool = False) -> None:
        """``new``: the batch's lookup found no entry for the key (it is inserted without another)."""
        request = {**item.request.describe(""), "fingerprint": item.fingerprint}
        self._writes.ledger.append(LedgerWrite(item.key, "sent", request=request, attempt=True, new=new))
        result.sent += 1

    def _unsettled(self, item: Item, error: Any, result: PushResult) -> None:
        """A record the push stopped on: ``pending`` if nothing reached the API, else ``unknown``."""
        maybe_sent = (isinstance(error, TransportError) and error.maybe_sent) or isinstance(error, ServerError)
        self._writes.ledger.append(LedgerWrite(item.key, "unknown" if maybe_sent else "pending"))
        if maybe_sent:
            result.unknown += 1

    def _settle(self, item: Item, outcome: Any, result: PushResult, test: bool = False) -> None:
        """Record a final outcome: the response (done), or the vendor's refusal (reject)."""
        line, key = item.line, item.key
        if isinstance(outcome, ApiError):  # 4xx (422, 404...) or a 5xx/429 that outlasted the retries
            self._capture(key, outcome.status, outcome.body)
            self._reject_api(key, item.record, item.raw, line, outcome, outcome.reason, result)
            if test:
                result.preview({"line": line, "key": key, "status": outcome.status, "body": outcome.body})
            return
        if isinstance(outcome, Sent):  # one record's part of a batched request
            body, status, location = outcome.body, outcome.status, None
        else:
            body, status, location = response_body(outcome), outcome.status_code, outcome.headers.get("location")
        remote_id = dig(body, self.action.id_path) if self.action.id_path else None
        self._writes.ledger.append(
            LedgerWrite(
                key,
                "done",
                remote_id=None if remote_id is None else str(remote_id),
                response={"status": status, "body": body},
            )
        )
        self._capture(key, status, body)
        result.done += 1
        if test:
            result.preview({"line": line, "key": key, "status": status, "location": location, "body": body})

    def _send(self, item: Item, result: PushResult, *, test: bool, first_attempt: int = 1) -> None:
        """Send one record until its outcome is known (a timeout is looked up before sending again)."""
        last: OutcomeUnknown | None = None
        for attempt in range(first_attempt, MAX_UNKNOWN_RESENDS + 2):
            self._mark_sent(item, result)
            self._writes.flush()
            outcome = self._request(item, retry=not test)
            if isinstance(outcome, AuthError) or (is_outage(outcome) and not isinstance(outcome, OutcomeUnknown)):
                self._unsettled(item, outcome, result)
                self._writes.flush()
                raise outcome
            if not isinstance(outcome, OutcomeUnknown):
                self._settle(item, outcome, result, test=test)
                self._writes.flush()
                return
            last = outcome
            self.store.ledger_put(self.connection, self.action.name, item.key, "unknown")
            if test:
                result.unknown += 1
                result.preview({"line": item.line, "key": item.key, "outcome": "unknown"})
                return
            if self.action.creates and self._reconcile(item.key, item.record, result, since=self.started):
                return
            if attempt > MAX_UNKNOWN_RESENDS:
                break
        # the API keeps failing after the request went out: an outage, not a refusal. The record stays
        # `unknown` (the ledger says so already): the next run looks it up before sending it again.
        result.unknown += 1
        assert last is not None
        raise last

    def _reconcile(self, key: str, record: dict[str, Any], result: PushResult, since: float | None = None) -> bool:
        """Look up whether an earlier send took effect; mark it done if so.

        ``since`` (server time) is given when the send was made by this run, so a lookup can tell the
        resource it just created from an identical older one (APIs that never deduplicate need that).
        A resource whose id the ledger holds for another record is never claimed (two identical
        records: the second's lost send is not the first's success). A lookup that fails raises (the
        record stays ``sent``/``unknown`` for the next run).
        """
        if self.action.reconcile is None:
            return False
        self._writes.drain()  # whether another record holds what it finds is in the outcomes not yet written

        def claimed(remote_id: Any) -> bool:
            return self.store.ledger_holder(self.connection, self.action.name, str(remote_id), key) is not None

        extra = {"claimed": claimed} if self._claims else {}
        found = self.action.reconcile(self.client, record, since=since, **extra)
        if found is None:
            return False
        remote_id = dig(found, self.action.id_path) if self.action.id_path else None
        if remote_id is not None and claimed(remote_id):
            return False
        self.store.ledger_put(
            self.connection,
            self.action.name,
            key,
            "done",
            remote_id=None if remote_id is None else str(remote_id),
            response={"reconciled": True, "body": found},
        )
        result.reconciled += 1
        result.done += 1
        return True

    # -- outcomes --------------------------------------------------------------------------------
    def _reject_local(
        self,
        key: str | None,
        raw: dict[str, Any],
        line: int,
        problems: list[tuple[str, str]],
        result: PushResult,
        dry_run: bool,
    ) -> None:
        result.rejected_locally += 1
        if dry_run:
            result.preview({"line": line, "rejected": [f"{f} {r}" for f, r in problems]})
            return
        if key is None:  # the mapping itself failed: key the reject by line and content
            key = "line:" + hashlib.sha256(json.dumps(raw, sort_keys=True, default=str).encode()).hexdigest()[:24]
        if key in self._writes.unwritten:
            self._writes.drain()
        if self.store.has_open_reject(self.connection, self.action.name, key):
            return  # filed by an earlier run; still open
        for field_name, reason in problems:
            self._writes.rejects.append(
                RejectWrite(key, {"line": line, "record": raw}, field_name, f"line {line}: {field_name} {reason}")
            )

    def _reject_api(
        self,
        key: str,
        record: dict[str, Any],
        raw: dict[str, Any],
        line: int,
        exc: ApiError | None,
        reason: str,
        result: PushResult,
    ) -> None:
        result.rejected_by_api += 1
        self._writes.ledger.append(LedgerWrite(key, "rejected"))
        messages = exc.messages if exc is not None and exc.messages else [reason]
        named = exc.fields if exc is not None else []
        for i, message in enumerate(messages):
            # the connector's word on the field wins; else guess it from a Rails-style message
            about = (named[i] if i < len(named) else None) or field_of(message, record, self.action)
            self._writes.rejects.append(
                RejectWrite(key, {"line": line, "record": raw}, about, f"line {line}: {message}")
            )

    def _capture(self, key: str, status: int, body: Any) -> None:
        if self.capture:
            self._writes.responses.append(ResponseWrite(key, status, body))
