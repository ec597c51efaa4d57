"""Garbage collection at a long run's own steady points (a pull's commits, a push's batches).

Every request leaves a reference cycle in httpx that holds its response. The automatic collector
frees most of them young, but a cycle still referenced when a young collection runs (a response
waiting to be recorded) is promoted, and once garbage it waits for a rare full collection: a long
run's memory then grows with its length. So runs collect the young generations at each of their
steps, and everything every ``FULL_EVERY`` steps.
"""

from __future__ import annotations

import gc

#: Steps between full collections (the others collect the young generations only).
FULL_EVERY = 16


def collect(step: int) -> None:
    """The collection a run does itself after its ``step``-th commit or batch (counted from 1)."""
    gc.collect(2 if step % FULL_EVERY == 0 else 1)
