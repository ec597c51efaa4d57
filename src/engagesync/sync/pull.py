"""Pull: every selected stream of a connection, page by page, into the store; resumable at any moment.

Each page's upserts and the stream's cursor commit in one transaction (``Store.commit_page``), so a
pull that raises or is killed at any point resumes from the last committed page: nothing is lost (the
cursor never runs ahead of the data) and nothing is duplicated (rows are upserted by primary key).

State semantics (what ``_engagesync.state`` holds for a stream):

- no row: never pulled (or reset) -> the next pull starts from the beginning (``pages(client, None)``);
- ``{"cursor": {...}, "pass": {...}}``: a pass is in progress -> the next pull resumes from that cursor,
  in the same mode (``pass``: when it started, whether it is a full refresh, which parents it covers);
- ``{"complete": true, "last": {...} | null, "completed_at": "...", "pass": {...}}``: the last pass
  finished. The next pull starts a fresh pass from the beginning and writes only the records whose
  content changed (``Store.commit_page`` compares content hashes). A stream that can do an
  incremental pass instead may define ``restart_state(last) -> state | None``: the next pass then
  starts from what it returns.

Incremental children: a child stream (``spec.parent``) that defines ``pages_of_parents(client, state,
keys)`` is, after one complete pass, asked only for the parents whose rows were written (new or
changed) since its last pass started: the store knows them (``_synced_at``), no API is named here.

Full refresh (``full_refresh=True``): every stream starts from the beginning (no ``restart_state``, no
parent filtering), every record read is stamped seen, and on the pass's last page the rows not seen
since the pass started get ``_deleted_at`` (tombstones; rows are never deleted).

A pass is complete when the stream yields a page whose ``state`` is ``None`` (or simply ends).
"""

from __future__ import annotations

import contextlib
import gc
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from engagesync.client.errors import AuthError, TransportError
from engagesync.client.http import ApiClient
from engagesync.client.streams import Page, Stream, StreamSpec

from .collect import collect
from .store import Store, utcnow

Progress = Callable[[str, int, int], None]


class PullError(Exception):
    """A stream failed; what was committed before the failure stays and the next pull resumes from it."""

    def __init__(self, stream: str, cause: BaseException, result: PullResult) -> None:
        self.stream = stream
        self.result = result
        super().__init__(f"pulling {stream!r} failed: {type(cause).__name__}: {cause}")


@dataclass
class StreamResult:
    name: str
    #: Records read; of those, ``new`` and ``changed`` were written, ``unchanged`` were not.
    records: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    pages: int = 0
    requests: int = 0
    elapsed: float = 0.0
    #: ``complete``, ``failed`` or ``skipped`` (a parent failed).
    status: str = "running"
    #: Whether this run resumed an interrupted pass (rather than starting one).
    resumed: bool = False
    error: str | None = None
    #: The exception that failed the stream (not stored; the CLI picks its exit code from it).
    cause: BaseException | None = field(default=None, repr=False, compare=False)

    def counts(self) -> dict[str, Any]:
        return {
            "records": self.records,
            "new": self.new,
            "changed": self.changed,
            "unchanged": self.unchanged,
            "pages": self.pages,
            "requests": self.requests,
            "elapsed": round(self.elapsed, 3),
            "resumed": self.resumed,
        }


@dataclass
class PullResult:
    connection: str
    streams: dict[str, StreamResult] = field(default_factory=dict)
    elapsed: float = 0.0

    @property
    def ok(self) -> bool:
        return all(s.status == "complete" for s in self.streams.values())

    @property
    def stopped_by(self) -> BaseException | None:
        """The error that ended the whole run early (API unreachable, credential refused), if any."""
        return next((s.cause for s in self.streams.values() if s.cause is not None and stops_run(s.cause)), None)

    @property
    def records(self) -> int:
        return sum(s.records for s in self.streams.values())

    @property
    def written(self) -> int:
        """Rows written (new or changed) over all streams."""
        return sum(s.new + s.changed for s in self.streams.values())

    @property
    def pages(self) -> int:
        return sum(s.pages for s in self.streams.values())

    @property
    def requests(self) -> int:
        return sum(s.requests for s in self.streams.values())


def stops_run(exc: BaseException) -> bool:
    """Whether no other stream can succeed after ``exc``: the API is unreachable (after the client's
    retries) or refused the credential outright (401; a 403 may concern one resource only)."""
    return isinstance(exc, TransportError) or (isinstance(exc, AuthError) and exc.status == 401)


