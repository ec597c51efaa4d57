"""Pull: page-by-page commits, resume after exceptions and after SIGKILL at random moments, fresh passes.

The fake source lives here too: ``python -m tests.sync.test_pull DB [--sleep S]`` runs a pull of it in a
subprocess (that is how the kill test gets a process to kill).
"""

from __future__ import annotations

import gc
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engagesync.client.http import ApiClient
from engagesync.client.streams import Page, Stream, StreamSpec
from engagesync.sync.pull import PullError, order_streams, pull
from engagesync.sync.store import Store, table_for

CONN = "fake-api"
ROOT = Path(__file__).resolve().parents[2]
SPEC = StreamSpec(
    "items", ("id",), {"id": "BIGINT", "title": "VARCHAR", "n": "DOUBLE", "updated_at": "TIMESTAMP", "tags": "JSON"}
)


def source_record(i: int, version: int = 1) -> dict[str, Any]:
    """The source's record ``i`` (deterministic; ``version`` changes every 7th record)."""
    v = version if i % 7 == 0 else 1
    return {
        "id": i,
        "title": f"item {i} v{v}",
        "n": i / 3,
        "updated_at": f"2024-01-{1 + i % 28:02d}T12:00:00Z",
        "tags": [f"t{i % 5}", {"v": v}],
        "extra": {"nested": i},
    }


class FakeStream:
    """``total`` records in pages of ``size``; state is the next page number; may fail or sleep per page."""

    def __init__(
        self,
        spec: StreamSpec = SPEC,
        total: int = 500,
        size: int = 50,
        version: int = 1,
        fail_at: int | None = None,
        sleep: float = 0.0,
        final_empty: bool = False,
    ) -> None:
        self.spec, self.total, self.size, self.version = spec, total, size, version
        self.fail_at, self.sleep, self.final_empty = fail_at, sleep, final_empty
        self.started_from: list[dict[str, Any] | None] = []

    def pages(self, client: ApiClient, state: dict[str, Any] | None) -> Iterator[Page]:
        self.started_from.append(state)
        page = state["page"] if state else 0
        pages = (self.total + self.size - 1) // self.size
        while page < pages:
            if self.sleep:
                time.sleep(self.sleep)
            if self.fail_at is not None and page == self.fail_at:
                raise ConnectionError(f"source died at page {page}")
            ids = range(page * self.size + 1, min((page + 1) * self.size, self.total) + 1)
            page += 1
            last = page == pages and not self.final_empty
            yield Page([source_record(i, self.version) for i in ids], None if last else {"page": page}, requests=1)
        if self.final_empty:
            yield Page([], None)


class ChildStream(FakeStream):
    def __init__(self, log: list[str], name: str, parent: str | None) -> None:
        super().__init__(StreamSpec(name, ("id",), {"id": "BIGINT"}, parent=parent), total=3, size=3)
        self.log = log

    def pages(self, client: ApiClient, state: dict[str, Any] | None) -> Iterator[Page]:
        self.log.append(self.spec.name)
        yield from super().pages(client, state)


def table_rows(store: Store, name: str = "items") -> list[tuple[Any, ...]]:
    return store.execute(
        f"SELECT id, title, n, strftime(updated_at, '%Y-%m-%dT%H:%M:%SZ'), tags, _raw "
        f"FROM {table_for(CONN, name)} ORDER BY id"
    )


def expected_rows(total: int, version: int = 1) -> list[tuple[Any, ...]]:
    out = []
    for i in range(1, total + 1):
        r = source_record(i, version)
        out.append((r["id"], r["title"], r["n"], r["updated_at"], r["tags"], r))
    return out


def assert_equals_source(store: Store, total: int, version: int = 1) -> None:
    got = table_rows(store)
    assert len(got) == len({row[0] for row in got}) == total
    normal = [(i, t, n, u, json.loads(tags), json.loads(raw)) for i, t, n, u, tags, raw in got]
    assert normal == expected_rows(total, version)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(str(tmp_path / "pull.duckdb")) as s:
        yield s


@pytest.fixture
def client() -> Iterator[ApiClient]:
    with ApiClient("http://fake.invalid") as c:  # the fake streams never use it
        yield c


