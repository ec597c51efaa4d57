"""Push inputs that must fail (or do nothing) before anything is sent, and pulled tables pushed back."""

from __future__ import annotations

import gzip
from pathlib import Path

import duckdb
import pytest

from engagesync.apis.groove_helpdesk.connector.actions import actions
from engagesync.client.streams import StreamSpec
from engagesync.sync.mapping import Mapping, Rule
from engagesync.sync.preflight import PreflightError, check_columns, check_mapping, open_checked
from engagesync.sync.readers import InputError, header_based, open_input
from engagesync.sync.store import Store

CREATE_TICKET = actions()["create_ticket"]


def write(path: Path, text: str) -> str:
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_a_csv_gz_that_is_not_gzip_is_an_input_error(tmp_path: Path) -> None:
    path = write(tmp_path / "plain.csv.gz", "email,name\na@x.io,A\n")
    with pytest.raises(InputError, match=r"plain\.csv\.gz: is not gzip-compressed: rename it without \.gz"):
        next(open_input(path))


def test_a_truncated_csv_gz_fails_before_its_first_record(tmp_path: Path) -> None:
    whole = gzip.compress(("email,name\n" + "".join(f"u{i}@x.io,U{i}\n" for i in range(5000))).encode())
    (tmp_path / "cut.csv.gz").write_bytes(whole[: len(whole) // 2])
    rows = open_input(str(tmp_path / "cut.csv.gz"))
    with pytest.raises(InputError, match=r"cut\.csv\.gz: the gzip file is truncated"):
        next(rows)  # the first rows are intact, yet none is handed out


def test_duckdb_double_colon_reads_the_open_store_and_json_columns_come_back_as_values(tmp_path: Path) -> None:
    path = str(tmp_path / "store.duckdb")
    spec = StreamSpec("contacts", ("id",), {"id": "BIGINT", "account": "JSON", "lists": "JSON", "note": "VARCHAR"})
    with Store(path) as store:
        store.commit_page(
            "growthgenius",
            spec,
            [{"id": 1, "account": {"id": 7, "status": "cold"}, "lists": ["a", "b"], "note": '{"not": "json"}'}],
            None,
        )
        for spec_text in ("duckdb::growthgenius.contacts", f"duckdb:{path}::growthgenius.contacts"):
            [(line, row)] = list(open_input(spec_text, store=store))
            assert line == 1
            assert row["account"] == {"id": 7, "status": "cold"} and row["lists"] == ["a", "b"]
            assert row["note"] == '{"not": "json"}'  # a text column stays text
        with pytest.raises(InputError, match=r"no such table growthgenius\.nope \(tables: growthgenius\.contacts\)"):
            next(open_input("duckdb::growthgenius.nope", store=store))


def test_a_store_named_like_a_schema_is_not_ambiguous(tmp_path: Path) -> None:
    with Store(str(tmp_path / "growthgenius.duckdb")) as store:
        store.commit_page("growthgenius", StreamSpec("contacts", ("id",), {"id": "BIGINT"}), [{"id": 3}], None)
        assert [r["id"] for _, r in open_input("duckdb::growthgenius.contacts", store=store)] == [3]


def test_a_file_that_is_not_duckdb_is_an_input_error(tmp_path: Path) -> None:
    path = write(tmp_path / "x.duckdb", "this is not a database\n")
    with pytest.raises(InputError, match=r"x\.duckdb: cannot open it as a DuckDB database"):
        next(open_input(f"duckdb:{path}::main.t"))


def test_json_columns_of_another_duckdb_file(tmp_path: Path) -> None:
    path = str(tmp_path / "src.duckdb")
    con = duckdb.connect(path)
    con.execute("CREATE TABLE t AS SELECT 1 AS id, '{\"a\": [1, 2]}'::JSON AS doc")
    con.close()
    assert list(open_input(f"duckdb:{path}::main.t")) == [(1, {"id": 1, "doc": {"a": [1, 2]}})]


def test_rule_sources_and_missing_columns() -> None:
    assert Rule("state", "'closed'").sources() == []
    assert Rule("email", "lower(mail)").sources() == ["mail"]
    assert Rule("subject", "Order {id} for {name}").sources() == ["id", "name"]
    assert Rule("note", "true").missing(["email"]) == []  # a JSON constant
    assert Rule("body", "mesage").missing(["message"]) == ["mesage"]
    assert Rule("body", "message").missing(["message"]) == []


def test_a_map_target_that_is_not_a_field_is_refused() -> None:
    check_mapping(Mapping.parse(["from.email=email", "body=message"]), CREATE_TICKET)
    with pytest.raises(PreflightError, match=r"--map bdy=message: 'bdy' is not a field of create_ticket; did you"):
        check_mapping(Mapping.parse(["bdy=message"]), CREATE_TICKET)


def test_a_map_source_absent_from_the_header_is_refused() -> None:
    mapping = Mapping.parse(["body=mesage", "subject=Re {topic}"])
    with pytest.raises(PreflightError, match=r"no column 'mesage' in in\.csv; did you mean 'message'\?.*body='mesage'"):
        check_columns(mapping, ["email", "message", "topic"], "in.csv")
    with pytest.raises(PreflightError, match=r"--map subject=Re \{topic\}: no column 'topic'"):
        check_columns(Mapping.parse(["subject=Re {topic}"]), ["email"], "in.csv")


def test_open_checked_empty_header_only_and_json_lines(tmp_path: Path) -> None:
    with Store(str(tmp_path / "s.duckdb")) as store:
        mapping = Mapping.parse(["body=message"])
        for text in ("", "\n\n", "email,message\n"):
            assert open_checked(write(tmp_path / "e.csv", text), mapping, CREATE_TICKET, store) is None
        path = write(tmp_path / "in.csv", "email,message\na@x.io,hi\nb@x.io,yo\n")
        rows = open_checked(path, mapping, CREATE_TICKET, store)
        assert rows is not None and [n for n, _ in rows] == [2, 3]  # the peeked first record is kept
        # JSON Lines has no header: a key absent from the first object is not a pre-flight error
        assert not header_based("in.jsonl.gz") and header_based("in.csv.gz")
        jsonl = write(tmp_path / "in.jsonl", '{"email": "a@x.io"}\n{"email": "b@x.io", "message": "hi"}\n')
        assert open_checked(jsonl, mapping, CREATE_TICKET, store) is not None
        with pytest.raises(PreflightError, match="no column 'message'"):
            open_checked(write(tmp_path / "m.csv", "email\na@x.io\n"), mapping, CREATE_TICKET, store)