def order_streams(streams: Mapping[str, Stream], names: Iterable[str] | None = None) -> list[str]:
    """The selected stream names (all if ``names`` is None), each parent before its children."""
    selected = list(dict.fromkeys(names)) if names is not None else list(streams)
    unknown = [n for n in selected if n not in streams]
    if unknown:
        raise KeyError(f"unknown stream(s) {', '.join(map(repr, unknown))}; available: {', '.join(streams)}")
    chosen = set(selected)
    ordered: list[str] = []
    visiting: set[str] = set()

    def visit(name: str) -> None:
        if name in ordered:
            return
        if name in visiting:
            raise ValueError(f"stream parents form a cycle at {name!r}")
        visiting.add(name)
        parent = streams[name].spec.parent
        if parent is not None and parent in chosen:
            visit(parent)
        visiting.discard(name)
        ordered.append(name)

    for name in selected:
        visit(name)
    return ordered


def start_state(stream: Stream, stored: dict[str, Any] | None) -> tuple[dict[str, Any] | None, bool]:
    """The state to pass to ``pages()`` given the stored one, and whether that is a resume."""
    if not stored:
        return None, False
    if stored.get("complete"):
        restart = getattr(stream, "restart_state", None)
        return (restart(stored.get("last")) if callable(restart) else None), False
    cursor = stored.get("cursor")
    return (cursor if isinstance(cursor, dict) else None), cursor is not None


@dataclass
class _Pass:
    """How one pass of a stream runs: when it started (ISO), whether it is a full refresh, and, for an
    incremental child, the time since which changed parents are fetched (``None``: all parents)."""

    started: str
    full: bool = False
    parents_since: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"started": self.started, "full": self.full, "parents_since": self.parents_since}


def plan_pass(
    stream: Stream, stored: dict[str, Any] | None, full_refresh: bool, parent_ready: bool
) -> tuple[dict[str, Any] | None, bool, _Pass]:
    """The state to start from, whether that is a resume, and the pass's mode.

    An interrupted pass resumes in its own mode (a full refresh stays one, so its sweep is right),
    unless ``full_refresh`` asks for one and the interrupted pass was not.
    """
    now = utcnow().isoformat()
    held: dict[str, Any] = stored or {}
    previous: dict[str, Any] = held["pass"] if isinstance(held.get("pass"), dict) else {}
    cursor = held.get("cursor")
    if not held.get("complete") and isinstance(cursor, dict) and (previous.get("full") or not full_refresh):
        return (
            cursor,
            True,
            _Pass(str(previous.get("started") or now), bool(previous.get("full")), previous.get("parents_since")),
        )
    if full_refresh:
        return None, False, _Pass(now, full=True)
    state, _ = start_state(stream, stored)
    since = None
    if (
        held.get("complete")
        and previous.get("started")
        and parent_ready
        and callable(getattr(stream, "pages_of_parents", None))
    ):
        since = str(previous["started"])
    return state, False, _Pass(now, parents_since=since)


#: Pages are committed together once they hold this many records or this much time has passed: each
#: commit still writes records and cursor in one transaction, but DuckDB's fixed cost per transaction
#: is paid per batch rather than per 50-record page.
COMMIT_RECORDS = 2000
COMMIT_SECONDS = 1.0
#: Pages fetched ahead while the previous ones are committed (bounded: memory stays flat).
PREFETCH_PAGES = 64


def pull(
    client: ApiClient,
    connection: str,
    streams: Mapping[str, Stream],
    names: list[str] | None,
    store: Store,
    progress: Progress | None = None,
    *,
    keep_going: bool = False,
    commit_records: int = COMMIT_RECORDS,
    commit_seconds: float = COMMIT_SECONDS,
    full_refresh: bool = False,
) -> PullResult:
    """Pull the selected streams (all when ``names`` is None) of ``connection`` into ``store``.

    On a stream's failure the run is recorded as failed and ``PullError`` is raised (carrying the partial
    result), unless ``keep_going``: then the remaining streams run (children of a failed stream are
    skipped) and the failures are in the result.
    """
    started = time.perf_counter()
    result = PullResult(connection)
    failed: set[str] = set()
    stopped: str | None = None
    for name in order_streams(streams, names):
        stream = streams[name]
        outcome = result.streams[name] = StreamResult(name)
        if stopped is not None:
            outcome.status, outcome.error = "skipped", f"not pulled: stream {stopped!r} {_why_stopped(result)}"
            continue
        parent = stream.spec.parent
        if parent is not None and parent in failed:
            outcome.status, outcome.error = "skipped", f"parent stream {parent!r} failed"
            failed.add(name)
            continue
        run_id = store.run_start(connection, "pull", name)
        try:
            parent_spec = streams[parent].spec if parent is not None and parent in streams else None
            _pull_stream(
                client,
                connection,
                stream,
                store,
                outcome,
                progress,
                commit_records,
                commit_seconds,
                full_refresh=full_refresh,
                parent_spec=parent_spec,
            )
        except BaseException as exc:  # KeyboardInterrupt too: record it, committed pages stay
            outcome.status, outcome.error = "failed", f"{type(exc).__name__}: {exc}"
            outcome.cause = exc
            failed.add(name)
            _finish(store, run_id, outcome)
            result.elapsed = time.perf_counter() - started
            if keep_going and isinstance(exc, Exception):
                if stops_run(exc):  # every other stream would wait out the same timeouts or refusal
                    stopped = name
                continue
            if isinstance(exc, Exception):
                raise PullError(name, exc, result) from exc
            raise
        outcome.status = "complete"
        _finish(store, run_id, outcome)
    result.elapsed = time.perf_counter() - started
    return result