def test_pull_stores_every_record_with_counts_and_progress(store: Store, client: ApiClient) -> None:
    seen: list[tuple[str, int, int]] = []
    result = pull(
        client,
        CONN,
        {"items": FakeStream(total=520)},
        None,
        store,
        progress=lambda *a: seen.append(a),
        commit_records=1,
    )
    assert result.ok and result.records == 520
    item = result.streams["items"]
    assert (item.records, item.pages, item.requests, item.status, item.resumed) == (520, 11, 11, "complete", False)
    assert seen[0] == ("items", 50, 1) and seen[-1] == ("items", 520, 11) and len(seen) == 11
    assert_equals_source(store, 520)
    state = store.get_state(CONN, "items")
    assert state is not None and state["complete"] is True and state["last"] == {"page": 10}
    run = store.runs(CONN)[0]
    assert (run.kind, run.target, run.status, run.counts["records"]) == ("pull", "items", "complete", 520)


def test_exception_inside_pages_resumes_from_the_last_committed_page(store: Store, client: ApiClient) -> None:
    failing = FakeStream(total=500, fail_at=6)
    with pytest.raises(PullError, match="source died at page 6") as info:
        pull(client, CONN, {"items": failing}, None, store)
    assert info.value.result.streams["items"].pages == 6
    assert store.get_state(CONN, "items") == {"cursor": {"page": 6}}
    assert store.count(CONN, "items") == 300
    assert store.runs(CONN)[0].status == "failed"

    again = FakeStream(total=500)
    result = pull(client, CONN, {"items": again}, None, store)
    assert again.started_from == [{"page": 6}]
    assert result.streams["items"].resumed and result.streams["items"].pages == 4
    assert_equals_source(store, 500)


def test_completed_stream_restarts_a_fresh_pass_that_upserts_changes(store: Store, client: ApiClient) -> None:
    pull(client, CONN, {"items": FakeStream(total=300)}, None, store)
    changed = FakeStream(total=300, version=2)
    result = pull(client, CONN, {"items": changed}, None, store)
    assert changed.started_from == [None] and not result.streams["items"].resumed
    assert result.streams["items"].records == 300
    assert_equals_source(store, 300, version=2)


def test_restart_state_hook_lets_a_stream_do_incremental_passes(store: Store, client: ApiClient) -> None:
    class Incremental(FakeStream):
        def restart_state(self, last: dict[str, Any] | None) -> dict[str, Any] | None:
            return {"page": 4, "since": last}

    pull(client, CONN, {"items": FakeStream(total=300)}, None, store)
    stream = Incremental(total=300)
    result = pull(client, CONN, {"items": stream}, None, store)
    assert stream.started_from == [{"page": 4, "since": {"page": 5}}]
    assert result.streams["items"].pages == 2


def test_stream_that_just_ends_or_ends_with_an_empty_page_is_complete(store: Store, client: ApiClient) -> None:
    class NoFinalNone(FakeStream):
        def pages(self, client: ApiClient, state: dict[str, Any] | None) -> Iterator[Page]:
            for page in super().pages(client, state):
                yield Page(page.records, page.state or {"page": 99})

    pull(client, CONN, {"items": NoFinalNone(total=120)}, None, store)
    assert (store.get_state(CONN, "items") or {}).get("complete") is True
    pull(client, CONN, {"items": FakeStream(total=120, final_empty=True)}, None, store)
    assert (store.get_state(CONN, "items") or {})["last"] == {"page": 3}
    assert_equals_source(store, 120)

    class Empty(FakeStream):
        def pages(self, client: ApiClient, state: dict[str, Any] | None) -> Iterator[Page]:
            return iter(())

    empty_spec = StreamSpec("empty", ("id",), {"id": "BIGINT"})
    result = pull(client, CONN, {"empty": Empty(spec=empty_spec)}, None, store)
    assert result.ok and store.count(CONN, "empty") == 0 and store.has_table(CONN, "empty")


def test_parents_before_children_and_selection(store: Store, client: ApiClient) -> None:
    log: list[str] = []
    streams: dict[str, Stream] = {
        "messages": ChildStream(log, "messages", "tickets"),
        "attachments": ChildStream(log, "attachments", "messages"),
        "tickets": ChildStream(log, "tickets", None),
        "groups": ChildStream(log, "groups", None),
    }
    assert order_streams(streams) == ["tickets", "messages", "attachments", "groups"]
    assert order_streams(streams, ["attachments", "groups"]) == ["attachments", "groups"]
    pull(client, CONN, streams, ["attachments", "tickets", "messages"], store)
    assert log == ["tickets", "messages", "attachments"]
    with pytest.raises(KeyError, match=r"unknown stream.*'nope'.*available: messages"):
        pull(client, CONN, streams, ["nope"], store)


