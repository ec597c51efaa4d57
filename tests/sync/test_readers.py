"""Input readers: CSV, JSON Lines and DuckDB tables, streamed with the line numbers a user sees."""

from __future__ import annotations

import csv
import gzip
import json
import tracemalloc
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from engagesync.client.streams import StreamSpec
from engagesync.sync.readers import InputError, open_input, read_csv, read_duckdb, read_jsonl
from engagesync.sync.store import Store


def write(path: Path, text: str) -> str:
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_csv_rows_line_numbers_and_empty_cells(tmp_path: Path) -> None:
    path = write(
        tmp_path / "in.csv", '\ufeffemail,name,note\na@x.io,Ada,\n\nb@x.io,"Bob ""B""","two\nlines"\nc@x.io,Cy\n'
    )
    assert list(open_input(path)) == [
        (2, {"email": "a@x.io", "name": "Ada", "note": None}),
        (4, {"email": "b@x.io", "name": 'Bob "B"', "note": "two\nlines"}),
        (6, {"email": "c@x.io", "name": "Cy", "note": None}),  # short row: missing cells are None
    ]


def test_csv_errors_name_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.csv", "a,b\n1,2\n1,2,3\n")
    rows = read_csv(path)
    assert next(rows) == (2, {"a": "1", "b": "2"})
    with pytest.raises(InputError, match=r"bad\.csv, line 3: 3 values but the header has 2 columns"):
        next(rows)
    with pytest.raises(InputError, match="line 1: header repeats the column 'a'"):
        list(read_csv(write(tmp_path / "dup.csv", "a,b,a\n1,2,3\n")))
    with pytest.raises(InputError, match="line 3: not UTF-8 text: invalid continuation byte at column 1"):
        (tmp_path / "latin.csv").write_bytes(b"a\nok\n\xe9t\xe9\n")
        list(read_csv(str(tmp_path / "latin.csv")))


def test_tsv_and_gzip(tmp_path: Path) -> None:
    tsv = write(tmp_path / "in.tsv", "a\tb\nx\t\n")
    assert list(open_input(tsv)) == [(2, {"a": "x", "b": None})]
    gz = tmp_path / "in.jsonl.gz"
    with gzip.open(gz, "wt", encoding="utf-8") as handle:
        handle.write('{"a": 1}\n\n{"a": 2}\n')
    assert list(open_input(str(gz))) == [(1, {"a": 1}), (3, {"a": 2})]


def test_jsonl_skips_blank_lines_and_reports_bad_lines(tmp_path: Path) -> None:
    path = write(tmp_path / "in.jsonl", '{"a": 1}\n\n  \n{"a": {"b": [1, 2]}}\n{"a": 3,}\n{"a": 4}\n')
    rows = read_jsonl(path)
    assert next(rows) == (1, {"a": 1})
    assert next(rows) == (4, {"a": {"b": [1, 2]}})
    with pytest.raises(InputError) as info:
        next(rows)
    assert str(info.value).startswith(f"{path}, line 5: invalid JSON: ")
    assert "column" in str(info.value) and info.value.line == 5
    (tmp_path / "latin.jsonl").write_bytes(b'{"a": 1}\n{"a": "\xe9"}\n')
    with pytest.raises(InputError, match=r"latin\.jsonl, line 2: not UTF-8 text"):
        list(read_jsonl(str(tmp_path / "latin.jsonl")))
    with pytest.raises(InputError, match=r"line 2: expected a JSON object, got list"):
        list(open_input(write(tmp_path / "arr.ndjson", '{"a": 1}\n[1, 2]\n')))


def test_open_input_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"nope\.csv: file not found"):
        open_input(str(tmp_path / "nope.csv"))
    with pytest.raises(InputError, match=r"unknown input format \.xlsx; expected CSV"):
        open_input(write(tmp_path / "in.xlsx", ""))
    with pytest.raises(InputError, match="cannot be streamed: use JSON Lines"):
        open_input(write(tmp_path / "in.json", "[]"))
    with pytest.raises(InputError, match=r"expected duckdb:PATH::schema\.table"):
        open_input("duckdb:foo.duckdb")
    with pytest.raises(InputError, match="no store given"):
        open_input("duckdb:::main.t")
    with pytest.raises(InputError, match="file not found"):
        list(open_input(f"duckdb:{tmp_path / 'missing.duckdb'}::main.t"))


