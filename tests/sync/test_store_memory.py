"""The store's DuckDB memory ceiling: small by default (a pull's peak RSS is bounded by it), changeable
through the environment, and not in the way of a batch of long records."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engagesync.client.streams import StreamSpec
from engagesync.sync.store import Store, StoreOpenError, table_for
from engagesync.sync.store.base import DEFAULT_MEMORY

SPEC = StreamSpec(
    name="notes",
    primary_key=("id",),
    columns={"id": "BIGINT", "body": "VARCHAR", "tags": "JSON"},
)
CONN = "groove-helpdesk"


def _mib(store: Store) -> float:
    """The connection's memory_limit in MiB (DuckDB reports it in its own units)."""
    bytes_ = store.execute(
        "SELECT memory_limit FROM (SELECT CAST(current_setting('memory_limit') AS VARCHAR) AS memory_limit)"
    )[0][0]
    number, unit = str(bytes_).split()
    return float(number) * {"KiB": 1 / 1024, "MiB": 1, "GiB": 1024}[unit]


def test_the_default_ceiling_is_small_without_any_environment_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ENGAGESYNC_DUCKDB_MEMORY", raising=False)
    with Store(str(tmp_path / "s.duckdb")) as store:
        limit = _mib(store)
        threads = store.execute("SELECT current_setting('threads')")[0][0]
    assert DEFAULT_MEMORY == "64MB"
    assert 55 <= limit <= 64  # 64 MB as DuckDB reports it (in MiB)
    assert int(threads) == 1


def test_the_environment_changes_the_ceiling_and_a_bad_value_is_one_clear_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ENGAGESYNC_DUCKDB_MEMORY", "1GB")
    with Store(str(tmp_path / "s.duckdb")) as store:
        assert 900 <= _mib(store) <= 1024
    monkeypatch.setenv("ENGAGESYNC_DUCKDB_MEMORY", "  ")  # blank: the default, not an error
    with Store(str(tmp_path / "s.duckdb")) as store:
        assert _mib(store) <= 64
    monkeypatch.setenv("ENGAGESYNC_DUCKDB_MEMORY", "lots")
    with pytest.raises(StoreOpenError, match=r"ENGAGESYNC_DUCKDB_MEMORY='lots' is not a memory size"):
        Store(str(tmp_path / "s.duckdb"))


def _note(i: int, body: str) -> dict[str, Any]:
    return {"id": i, "body": body, "tags": [f"t{i % 7}", "x"]}


def test_a_commit_of_long_records_fits_under_the_ceiling_and_still_dedupes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pull's batch of 2,000 records of 12 KB (24 MB of JSON) is staged in chunks small enough for
    the ceiling (one 24 MB parameter was refused: Out of Memory); re-sending the same keys with one
    change writes exactly that one row, and the state stays with the data."""
    monkeypatch.delenv("ENGAGESYNC_DUCKDB_MEMORY", raising=False)
    body = "y" * 12_000
    records = [_note(i, f"{i}:{body}") for i in range(2_000)]
    path = str(tmp_path / "big.duckdb")
    with Store(path) as store:
        first = store.commit_page(CONN, SPEC, records + records[:300], {"cursor": {"page": 1}})
        assert (first.read, first.new, first.changed) == (2_000, 2_000, 0)
        again = [*records[:10], {**records[3], "body": "changed"}]
        second = store.commit_page(CONN, SPEC, again, {"cursor": {"page": 2}})
        assert (second.read, second.new, second.changed, second.unchanged) == (10, 0, 1, 9)
    with Store(path) as store:  # reopened: everything was committed to the file
        table = table_for(CONN, "notes")
        count, distinct, total = store.execute(f"SELECT count(*), count(DISTINCT id), sum(length(body)) FROM {table}")[
            0
        ]
        assert count == distinct == 2_000
        assert total == sum(len(r["body"]) for r in records) - len(records[3]["body"]) + len("changed")
        assert store.get_state(CONN, "notes") == {"cursor": {"page": 2}}
