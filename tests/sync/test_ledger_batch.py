"""The ledger's batched write (an UPDATE of keys that may exist, then an INSERT of the rest, with the
caller's ``new`` hint skipping the UPDATE): same results as one upsert per change, checked against a
model over random batches; a wrong hint fails the batch and overwrites nothing."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engagesync.sync.store import LedgerWrite, Store

CONN, ACTION = "groove-helpdesk", "create_ticket"
KEYS = ["a", "b", "c", "d", "e"]

writes = st.lists(
    st.tuples(
        st.sampled_from(KEYS),
        st.sampled_from(["pending", "sent", "unknown", "done", "rejected"]),
        st.none() | st.integers(1, 99).map(str),
        st.none() | st.fixed_dictionaries({"n": st.integers(0, 9)}),
        st.booleans(),
    ),
    max_size=8,
)


def apply(model: dict[str, dict[str, Any]], batch: list[tuple[str, str, str | None, Any, bool]]) -> None:
    """What the ledger should hold after ``batch``: ``None`` keeps the previous value; attempts add up."""
    for key, status, remote_id, response, attempt in batch:
        entry = model.setdefault(key, {"remote_id": None, "response": None, "attempts": 0})
        entry["status"] = status
        entry["remote_id"] = remote_id if remote_id is not None else entry["remote_id"]
        entry["response"] = response if response is not None else entry["response"]
        entry["attempts"] += int(attempt)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches=st.lists(writes, max_size=5), hint=st.booleans())
def test_batched_writes_match_the_model(tmp_path: Path, batches: list[Any], hint: bool) -> None:
    model: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(dir=tmp_path) as tmp, Store(str(Path(tmp) / "ledger.duckdb")) as store:
        for batch in batches:
            existing = set(model)  # what the caller's lookup would have found
            seen: set[str] = set()
            ledger = []
            for key, status, remote_id, response, attempt in batch:
                new = hint and key not in existing and key not in seen
                seen.add(key)
                ledger.append(LedgerWrite(key, status, remote_id, None, response, attempt, new=new))
            store.write_batch(CONN, ACTION, ledger=ledger)
            apply(model, batch)
        got = {
            e.key: {"status": e.status, "remote_id": e.remote_id, "response": e.response, "attempts": e.attempts}
            for e in store.ledger_entries(CONN, ACTION)
        }
    assert got == model


def test_a_wrong_new_hint_fails_the_batch_and_overwrites_nothing(tmp_path: Path) -> None:
    with Store(str(tmp_path / "ledger.duckdb")) as store:
        store.write_batch(CONN, ACTION, ledger=[LedgerWrite("a", "done", "7", response={"n": 1}, new=True)])
        with pytest.raises(duckdb.ConstraintException):
            store.write_batch(
                CONN,
                ACTION,
                ledger=[LedgerWrite("b", "sent", new=True), LedgerWrite("a", "sent", attempt=True, new=True)],
            )
        entry = store.ledger_get(CONN, ACTION, "a")
        assert entry is not None and (entry.status, entry.remote_id, entry.attempts) == ("done", "7", 0)
        assert store.ledger_get(CONN, ACTION, "b") is None  # the whole batch rolled back
