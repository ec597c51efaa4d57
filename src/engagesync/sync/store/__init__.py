"""The local store: one DuckDB file holding pulled data and the engine's own bookkeeping.

Layout:
- one schema per connection (``groove-helpdesk`` -> ``groove_helpdesk``), one table per stream with the
  stream's declared columns (``TIMESTAMPTZ``, lists, structs...; commented from the spec) and the store's
  own: ``_raw`` (the full record as JSON), ``_synced_at`` (last written), ``_hash`` (content hash),
  ``_seen_at`` and ``_deleted_at`` (full refresh, tombstones); rows keyed by the spec's primary key;
- schema ``_engagesync`` with the engine tables: ``state`` (each stream's cursor), ``runs``, ``ledger``
  (push idempotency), ``rejects`` and ``responses``.

Writes go through one connection guarded by a lock. ``commit_page`` writes a page's new and changed
records (by content hash; unchanged ones are not rewritten) and the stream's state in ONE transaction,
so a pull killed at any moment resumes with no loss and no duplicate (peers lose or duplicate data
exactly there: airbyte#2627, dlt#4052, dlt#3767).

Bulk path: the page is coerced in Python (clear errors naming stream, key, field and value), serialised
once as a JSON array and expanded by DuckDB (``unnest(from_json_strict(?, structure))``) into a staging
table with each record's md5; stored rows whose hash differs are replaced, new keys inserted. Measured
on DuckDB 2.0, this is ~10-100x faster than ``executemany`` (which runs one statement per row) and
needs neither pandas nor pyarrow.

Reads that may be large (rejects, ledger entries, table rows) stream through a separate DuckDB cursor
with ``fetchmany``; nothing loads a whole table into Python.
"""

from __future__ import annotations

from .base import ENGINE_SCHEMA, StoreError, StoreOpenError, quote, sanitize, schema_for, table_for, utcnow
from .coerce import CoercionError
from .ledger import LedgerBook, LedgerEntry, LedgerWrite, Reject, RejectWrite, Response, ResponseWrite
from .state import Run, StateAndRuns
from .tables import StreamTables

__all__ = [
    "ENGINE_SCHEMA",
    "CoercionError",
    "LedgerEntry",
    "LedgerWrite",
    "Reject",
    "RejectWrite",
    "Response",
    "ResponseWrite",
    "Run",
    "Store",
    "StoreError",
    "StoreOpenError",
    "quote",
    "sanitize",
    "schema_for",
    "table_for",
    "utcnow",
]


class Store(StreamTables, StateAndRuns, LedgerBook):
    """A DuckDB file with one schema per connection and the engine tables in ``_engagesync``: stream
    tables (``tables.py``), state and runs (``state.py``), ledger/rejects/responses (``ledger.py``),
    sharing one connection (``base.py``)."""