def _why_stopped(result: PullResult) -> str:
    cause = result.stopped_by
    return "found the credential refused" if isinstance(cause, AuthError) else "found the API unreachable"


def _finish(store: Store, run_id: int, outcome: StreamResult) -> None:
    with contextlib.suppress(Exception):  # bookkeeping must never hide the real outcome
        store.run_finish(run_id, outcome.status, {**outcome.counts(), "error": outcome.error})


def _pull_stream(
    client: ApiClient,
    connection: str,
    stream: Stream,
    store: Store,
    outcome: StreamResult,
    progress: Progress | None,
    commit_records: int,
    commit_seconds: float,
    *,
    full_refresh: bool = False,
    parent_spec: StreamSpec | None = None,
) -> None:
    spec = stream.spec
    t0 = time.perf_counter()
    store.ensure_table(connection, spec)
    parent_ready = parent_spec is not None and bool(
        (store.get_state(connection, parent_spec.name) or {}).get("complete")
    )
    state, outcome.resumed, mode = plan_pass(stream, store.get_state(connection, spec.name), full_refresh, parent_ready)
    source: Iterator[Page]
    if mode.parents_since is not None and parent_spec is not None:
        since = datetime.fromisoformat(mode.parents_since)
        keys = store.changed_keys(connection, parent_spec, since)
        source = stream.pages_of_parents(client, state, keys)  # type: ignore[attr-defined]
    else:
        source = stream.pages(client, state)
    last = state
    started = datetime.fromisoformat(mode.started)
    # the pass is recorded where the next one needs it: a full refresh resumes as one, and an
    # incremental child takes the parents changed since this pass started
    keep_pass = mode.full or callable(getattr(stream, "pages_of_parents", None))
    pending: list[dict[str, Any]] = []
    pending_pages = pending_requests = commits = 0
    flushed_at = time.perf_counter()

    def flush(stored: dict[str, Any]) -> None:
        nonlocal pending, pending_pages, pending_requests, flushed_at, commits
        final = bool(stored.get("complete"))
        wrote = store.commit_page(
            connection,
            spec,
            pending,
            {**stored, "pass": mode.to_json()} if keep_pass else stored,
            seen=mode.full,
            sweep_before=started if mode.full and final else None,
        )
        outcome.records += len(pending)
        outcome.new += wrote.new
        outcome.changed += wrote.changed
        outcome.unchanged += wrote.unchanged
        outcome.pages += pending_pages
        outcome.requests += pending_requests
        outcome.elapsed = time.perf_counter() - t0
        pending, pending_pages, pending_requests = [], 0, 0
        commits += 1
        collect(commits)
        flushed_at = time.perf_counter()
        if progress is not None:
            progress(spec.name, outcome.records, outcome.pages)

    with _pipelined(), _Prefetcher(source, PREFETCH_PAGES) as fetcher:
        while True:
            # wait for a commit's worth of records, or the commit interval once records are waiting
            pages, error, ended = fetcher.take(
                max(1, commit_records - len(pending)), flushed_at + commit_seconds, waiting=bool(pending)
            )
            for page in pages:
                pending.extend(page.records)
                pending_pages += 1
                pending_requests += page.requests
                if page.state is None:
                    ended = True
                    break
                last = page.state
                if len(pending) >= commit_records:
                    flush({"cursor": last})
            if ended:  # a final ``state=None`` page, or the stream simply ended
                flush(_complete(last))
                break
            if error is not None:
                if pending:  # the source failed: keep every page that did arrive, then report
                    flush({"cursor": last})
                raise error
            if pending and time.perf_counter() - flushed_at >= commit_seconds:
                flush({"cursor": last})
    outcome.elapsed = time.perf_counter() - t0


