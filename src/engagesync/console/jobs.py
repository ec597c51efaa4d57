"""Pull now, in the background: one ``sync.pull.pull`` (the CLI's) per store at a time, its progress polled.

Why a thread and a shared connection: DuckDB holds one file per process, and ``pull`` commits its pages
in batches (``COMMIT_SECONDS``). The job opens the store once and lends that ``Store`` to the console's
other pages while it runs (``Console.with_store`` uses it): the Store's own lock serialises statements,
so a page reads between two of the pull's commits instead of waiting for the whole pull, and never
opens a second connection that could conflict with the pull's transactions. The console's engine lock
is taken only to swap the shared store in and out, never for the pull itself. Another process (the
CLI, ``engagesync run``) cannot open the file while a pull runs, as with any open store.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..sync import connectors
from ..sync.connections import ConnectionStore
from ..sync.pull import PullError, PullResult, pull
from ..sync.store import Store

_ids = itertools.count(1)


@dataclass
class PullJob:
    """What ``GET /api/pulls/{job}`` reports: the stream being pulled, pages and records so far, the outcome."""

    connection: str
    stream: str | None
    id: int = field(default_factory=lambda: next(_ids))
    state: str = "running"  # running | done | failed
    current: str = ""
    done_streams: dict[str, tuple[int, int]] = field(default_factory=dict)
    pages: int = 0
    records: int = 0
    note: str = ""
    summary: dict[str, Any] | None = None
    error: str | None = None
    started: float = field(default_factory=time.monotonic)

    def on_page(self, stream: str, records: int, pages: int) -> None:
        """``pull``'s progress hook (the CLI's ``on_page``): counts are per stream, totals summed here."""
        self.current, self.note = stream, ""
        self.done_streams[stream] = (records, pages)
        self.records = sum(r for r, _ in self.done_streams.values())
        self.pages = sum(p for _, p in self.done_streams.values())

    def on_wait(self, seconds: float, why: str) -> None:
        self.note = f"waiting {seconds:.1f}s for the {why} window"

    def line(self) -> str:
        """The page's progress line."""
        what = f"{self.connection}/{self.stream}" if self.stream else self.connection
        if self.state == "running":
            now = f" ({self.current})" if self.current else ""
            note = f"; {self.note}" if self.note else ""
            return f"pulling {what}{now}: {self.records:,} records, {self.pages:,} pages so far{note}"
        if self.state == "failed":
            return f"pull {what} failed: {self.error}"
        return f"pull {what} done: {(self.summary or {}).get('line', '')}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "job": self.id,
            "connection": self.connection,
            "stream": self.current or self.stream,
            "pages": self.pages,
            "records": self.records,
            "state": self.state,
            "summary": self.summary,
            "error": self.error,
            "line": self.line(),
            "seconds": round(time.monotonic() - self.started, 1),
        }


def summarize(result: PullResult) -> dict[str, Any]:
    """The CLI's pull table as data, and one line for the page."""
    streams = [
        {"stream": s.name, "status": s.status, "records": s.records, "new": s.new, "changed": s.changed,
         "pages": s.pages, "error": s.error}
        for s in result.streams.values()
    ]  # fmt: skip
    parts = [f"{s['stream']} {s['status']} ({s['records']:,} read, {s['new']:,} new, {s['changed']:,} changed)"
             for s in streams]  # fmt: skip
    return {"ok": result.ok, "streams": streams, "line": f"{'; '.join(parts)} in {result.elapsed:.1f}s"}


class PullJobs:
    """The console's pull jobs (one running per store) and the store the running one lends out."""

    def __init__(self, store_path: str, lock: threading.Lock, describe: Callable[[BaseException], str]) -> None:
        self.store_path, self.lock, self.describe = store_path, lock, describe
        self.jobs: dict[int, PullJob] = {}
        self.shared: Store | None = None
        self._start = threading.Lock()

    def running(self) -> PullJob | None:
        return next((j for j in self.jobs.values() if j.state == "running"), None)

    def start(self, connection: str, stream: str | None) -> tuple[PullJob, bool]:
        """A new job (``True``), or the one already running (``False``): one pull per store at a time."""
        with self._start:
            busy = self.running()
            if busy is not None:
                return busy, False
            job = PullJob(connection, stream)
            self.jobs[job.id] = job
        threading.Thread(target=self._run, args=(job,), name=f"console-pull-{job.id}", daemon=True).start()
        return job, True

    def _run(self, job: PullJob) -> None:
        db: Store | None = None
        state, error = "failed", None
        try:
            connection = ConnectionStore().get(job.connection)
            streams = connectors.streams_for(connection)
            with self.lock:  # no page holds the file while it is opened
                db = self.shared = Store(self.store_path)
            with connectors.client_for(connection, on_wait=job.on_wait) as client:
                try:
                    result = pull(
                        client, connection.name, streams, [job.stream] if job.stream else None, db, job.on_page,
                        keep_going=True,
                    )  # fmt: skip
                except PullError as exc:
                    result = exc.result
            job.summary = summarize(result)
            stopped = result.stopped_by
            failed = next((s for s in result.streams.values() if s.error), None)
            if stopped is not None:
                error = self.describe(stopped)
            elif failed is not None:
                error = f"{failed.name}: {failed.error}"
            else:
                state = "done"
        except Exception as exc:  # a message on the page, never a traceback
            error = self.describe(exc)
        finally:
            if db is not None:
                with self.lock:  # no page is using the shared store while it closes
                    self.shared = None
                    db.close()
            # done only once the file is free again: the next pull (or the CLI) can open it
            job.error, job.state = error, state
