"""The DuckDB store: tables per stream, atomic page commits, coercion, and the engine's bookkeeping tables."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engagesync.client.streams import StreamSpec
from engagesync.sync.store import CoercionError, Store, StoreError, sanitize, table_for

SPEC = StreamSpec(
    name="tickets",
    primary_key=("number",),
    columns={
        "number": "BIGINT",
        "title": "VARCHAR",
        "state": "VARCHAR",
        "priority": "DOUBLE",
        "starred": "BOOLEAN",
        "created_at": "TIMESTAMP",
        "tags": "JSON",
    },
)
META = "_raw, _synced_at, _hash, _seen_at, _deleted_at"  # the store's own columns
CONN = "groove-helpdesk"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(str(tmp_path / "store.duckdb")) as s:
        yield s


def ticket(number: int, **over: Any) -> dict[str, Any]:
    record = {
        "number": number,
        "title": f"ticket {number}",
        "state": "opened",
        "priority": 1.5,
        "starred": False,
        "created_at": "2024-03-01T10:00:00Z",
        "tags": ["a", "b"],
        "href": f"/tickets/{number}",
    }
    record.update(over)
    return record


def rows(store: Store, sql: str = "") -> list[tuple[Any, ...]]:
    table = table_for(CONN, "tickets")
    return store.execute(sql or f"SELECT number, title, state FROM {table} ORDER BY number")


def test_identifiers_are_sanitized_and_quoted() -> None:
    assert sanitize("groove-helpdesk") == "groove_helpdesk"
    assert sanitize("Groove Sales!") == "groove_sales"
    assert sanitize("2fa") == "_2fa"
    assert table_for("groove-helpdesk", "kb-articles") == '"groove_helpdesk"."kb_articles"'
    with pytest.raises(StoreError):
        sanitize("--")


def test_ensure_table_creates_schema_and_columns_without_an_in_memory_key_index(store: Store) -> None:
    table = store.ensure_table(CONN, SPEC)
    assert table == '"groove_helpdesk"."tickets"'
    cols = store.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = 'groove_helpdesk' AND table_name = 'tickets' ORDER BY ordinal_position"
    )
    assert [c for c, _ in cols] == [*SPEC.columns, "_raw", "_synced_at", "_hash", "_seen_at", "_deleted_at"]
    assert dict(cols)["created_at"] == "TIMESTAMP" and dict(cols)["number"] == "BIGINT"
    pk = store.execute(
        "SELECT constraint_column_names FROM duckdb_constraints() WHERE schema_name = 'groove_helpdesk' "
        "AND table_name = 'tickets' AND constraint_type = 'PRIMARY KEY'"
    )
    assert pk == []  # DuckDB would hold a key index in memory, growing with every row: upserts go by key instead
    # engine tables exist
    engine = {
        r[0]
        for r in store.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = '_engagesync'")
    }
    assert engine == {"state", "runs", "ledger", "rejects", "responses"}


def test_ensure_table_adds_columns_a_connector_grew(store: Store, tmp_path: Path) -> None:
    store.commit_page(CONN, SPEC, [ticket(1)], {"page": 1})
    store.close()
    grown = StreamSpec(name="tickets", primary_key=("number",), columns={**SPEC.columns, "summary": "VARCHAR"})
    with Store(str(tmp_path / "store.duckdb")) as again:
        again.commit_page(CONN, grown, [ticket(2, summary="s")], {"page": 2})
        table = table_for(CONN, "tickets")
        assert again.execute(f"SELECT number, summary FROM {table} ORDER BY number") == [(1, None), (2, "s")]


def test_spec_errors_are_clear(store: Store) -> None:
    with pytest.raises(StoreError, match="unsupported type 'TEXT'"):
        store.ensure_table(CONN, StreamSpec("x", ("id",), {"id": "TEXT"}))
    with pytest.raises(StoreError, match="reserved"):
        store.ensure_table(CONN, StreamSpec("y", ("id",), {"id": "BIGINT", "_raw": "JSON"}))
    with pytest.raises(StoreError, match="primary key"):
        store.ensure_table(CONN, StreamSpec("z", ("id",), {"number": "BIGINT"}))


def test_commit_page_stores_typed_columns_raw_record_and_state(store: Store) -> None:
    written = store.commit_page(CONN, SPEC, [ticket(1), ticket(2, starred="true", priority="2")], {"page": 2})
    assert written.written == 2 and written.new == 2
    table = table_for(CONN, "tickets")
    got = store.execute(
        f"SELECT number, starred, priority, created_at, tags, _raw, _synced_at FROM {table} ORDER BY number"
    )
    assert got[0][:4] == (1, False, 1.5, datetime(2024, 3, 1, 10, 0, 0))
    assert got[1][1:3] == (True, 2.0)
    assert json.loads(got[0][4]) == ["a", "b"]
    assert json.loads(got[0][5]) == ticket(1)  # the full record, extra fields included
    assert isinstance(got[0][6], datetime)
    assert store.get_state(CONN, "tickets") == {"page": 2}


def test_upsert_replaces_changed_records_and_dedupes_within_a_page(store: Store) -> None:
    store.commit_page(CONN, SPEC, [ticket(1), ticket(2), ticket(3)], {"page": 1})
    store.commit_page(CONN, SPEC, [ticket(2, state="closed"), ticket(4), ticket(4, title="last wins")], {"page": 2})
    assert rows(store) == [
        (1, "ticket 1", "opened"),
        (2, "ticket 2", "closed"),
        (3, "ticket 3", "opened"),
        (4, "last wins", "opened"),
    ]
    raw = rows(store, f"SELECT _raw FROM {table_for(CONN, 'tickets')} WHERE number = 2")
    assert json.loads(raw[0][0])["state"] == "closed"
    # missing fields become NULL on replace (a record is a full snapshot)
    store.commit_page(CONN, SPEC, [{"number": 3}], {"page": 3})
    assert rows(store)[2] == (3, None, None)


def test_composite_primary_key(store: Store) -> None:
    spec = StreamSpec("messages", ("ticket", "id"), {"ticket": "BIGINT", "id": "VARCHAR", "body": "VARCHAR"})
    store.commit_page(CONN, spec, [{"ticket": 1, "id": "a", "body": "x"}, {"ticket": 2, "id": "a", "body": "y"}], None)
    store.commit_page(CONN, spec, [{"ticket": 1, "id": "a", "body": "z"}], None)
    assert store.execute(f"SELECT * EXCLUDE ({META}) FROM {table_for(CONN, 'messages')} ORDER BY ticket") == [
        (1, "a", "z"),
        (2, "a", "y"),
    ]


def test_commit_page_is_atomic_when_the_state_write_fails(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    store.commit_page(CONN, SPEC, [ticket(1), ticket(2)], {"page": 1})
    before = rows(store, f"SELECT * EXCLUDE (_synced_at, _seen_at) FROM {table_for(CONN, 'tickets')} ORDER BY number")

    def boom(*args: Any) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(store, "_write_state", boom)
    with pytest.raises(RuntimeError, match="disk on fire"):
        store.commit_page(CONN, SPEC, [ticket(2, state="closed"), ticket(3)], {"page": 2})
    monkeypatch.undo()
    assert (
        rows(store, f"SELECT * EXCLUDE (_synced_at, _seen_at) FROM {table_for(CONN, 'tickets')} ORDER BY number")
        == before
    )
    assert store.get_state(CONN, "tickets") == {"page": 1}
    # and the store is usable afterwards (no dangling transaction)
    store.commit_page(CONN, SPEC, [ticket(3)], {"page": 2})
    assert store.count(CONN, "tickets") == 3 and store.get_state(CONN, "tickets") == {"page": 2}


def test_commit_page_is_atomic_when_a_later_chunk_fails(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """A page bigger than one INSERT: the first chunk lands inside the transaction, the second fails."""
    monkeypatch.setattr("engagesync.sync.store.tables._CHUNK_ROWS", 2)
    real = Store._upsert
    calls = []

    def second_fails(self: Store, *args: Any) -> None:
        calls.append(1)
        if len(calls) == 2:
            raise duckdb.IOException("simulated write failure")
        real(self, *args)

    monkeypatch.setattr(Store, "_upsert", second_fails)
    with pytest.raises(duckdb.IOException):
        store.commit_page(CONN, SPEC, [ticket(i) for i in range(1, 6)], {"page": 1})
    assert store.count(CONN, "tickets") == 0 and store.get_state(CONN, "tickets") is None


def test_coercions(store: Store) -> None:
    spec = StreamSpec(
        "t", ("id",), {"id": "BIGINT", "v": "VARCHAR", "d": "DOUBLE", "b": "BOOLEAN", "ts": "TIMESTAMP", "j": "JSON"}
    )
    records: list[dict[str, Any]] = [
        {"id": "1", "v": {"x": 1}, "d": "2.5", "b": "yes", "ts": "2024-01-02T03:04:05+02:00", "j": "text"},
        {"id": 2.0, "v": 42, "d": 3, "b": 0, "ts": 1704164645, "j": {"k": [1, None]}},
        {"id": 3, "v": True, "d": None, "b": None, "ts": "2024-01-02", "j": None},
        {"id": 4, "v": ["a"], "ts": 1704164645123, "j": 7},
    ]
    store.commit_page(CONN, spec, records, None)
    got = store.execute(f"SELECT * EXCLUDE ({META}) FROM {table_for(CONN, 't')} ORDER BY id")
    assert got == [
        (1, '{"x":1}', 2.5, True, datetime(2024, 1, 2, 1, 4, 5), '"text"'),
        (2, "42", 3.0, False, datetime(2024, 1, 2, 3, 4, 5), '{"k":[1,null]}'),
        (3, "true", None, None, datetime(2024, 1, 2), None),
        (4, '["a"]', None, None, datetime(2024, 1, 2, 3, 4, 5, 123000), "7"),
    ]


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("priority", "high", "could not convert"),
        ("number", "12.5", "fractional"),
        ("number", 2**70, "64-bit"),
        ("starred", "maybe", "true/false"),
        ("created_at", "yesterday", "Invalid isoformat"),
        ("priority", float("nan"), "finite"),
    ],
)
def test_coercion_errors_name_stream_record_field_and_value(store: Store, field: str, value: Any, reason: str) -> None:
    store.commit_page(CONN, SPEC, [ticket(1)], {"page": 1})
    bad = ticket(7, **{field: value}) if field != "number" else {**ticket(7), "number": value}
    with pytest.raises(CoercionError) as info:
        store.commit_page(CONN, SPEC, [ticket(2), bad], {"page": 2})
    message = str(info.value)
    assert "stream 'tickets'" in message and f"field {field!r}" in message and reason in message
    assert repr(value)[:20] in message
    if field != "number":
        assert "number=7" in message
    assert info.value.field == field and info.value.stream == "tickets"
    # nothing of the failed page was written
    assert store.count(CONN, "tickets") == 1 and store.get_state(CONN, "tickets") == {"page": 1}


def test_records_without_primary_key_are_refused(store: Store) -> None:
    with pytest.raises(StoreError, match="no primary key number"):
        store.commit_page(CONN, SPEC, [{"title": "x"}], None)


def test_state_persists_and_resets(tmp_path: Path) -> None:
    path = str(tmp_path / "s.duckdb")
    with Store(path) as store:
        store.commit_page(CONN, SPEC, [ticket(1)], {"cursor": {"page": 3}})
        store.set_state(CONN, "other", {"x": 1})
    with Store(path) as store:
        assert store.get_state(CONN, "tickets") == {"cursor": {"page": 3}}
        assert store.states(CONN) == {"other": {"x": 1}, "tickets": {"cursor": {"page": 3}}}
        store.reset_state(CONN, "tickets")
        assert store.get_state(CONN, "tickets") is None and store.get_state(CONN, "other") == {"x": 1}
        store.reset_state(CONN)
        assert store.states(CONN) == {}
        assert store.count(CONN, "tickets") == 1  # data is kept; only the cursor is forgotten


def test_ledger(store: Store) -> None:
    assert store.ledger_get(CONN, "create_ticket", "k1") is None
    entry = store.ledger_put(CONN, "create_ticket", "k1", "pending", request={"body": "hi"})
    assert (entry.status, entry.attempts, entry.request) == ("pending", 0, {"body": "hi"})
    store.ledger_put(CONN, "create_ticket", "k1", "sent", attempt=True)
    store.ledger_put(CONN, "create_ticket", "k1", "unknown")
    store.ledger_put(CONN, "create_ticket", "k1", "sent", attempt=True)
    done = store.ledger_put(CONN, "create_ticket", "k1", "done", remote_id=123, response={"number": 123})
    assert (done.status, done.attempts, done.remote_id, done.request, done.response) == (
        "done",
        2,
        "123",
        {"body": "hi"},
        {"number": 123},
    )
    assert store.ledger_get(CONN, "create_ticket", "k1") == done
    store.ledger_put(CONN, "create_ticket", "k2", "unknown")
    store.ledger_put(CONN, "create_group", "k1", "pending")
    assert [e.key for e in store.ledger_entries(CONN, "create_ticket", status="unknown")] == ["k2"]
    assert store.ledger_counts(CONN, "create_ticket") == {"done": 1, "unknown": 1}
    with pytest.raises(StoreError, match="ledger status"):
        store.ledger_put(CONN, "create_ticket", "k3", "lost")


def test_rejects_responses_and_runs(store: Store) -> None:
    r1 = store.reject(CONN, "create_ticket", "k1", {"to": "bad"}, "to", "to is not an email")
    store.reject(CONN, "create_ticket", "k2", {"to": "x@y.z"}, None, "HTTP 422: body can't be blank")
    store.reject(CONN, "create_group", "k3", {}, "name", "required")
    open_ = list(store.rejects(CONN, "create_ticket"))
    assert [(r.key, r.field, r.reason, r.record) for r in open_] == [
        ("k1", "to", "to is not an email", {"to": "bad"}),
        ("k2", None, "HTTP 422: body can't be blank", {"to": "x@y.z"}),
    ]
    store.mark_reject_retried(r1)
    assert [r.key for r in store.rejects(CONN, "create_ticket")] == ["k2"]
    retried = [r for r in store.rejects(CONN, status="retried")]
    assert [r.id for r in retried] == [r1] and retried[0].retried_at is not None
    assert store.reject_count(CONN, status=None) == 3 and store.reject_count(CONN) == 2

    store.capture_response(CONN, "create_ticket", "k2", 201, {"ticket": {"number": 9}})
    store.capture_response(CONN, "create_ticket", "k1", 422, None)
    got = list(store.responses(CONN, "create_ticket"))
    assert [(r.key, r.status_code, r.body) for r in got] == [("k2", 201, {"ticket": {"number": 9}}), ("k1", 422, None)]

    run = store.run_start(CONN, "push", "create_ticket")
    store.run_finish(run, "complete", {"sent": 2, "rejected": 1})
    latest = store.runs(CONN)[0]
    assert (latest.id, latest.kind, latest.target, latest.status, latest.counts) == (
        run,
        "push",
        "create_ticket",
        "complete",
        {"sent": 2, "rejected": 1},
    )
    assert latest.finished_at is not None
    with pytest.raises(StoreError):
        store.run_start(CONN, "sync")


def test_streaming_reads_tolerate_writes_in_between(store: Store) -> None:
    for i in range(2500):
        store.reject(CONN, "a", f"k{i}", {"i": i}, None, "r") if i < 5 else None
    store.commit_page(CONN, SPEC, [ticket(i) for i in range(1, 2501)], None)
    seen = 0
    for _names, chunk in store.iter_query(f"SELECT number FROM {table_for(CONN, 'tickets')}", chunk=500):
        seen += len(chunk)
        store.commit_page(CONN, SPEC, [ticket(10_000 + seen)], None)  # writes while a read is open
    assert seen == 2500
    for reject in store.rejects(CONN, "a"):
        store.mark_reject_retried(reject.id)
    assert store.reject_count(CONN, "a") == 0


def test_concurrent_commits_from_threads(store: Store) -> None:
    import threading

    def worker(base: int) -> None:
        for page in range(10):
            store.commit_page(CONN, SPEC, [ticket(base + page * 10 + i) for i in range(10)], {"w": base})

    threads = [threading.Thread(target=worker, args=(n * 1000,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.count(CONN, "tickets") == 400


_value = st.one_of(
    st.none(),
    st.integers(-(2**63), 2**63 - 1),
    st.text(max_size=8),
    st.booleans(),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.sampled_from(
        [
            "2024-03-01T10:00:00Z",
            "2024-03-01T10:00:00+02:00",
            "1700000000",
            "2025-01-02T00:00:17.176-05:00",
            "2024-03-01T10:00:00.123456+05:30",
            "2024-02-29T23:59:59.5Z",
            "0999-12-31T23:00:00-01:00",
            "2024-03-01 10:00:00Z",
        ]
    ),
    st.lists(st.integers(0, 3), max_size=3),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    pages=st.lists(
        st.lists(
            st.fixed_dictionaries(
                {"number": st.integers(1, 6)}, optional={c: _value for c in SPEC.columns if c != "number"}
            ),
            max_size=6,
        ),
        min_size=1,
        max_size=3,
    )
)
def test_the_bulk_path_stores_exactly_what_the_coercing_path_stores(
    tmp_path_factory: pytest.TempPathFactory, pages: list[list[dict[str, Any]]]
) -> None:
    """Pages whose values already fit take DuckDB's extract-and-cast path; the result (or the refusal)
    must be the same as coercing every value in Python."""
    folder = tmp_path_factory.mktemp("paths")
    outcomes = []
    for fast in (True, False):
        with Store(str(folder / f"{fast}.duckdb")) as s:
            s.ensure_table(CONN, SPEC)
            if not fast:
                s._plans[(CONN, SPEC.name)] = dataclasses.replace(s._plans[(CONN, SPEC.name)], fast_stage_sql=None)
            errors = []
            for page in pages:
                try:
                    s.commit_page(CONN, SPEC, page, None)
                except StoreError as exc:
                    errors.append(type(exc).__name__)
            outcomes.append(
                (
                    errors,
                    s.execute(
                        f"SELECT * EXCLUDE (_synced_at, _seen_at) FROM {table_for(CONN, 'tickets')} ORDER BY number"
                    ),
                )
            )
    assert outcomes[0] == outcomes[1]


def test_a_table_made_with_a_primary_key_by_an_earlier_version_still_upserts(store: Store) -> None:
    store.execute("CREATE SCHEMA groove_helpdesk")
    store.execute(
        f"CREATE TABLE {table_for(CONN, 'tickets')} (number BIGINT, title VARCHAR, state VARCHAR, "
        "priority DOUBLE, starred BOOLEAN, created_at TIMESTAMP, tags JSON, _raw JSON, _synced_at TIMESTAMP, "
        "PRIMARY KEY (number))"
    )
    store.commit_page(CONN, SPEC, [ticket(1), ticket(2)], {"page": 1})
    store.commit_page(CONN, SPEC, [ticket(2, state="closed"), ticket(3)], {"page": 2})
    assert rows(store) == [(1, "ticket 1", "opened"), (2, "ticket 2", "closed"), (3, "ticket 3", "opened")]


def test_a_store_file_named_like_a_connection_still_works(tmp_path: Path) -> None:
    """DuckDB names the catalog after the file: volt.duckdb holding schema "volt" must not be ambiguous."""
    with Store(str(tmp_path / "volt.duckdb")) as store:
        store.commit_page("volt", SPEC, [ticket(1), ticket(2)], {"page": 1})
        store.commit_page("volt", SPEC, [ticket(2, state="closed")], None)
        assert store.count("volt", "tickets") == 2


def test_unchanged_records_are_not_rewritten_whichever_path_staged_them(store: Store) -> None:
    """The content hash is taken from the same JSON text on the bulk and the coercing path."""
    first = store.commit_page(CONN, SPEC, [ticket(1), ticket(2)], None)  # bulk path
    assert (first.new, first.changed, first.unchanged) == (2, 0, 0)
    again = store.commit_page(CONN, SPEC, [ticket(1), ticket(2, state="closed"), ticket(3, starred="yes")], None)
    assert (again.read, again.new, again.changed, again.unchanged) == (3, 1, 1, 1)  # coercing path
    assert store.commit_page(CONN, SPEC, [ticket(1), ticket(2, state="closed")], None).written == 0
    assert rows(store) == [(1, "ticket 1", "opened"), (2, "ticket 2", "closed"), (3, "ticket 3", "opened")]


@pytest.mark.parametrize(
    "extra",
    [
        {"note": 'café \u2028 \x7f </script> "q" \\ \U0001f600'},  # escapes a serialiser may spell either way
        {"ratio": 1e16, "small": 1e-7, "third": 1 / 3, "neg": -0.0},  # float spellings differ between serialisers
        {"huge": 2**70},  # beyond 64 bits
        {"nested": {"1": [None, True, {"é": 2.5}]}},
    ],
    ids=["escapes", "floats", "big-int", "nested"],
)
def test_the_content_hash_does_not_depend_on_the_serialiser(store: Store, extra: dict[str, Any]) -> None:
    """The bulk path and the coercing path must hash the same record alike, or every pull after a
    switch of path would rewrite it."""
    record = ticket(1, **extra)
    assert store.commit_page(CONN, SPEC, [record], None).new == 1  # bulk path
    # the coercing path for the whole page, because of record 2's "yes"
    again = store.commit_page(CONN, SPEC, [record, ticket(2, starred="yes")], None)
    assert (again.new, again.changed, again.unchanged) == (1, 0, 1)
    raw = rows(store, f"SELECT _raw FROM {table_for(CONN, 'tickets')} WHERE number = 1")[0][0]
    assert json.loads(raw) == record


TYPED = StreamSpec(
    "typed",
    ("number",),
    {
        "number": "BIGINT",
        "at": "TIMESTAMPTZ",
        "tags": "VARCHAR[]",
        "ids": "BIGINT[]",
        "owner": "STRUCT(id VARCHAR, n BIGINT, flags BOOLEAN[])",
        "items": "STRUCT(key VARCHAR, weight DOUBLE)[]",
    },
)
_nested = st.one_of(
    _value,
    st.lists(
        st.one_of(st.none(), st.text(max_size=4), st.integers(-5, 5), st.booleans(), st.floats(-2, 2)), max_size=3
    ),
    st.fixed_dictionaries(
        {},
        optional={
            "id": _value,
            "n": _value,
            "flags": st.lists(st.one_of(st.booleans(), st.none(), st.sampled_from(["yes", 0])), max_size=2),
            "extra": _value,
        },
    ),
    st.lists(st.fixed_dictionaries({}, optional={"key": _value, "weight": _value, "other": st.integers()}), max_size=2),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    pages=st.lists(
        st.lists(
            st.fixed_dictionaries(
                {"number": st.integers(1, 6)}, optional={c: _nested for c in TYPED.columns if c != "number"}
            ),
            max_size=6,
        ),
        min_size=1,
        max_size=3,
    )
)
def test_the_bulk_path_stores_lists_structs_and_instants_exactly_as_the_coercing_path(
    tmp_path_factory: pytest.TempPathFactory, pages: list[list[dict[str, Any]]]
) -> None:
    """The same property for TIMESTAMPTZ, LIST and STRUCT columns (and a refused page refused by both)."""
    folder = tmp_path_factory.mktemp("typed")
    outcomes = []
    for fast in (True, False):
        with Store(str(folder / f"{fast}.duckdb")) as s:
            s.ensure_table(CONN, TYPED)
            if not fast:
                s._plans[(CONN, TYPED.name)] = dataclasses.replace(s._plans[(CONN, TYPED.name)], fast_stage_sql=None)
            errors = []
            for page in pages:
                try:
                    s.commit_page(CONN, TYPED, page, None)
                except StoreError as exc:
                    errors.append(type(exc).__name__)
            outcomes.append(
                (
                    errors,
                    s.execute(f"SELECT * EXCLUDE (_synced_at, _seen_at) FROM {table_for(CONN, 'typed')} ORDER BY 1"),
                )
            )
    assert outcomes[0] == outcomes[1]


def test_lists_structs_and_instants_are_typed_columns(store: Store) -> None:
    record = {
        "number": 1,
        "at": "2024-03-01T10:00:00+02:00",
        "tags": ["a", "b"],
        "ids": [1, None, 3],
        "owner": {"id": "u1", "n": 2, "flags": [True], "unknown": "kept in _raw"},
        "items": [{"key": "k", "weight": 0.5}],
    }
    store.commit_page(CONN, TYPED, [record], None)
    table = table_for(CONN, "typed")
    types = dict(store.execute(f"SELECT column_name, column_type FROM (DESCRIBE {table})"))
    assert types["at"] == "TIMESTAMP WITH TIME ZONE" and types["tags"] == "VARCHAR[]"
    assert types["owner"] == "STRUCT(id VARCHAR, n BIGINT, flags BOOLEAN[])"
    assert types["_synced_at"] == "TIMESTAMP WITH TIME ZONE"
    got = store.execute(f"SELECT \"at\", tags, ids, owner.id, items[1].weight, _raw->>'$.owner.unknown' FROM {table}")
    assert got == [(datetime(2024, 3, 1, 8, 0, tzinfo=UTC), ["a", "b"], [1, None, 3], "u1", 0.5, "kept in _raw")]
    with pytest.raises(CoercionError, match=r"'tags'.*expected a list"):
        store.commit_page(CONN, TYPED, [{"number": 2, "tags": "a,b"}], None)
    with pytest.raises(StoreError, match="a list holds"):
        store.ensure_table(CONN, StreamSpec("bad", ("id",), {"id": "BIGINT", "x": "JSON[]"}))


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(st.dictionaries(st.text(max_size=5), _json, max_size=4), max_size=100))
def test_a_chunk_serialised_in_pieces_is_the_same_json_text(rows: list[dict[str, Any]]) -> None:
    """The text DuckDB hashes (``_hash``) must not depend on how the serialisation was split."""
    from engagesync.sync.store.base import DUMP_ROWS, _dumps, dumps_rows

    assert DUMP_ROWS < 100
    assert dumps_rows(rows) == _dumps(rows)
