"""``SandboxDB.page`` / ``SandboxDB.counted`` answer exactly what LIMIT/OFFSET and COUNT(*) would, whatever mix
of sequential reads, jumps and writes a client makes (they only skip work the data has not changed)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from engagesync.sandbox.store import SandboxDB

SQL = "SELECT * FROM items WHERE tenant_id = ? {after} ORDER BY at, id"
KEYS = [("at", "at"), ("id", "id")]

_op = st.one_of(
    st.tuples(st.just("read"), st.integers(0, 12), st.integers(1, 7)),  # page number, per page
    st.tuples(st.just("next"), st.just(0), st.integers(1, 7)),  # the page after the last one read
    st.tuples(st.just("insert"), st.integers(0, 5), st.integers(0, 1000)),  # at, id
    st.tuples(st.just("delete"), st.integers(0, 40), st.just(0)),
)


@settings(max_examples=150, deadline=None)
@given(initial=st.lists(st.integers(0, 5), max_size=40), ops=st.lists(_op, max_size=40))
def test_pages_and_counts_equal_the_plain_queries(initial: list[int], ops: list[tuple[str, int, int]]) -> None:
    store = SandboxDB()
    store.executescript("CREATE TABLE items (tenant_id INTEGER, id INTEGER, at INTEGER, PRIMARY KEY (tenant_id, id))")
    store.executemany("INSERT INTO items VALUES (1, ?, ?)", [(i, at) for i, at in enumerate(initial)])
    store.executemany("INSERT INTO items VALUES (2, ?, 0)", [(i,) for i in range(5)])  # another tenant
    offset, per_page = 0, 3
    for kind, a, b in ops:
        if kind == "insert":
            store.execute("INSERT OR IGNORE INTO items VALUES (1, ?, ?)", (b + 100, a))
            continue
        if kind == "delete":
            store.execute("DELETE FROM items WHERE tenant_id = 1 AND id = ?", (a,))
            continue
        if kind == "read":
            offset, per_page = a * b, b
        else:
            offset, per_page = offset + per_page, b
        got = [tuple(r) for r in store.page(SQL, (1,), KEYS, per_page, offset)]
        want = [tuple(r) for r in store.all(SQL.format(after="") + " LIMIT ? OFFSET ?", (1, per_page, offset))]
        assert got == want
        assert store.counted("SELECT COUNT(*) FROM items WHERE tenant_id = ?", (1,)) == store.scalar(
            "SELECT COUNT(*) FROM items WHERE tenant_id = ?", (1,)
        )
    store.close()