def test_duckdb_file_table_in_chunks(tmp_path: Path) -> None:
    db = str(tmp_path / "src.duckdb")
    con = duckdb.connect(db)
    con.execute("CREATE SCHEMA crm")
    con.execute(
        "CREATE TABLE crm.people AS SELECT i AS id, 'p' || i AS name, TIMESTAMP '2024-01-01 00:00:00' AS at, "
        "CAST(i AS DECIMAL(10, 2)) AS amount FROM range(1, 2501) r(i) ORDER BY i"
    )
    con.close()
    rows = list(open_input(f"duckdb:{db}::crm.people"))
    assert len(rows) == 2500
    assert rows[0] == (1, {"id": 1, "name": "p1", "at": "2024-01-01T00:00:00", "amount": 1})
    assert [n for n, _ in rows] == list(range(1, 2501))
    assert list(read_duckdb(db, "crm.people", chunk=7))[:2] == rows[:2]
    assert [r["id"] for _, r in open_input(f"{db}::crm.people")][-1] == 2500
    with pytest.raises(InputError, match="no such table"):
        list(open_input(f"duckdb:{db}::crm.nope"))


def test_duckdb_store_table(tmp_path: Path) -> None:
    with Store(str(tmp_path / "store.duckdb")) as store:
        spec = StreamSpec("tickets", ("number",), {"number": "BIGINT", "created_at": "TIMESTAMP", "tags": "JSON"})
        store.commit_page(
            "groove-helpdesk",
            spec,
            [{"number": i, "created_at": "2024-05-01T00:00:00Z", "tags": ["x"]} for i in range(1, 4)],
            None,
        )
        rows = list(open_input("duckdb:::groove_helpdesk.tickets", store=store))
        assert [n for n, _ in rows] == [1, 2, 3] and sorted(r["number"] for _, r in rows) == [1, 2, 3]
        first = rows[0][1]
        assert first["created_at"] == "2024-05-01T00:00:00" and first["tags"] == ["x"]  # JSON columns: values
        assert first["_raw"]["number"] == first["number"]
        assert isinstance(first["_synced_at"], str) and datetime.fromisoformat(first["_synced_at"])


def _peak_reading(path: str) -> tuple[int, int]:
    tracemalloc.start()
    try:
        count = 0
        for _line, _record in open_input(path):
            count += 1
        return count, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_csv_memory_stays_flat(tmp_path: Path) -> None:
    def generate(path: Path, n: int) -> str:
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["email", "name", "subject", "body", "tags"])
            for i in range(n):
                writer.writerow(
                    [
                        f"user{i}@example.com",
                        f"User {i}",
                        f"Order {i} is late",
                        f"Hello, my order {i} has not arrived.\nThanks",
                        "vip,beta",
                    ]
                )
        return str(path)

    small_n, big_n = 10_000, 200_000
    small = generate(tmp_path / "small.csv", small_n)
    big = generate(tmp_path / "big.csv", big_n)
    assert (tmp_path / "big.csv").stat().st_size > 15_000_000
    count_small, peak_small = _peak_reading(small)
    count_big, peak_big = _peak_reading(big)
    assert (count_small, count_big) == (small_n, big_n)
    # a whole-file read would need >15 MB; streaming stays within a few hundred KB whatever the size
    assert peak_big < 1_000_000, peak_big
    assert peak_big < peak_small * 1.5 + 50_000, (peak_small, peak_big)


def test_jsonl_memory_stays_flat(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    with open(path, "w", encoding="utf-8") as handle:
        for i in range(100_000):
            handle.write(json.dumps({"id": i, "email": f"u{i}@x.io", "tags": ["a", "b"], "note": "x" * 40}) + "\n")
    count, peak = _peak_reading(str(path))
    assert count == 100_000 and peak < 1_000_000, peak