def test_keep_going_skips_children_of_a_failed_stream(store: Store, client: ApiClient) -> None:
    log: list[str] = []
    broken = FakeStream(StreamSpec("tickets", ("id",), {"id": "BIGINT"}), total=10, size=5, fail_at=1)
    streams: dict[str, Stream] = {
        "tickets": broken,
        "messages": ChildStream(log, "messages", "tickets"),
        "groups": ChildStream(log, "groups", None),
    }
    result = pull(client, CONN, streams, None, store, keep_going=True)
    assert not result.ok
    assert [(s.name, s.status) for s in result.streams.values()] == [
        ("tickets", "failed"),
        ("messages", "skipped"),
        ("groups", "complete"),
    ]
    assert "source died" in (result.streams["tickets"].error or "")
    assert log == ["groups"]


def test_coercion_error_in_a_page_fails_the_stream_without_partial_page(store: Store, client: ApiClient) -> None:
    class Poisoned(FakeStream):
        def pages(self, client: ApiClient, state: dict[str, Any] | None) -> Iterator[Page]:
            for n, page in enumerate(super().pages(client, state)):
                if n == 2:
                    page.records[10]["n"] = "not a number"
                yield page

    with pytest.raises(PullError, match="field 'n' = 'not a number' is not a valid DOUBLE"):
        pull(client, CONN, {"items": Poisoned(total=500)}, None, store, commit_records=1)
    assert store.count(CONN, "items") == 100 and store.get_state(CONN, "items") == {"cursor": {"page": 2}}


# -- kill -9 at random moments ---------------------------------------------------------------------
KILL_TOTAL, KILL_PAGE = 5000, 50


def _child(db: str, sleep: float, version: int) -> None:
    """Entry point of the subprocess: pull the fake source, announcing each committed page."""
    with Store(db) as store, ApiClient("http://fake.invalid") as client:
        print("start", flush=True)
        source = FakeStream(total=KILL_TOTAL, size=KILL_PAGE, sleep=sleep, version=version)
        result = pull(
            client,
            CONN,
            {"items": source},
            None,
            store,
            commit_records=1,
            progress=lambda s, r, p: print(f"page {p}", flush=True),
        )
        item = result.streams["items"]
        print(json.dumps({"done": True, "pages": item.pages, "resumed": item.resumed}), flush=True)


