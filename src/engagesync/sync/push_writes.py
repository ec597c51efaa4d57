"""A push's bookkeeping writes: ledger changes, rejects and captured responses, buffered and written
one transaction at a time, in order, the costlier outcomes on a writer thread.

A batch's ``sent`` marks are committed before any of its requests go out (``commit_marks``); its
outcomes are held (``hold``) until the next batch's marks are committed, then the writer thread
writes them while that batch's requests go out (DuckDB releases the GIL: the other core does it).
Order holds: the caller's next write waits for the writer, and ``drain`` writes everything held or
queued before a read that touches those keys (a record twice in the file, a reconcile).
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor

from .store import LedgerWrite, RejectWrite, ResponseWrite, Store

#: Test hook: the ledger writer never writes (a crash test kills a push while outcomes are queued).
HOLD_WRITER_ENV = "ENGAGESYNC_TEST_HOLD_LEDGER_WRITER"

#: Buffered ledger changes, rejects and responses: what one transaction writes.
Writes = tuple[list[LedgerWrite], list[RejectWrite], list[ResponseWrite]]


class PushWrites:
    """The buffers of one action's push and the transactions that empty them."""

    def __init__(self, store: Store, connection: str, action: str) -> None:
        self.store = store
        self.connection = connection
        self.action = action
        #: The push run the rejects and responses belong to.
        self.run_id: int | None = None
        # writes waiting for the next transaction (see flush)
        self.ledger: list[LedgerWrite] = []
        self.rejects: list[RejectWrite] = []
        self.responses: list[ResponseWrite] = []
        #: Keys of outcomes held or being written: a read of them must ``drain`` first.
        self.unwritten: set[str] = set()
        # a batch's outcomes, held until the next batch's sent marks are committed (see hold)
        self._held: Writes | None = None
        # the writer thread, the outcomes it is writing, and their keys
        self._writer: ThreadPoolExecutor | None = None
        self._writing: Future[None] | None = None
        self._writing_keys: set[str] = set()
        self._writer_held = bool(os.environ.get(HOLD_WRITER_ENV))  # the crash test's hook, read once

    # -- the writer thread -----------------------------------------------------------------------
    def start_writer(self) -> None:
        """Write held outcomes on a thread of their own (without it, ``hold`` writes at once)."""
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ledger")

    def stop_writer(self) -> None:
        """Let the writer thread go (idle after a ``flush``; never waited for under the test hook)."""
        if self._writer is not None:
            self._writer.shutdown(wait=not self._writer_held)
            self._writer = None

    # -- transactions ----------------------------------------------------------------------------
    def flush(self) -> None:
        """Write everything held or queued, then the buffered changes in one transaction."""
        self.drain()
        self._write(self._take())

    def drain(self) -> None:
        """Afterwards the store holds every outcome known so far: the writer's, then the held ones."""
        self._wait_writer()
        held, self._held = self._held, None
        self.unwritten = set()
        self._write(held)

    def commit_marks(self) -> None:
        """Commit a batch's sent marks (before any of its requests), then hand the previous batch's
        held outcomes to the writer: they are written while this batch's requests go out."""
        self._wait_writer()  # one transaction at a time, in order
        self._write(self._take())
        held, self._held = self._held, None
        if held is not None:
            assert self._writer is not None
            self._writing_keys = _write_keys(held)
            self._writing = self._writer.submit(self._write_in_writer, held)

    def hold(self) -> None:
        """Keep a batch's outcomes for the writer (see ``commit_marks``); written now without one."""
        writes = self._take()
        if writes is None:
            return
        if self._writer is None or self._held is not None:
            self.drain()
            self._write(writes)
            return
        self._held = writes
        self.unwritten |= _write_keys(writes)

    def _take(self) -> Writes | None:
        """The buffered ledger changes, rejects and responses (emptied), if any."""
        if not (self.ledger or self.rejects or self.responses):
            return None
        writes = self.ledger, self.rejects, self.responses
        self.ledger, self.rejects, self.responses = [], [], []
        return writes

    def _write(self, writes: Writes | None) -> None:
        if writes is not None:
            ledger, rejects, responses = writes
            self.store.write_batch(
                self.connection, self.action, ledger=ledger, rejects=rejects, responses=responses, run_id=self.run_id
            )

    def _wait_writer(self) -> None:
        """Wait until the writer has committed what it was given (its error is raised here)."""
        writing, self._writing = self._writing, None
        if writing is not None:
            self.unwritten -= self._writing_keys
            writing.result()

    def _write_in_writer(self, writes: Writes) -> None:
        if self._writer_held:
            threading.Event().wait()  # test hook: never written (the test SIGKILLs the push)
        self._write(writes)


def _write_keys(writes: Writes) -> set[str]:
    """The record keys a transaction's writes touch."""
    ledger, rejects, responses = writes
    keys = {w.key for w in ledger}
    keys.update(r.key for r in rejects if r.key is not None)
    keys.update(r.key for r in responses if r.key is not None)
    return keys