#: The interpreter's thread switch interval while a pull runs (Python's default is 5 ms).
SWITCH_INTERVAL = 0.0002
_tuning_lock = threading.Lock()
_tuned = 0
_tuned_from: tuple[float, bool] = (0.005, True)


@contextlib.contextmanager
def _pipelined() -> Iterator[None]:
    """While any pull runs: a short thread switch interval, and cyclic garbage collected after commits.

    The fetching thread is the pull's critical path and the committing thread competes with it for
    the GIL. With Python's 5 ms switch interval the fetcher, back from the network, waits up to 5 ms
    for the committer's Python work at every page. The automatic collector runs every few hundred
    allocations, mostly in the fetcher, walking the records queued for the next commit again and
    again; instead the committer collects once per commit (``collect``), and what existed before the
    pull is frozen out of those walks. (Collection is still needed: every request leaves a reference
    cycle in httpx that holds its response.) The settings are process-wide: they are restored when the
    last of the process's concurrent pulls ends.
    """
    global _tuned, _tuned_from
    with _tuning_lock:
        if _tuned == 0:
            _tuned_from = (sys.getswitchinterval(), gc.isenabled())
            sys.setswitchinterval(min(SWITCH_INTERVAL, _tuned_from[0]))
            gc.disable()
            gc.freeze()
        _tuned += 1
    try:
        yield
    finally:
        with _tuning_lock:
            _tuned -= 1
            if _tuned == 0:
                gc.unfreeze()
                sys.setswitchinterval(_tuned_from[0])
                if _tuned_from[1]:
                    gc.enable()


class _Prefetcher:
    """Run a page generator in a worker thread, at most ``depth`` pages ahead of the consumer.

    Fetching (network) and committing (DuckDB, which releases the GIL) then overlap. The consumer
    takes the waiting pages in one go when a commit's worth of records is there (or the stream ended
    or failed, the queue is full, or its wait is over), not page by page: every wake-up of the
    consumer takes the GIL from the fetching thread, which is the pull's critical path. The
    generator runs, and is closed, in the worker; its exception reaches the consumer after the pages
    fetched before it.
    """

    def __init__(self, pages: Iterator[Page], depth: int) -> None:
        self._pages = pages
        self._depth = depth
        self._ready = threading.Condition()
        self._queued: list[Page] = []
        self._records = 0
        self._want = 1  # records the consumer waits for
        self._ended = False
        self._error: BaseException | None = None
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="pull-prefetch", daemon=True)

    def __enter__(self) -> _Prefetcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        with self._ready:
            self._stop = True
            self._ready.notify_all()
        self._thread.join()

    def take(
        self, records: int, deadline: float, *, waiting: bool = False
    ) -> tuple[list[Page], BaseException | None, bool]:
        """The pages queued once ``records`` records are (or the end, an error or a full queue), or at
        ``deadline`` (``time.perf_counter()``) if any record waits (queued, or the caller's own when
        ``waiting``); the source's error if it failed after them; and whether it ended."""
        with self._ready:
            self._want = records
            while not self._enough():
                if not (waiting or self._queued):
                    self._ready.wait()  # the worker wakes us at the first page
                    continue
                remaining = deadline - time.perf_counter()
                if remaining <= 0:
                    break
                self._ready.wait(remaining)
            pages, self._queued, self._records = self._queued, [], 0
            self._ready.notify_all()  # room again for the worker
            return pages, self._error, self._ended

    def _enough(self) -> bool:
        return self._records >= self._want or len(self._queued) >= self._depth or self._ended or self._error is not None

    def _run(self) -> None:
        try:
            for page in self._pages:
                with self._ready:
                    self._ready.wait_for(lambda: self._stop or len(self._queued) < self._depth)
                    if self._stop:
                        return
                    self._queued.append(page)
                    self._records += len(page.records)
                    if len(self._queued) == 1 or self._enough():  # the first page starts the consumer's clock
                        self._ready.notify_all()
            with self._ready:
                self._ended = True
                self._ready.notify_all()
        except BaseException as exc:  # handed to the consumer, which re-raises it
            with self._ready:
                self._error = exc
                self._ready.notify_all()
        finally:
            close = getattr(self._pages, "close", None)
            if callable(close):
                with contextlib.suppress(Exception):
                    close()


def _complete(last: dict[str, Any] | None) -> dict[str, Any]:
    return {"complete": True, "last": last, "completed_at": utcnow().isoformat()}