def _spawn(db: str, sleep: float, version: int = 1) -> subprocess.Popen[str]:
    path = os.pathsep.join([str(ROOT), str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])
    return subprocess.Popen(
        [sys.executable, "-m", "tests.sync.test_pull", db, str(sleep), str(version)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": path},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _kill_at_page(proc: subprocess.Popen[str], page: int) -> None:
    """SIGKILL the child as soon as it announces its ``page``-th committed page of this run."""
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "start", proc.stderr.read() if proc.stderr else ""
    for line in proc.stdout:
        if line.strip() == f"page {page}":
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)


def test_sigkill_at_random_moments_then_rerun_equals_source(tmp_path: Path) -> None:
    db = str(tmp_path / "killed.duckdb")
    rng = random.Random(20240517)
    interrupted = 0
    history: list[tuple[Any, int]] = []
    for _ in range(6):
        proc = _spawn(db, sleep=0.006)
        _kill_at_page(proc, rng.randint(1, 20))
        with Store(db) as store:
            state = store.get_state(CONN, "items")
            count = store.count(CONN, "items")
        history.append((state, count))
        if proc.returncode == -signal.SIGKILL and state and "cursor" in state:
            interrupted += 1
            # the cursor never runs ahead of the data: every page before it is fully stored
            assert count >= state["cursor"]["page"] * KILL_PAGE
    assert interrupted >= 3, f"the kills should land mid-pull: {history}"
    print("kills (state, rows):", history)
    # rerun to completion
    proc = _spawn(db, sleep=0.0)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["done"]
    print("final run:", summary)
    with Store(db) as store:
        assert_equals_source(store, KILL_TOTAL)
        assert (store.get_state(CONN, "items") or {}).get("complete") is True

    # a second pass over changed source data, killed twice mid-way, ends equal to the changed source
    for page in (5, 12):
        _kill_at_page(_spawn(db, sleep=0.006, version=2), page)
    proc = _spawn(db, sleep=0.0, version=2)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    with Store(db) as store:
        assert_equals_source(store, KILL_TOTAL, version=2)


if __name__ == "__main__":
    _child(sys.argv[1], float(sys.argv[2]), int(sys.argv[3]))


def test_pages_are_committed_in_batches_with_the_cursor_of_the_last(store: Store, client: ApiClient) -> None:
    """Batching pays DuckDB's per-transaction cost once per batch; records and cursor still move together."""
    seen: list[tuple[str, int, int]] = []
    result = pull(
        client,
        CONN,
        {"items": FakeStream(total=520)},
        None,
        store,
        progress=lambda *a: seen.append(a),
        commit_records=200,
        commit_seconds=60,
    )
    assert result.records == 520 and store.count(CONN, "items") == 520
    assert [records for _, records, _ in seen] == [200, 400, 520]


class Stalling(FakeStream):
    """One page, then nothing until released (a long rate-limit wait, say), then the last page."""

    def __init__(self) -> None:
        super().__init__(total=100)
        self.go = threading.Event()
        self.released_by_a_commit: bool | None = None

    def pages(self, client: ApiClient, state: dict[str, Any] | None) -> Iterator[Page]:
        yield Page([source_record(i, 1) for i in range(1, 51)], {"page": 1})
        self.released_by_a_commit = self.go.wait(10)
        yield Page([source_record(i, 1) for i in range(51, 101)], None)


def test_pending_records_are_committed_after_commit_seconds_while_the_source_waits(
    store: Store, client: ApiClient
) -> None:
    stream = Stalling()
    seen: list[int] = []

    def progress(_: str, records: int, __: int) -> None:
        seen.append(records)
        stream.go.set()

    pull(client, CONN, {"items": stream}, None, store, progress=progress, commit_records=1_000, commit_seconds=0.2)
    assert stream.released_by_a_commit is True  # the first page was committed while the source still waited
    assert seen == [50, 100] and store.count(CONN, "items") == 100


def test_many_small_pages_fill_the_prefetch_queue_and_are_committed(store: Store, client: ApiClient) -> None:
    # 300 one-record pages, far more than the queue holds, and a commit threshold above the total: the
    # consumer must take the pages when the queue is full, not wait for a threshold that never comes
    done = threading.Event()

    def run() -> None:
        pull(
            client,
            CONN,
            {"items": FakeStream(total=300, size=1)},
            None,
            store,
            commit_records=10_000,
            commit_seconds=60,
        )
        done.set()

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    assert done.wait(30), "the pull stalled with a full prefetch queue"
    assert store.count(CONN, "items") == 300


class Observing(FakeStream):
    """Records what the interpreter's settings were while its pages were fetched."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.seen: list[tuple[bool, float]] = []

    def pages(self, client: ApiClient, state: dict[str, Any] | None) -> Iterator[Page]:
        for page in super().pages(client, state):
            self.seen.append((gc.isenabled(), sys.getswitchinterval()))
            yield page


def test_a_pull_shortens_the_switch_interval_and_pauses_gc_then_restores_both(store: Store, client: ApiClient) -> None:
    before = (gc.isenabled(), sys.getswitchinterval())
    stream = Observing(total=200)
    pull(client, CONN, {"items": stream}, None, store)
    assert stream.seen and all(not enabled and interval <= 0.0002 for enabled, interval in stream.seen)
    assert (gc.isenabled(), sys.getswitchinterval()) == before


def test_concurrent_pulls_restore_the_settings_only_when_the_last_ends(tmp_path: Path, client: ApiClient) -> None:
    before = (gc.isenabled(), sys.getswitchinterval())
    release = threading.Event()
    inside = threading.Event()

    class Held(FakeStream):
        def pages(self, client: ApiClient, state: dict[str, Any] | None) -> Iterator[Page]:
            inside.set()
            release.wait(10)
            yield from super().pages(client, state)

    def first() -> None:
        with Store(str(tmp_path / "a.duckdb")) as a:
            pull(client, CONN, {"items": Held(total=50)}, None, a)

    worker = threading.Thread(target=first)
    worker.start()
    assert inside.wait(10)
    with Store(str(tmp_path / "b.duckdb")) as b:
        pull(client, CONN, {"items": FakeStream(total=50)}, None, b)
    assert not gc.isenabled()  # the first pull still runs
    release.set()
    worker.join(10)
    assert (gc.isenabled(), sys.getswitchinterval()) == before
