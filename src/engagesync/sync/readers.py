"""Streaming input readers for push: each yields ``(line_number, record)`` and never holds a whole file.

- CSV / TSV (``.csv``, ``.tsv``, optionally ``.gz``): the header names the fields; empty cells become
  ``None``; the line number is the physical line where the row starts, header = line 1 (a quoted field
  spanning lines counts its lines, blank lines are skipped but counted).
- JSON Lines (``.jsonl``, ``.ndjson``, optionally ``.gz``): one object per line; blank lines are skipped;
  a line that is not valid JSON (or not an object) raises ``InputError`` naming the file, line and reason.
- DuckDB: ``duckdb:PATH::schema.table`` (or ``PATH.duckdb::schema.table``), or ``duckdb::schema.table``
  (also a PATH that is the store's own file) for the engine's open store, which cannot take a second
  connection; read in chunks through a streaming cursor. The "line number" is the row's 1-based
  position. Dates and timestamps come out as ISO text, decimals as numbers, and JSON columns (objects
  and arrays a pull stored) as the values they hold, so a pulled table pushes back as it came.
- gzip: the file is decompressed once up front, so a damaged or truncated one fails before any record
  is pushed.
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import io
import json
import os
import sys
import zlib
from collections.abc import Callable, Iterator
from datetime import date, datetime, time
from decimal import Decimal
from typing import IO, Any
from uuid import UUID

import duckdb

from .store import ENGINE_SCHEMA, Store, quote

Record = tuple[int, dict[str, Any]]
#: Largest single CSV field accepted (the csv module's default is 128 KiB; message bodies can exceed it).
CSV_FIELD_LIMIT = 64 * 1024 * 1024
DUCKDB_CHUNK = 1000
FORMATS = "CSV (.csv, .tsv), JSON Lines (.jsonl, .ndjson), optionally gzipped, or duckdb:PATH::schema.table"


class InputError(ValueError):
    """Bad input: names the source, the line (when known) and the reason."""

    def __init__(self, source: str, reason: str, line: int | None = None) -> None:
        self.source, self.line, self.reason = source, line, reason
        where = f"{source}, line {line}" if line is not None else source
        super().__init__(f"{where}: {reason}")


#: Errors of a damaged gzip stream (bad header, corrupt or truncated data).
GZIP_ERRORS = (EOFError, gzip.BadGzipFile, zlib.error)


def _open_text(path: str) -> IO[str]:
    if not os.path.exists(path):
        raise InputError(path, "file not found")
    if os.path.isdir(path):
        raise InputError(path, "is a directory, not a file")
    if path.lower().endswith(".gz"):
        _check_gzip(path)
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8-sig", newline="")
    return open(path, encoding="utf-8-sig", newline="")


def _check_gzip(path: str) -> None:
    """Decompress the whole file once (flat memory) so a damaged one fails before any record is pushed."""
    with open(path, "rb") as raw:
        magic = raw.read(2)
    if magic != b"\x1f\x8b":
        raise InputError(path, "is not gzip-compressed: rename it without .gz, or compress it with gzip")
    try:
        with gzip.open(path, "rb") as handle:
            while handle.read(1 << 20):
                pass
    except EOFError:
        raise InputError(path, "the gzip file is truncated (it ends mid-stream): copy or export it again") from None
    except (gzip.BadGzipFile, zlib.error) as exc:
        raise InputError(path, f"the gzip file is damaged ({exc}): copy or export it again") from None


def _gzip_error(path: str, exc: BaseException, line: int) -> InputError:
    """A gzip stream that broke while reading (it passed ``_check_gzip``, so it changed meanwhile)."""
    return InputError(path, f"the gzip data is damaged or truncated here ({_first_line(exc)})", line)


def _decode_error(path: str, exc: UnicodeDecodeError) -> InputError:
    """Text is decoded in blocks, so find the physical line that is not UTF-8 by a streaming rescan."""
    opener = gzip.open if path.lower().endswith(".gz") else open
    with opener(path, "rb") as raw:
        for number, data in enumerate(raw, 1):
            try:
                data.decode("utf-8")
            except UnicodeDecodeError as bad:
                return InputError(path, f"not UTF-8 text: {bad.reason} at column {bad.start + 1}", number)
    return InputError(path, f"not UTF-8 text: {exc.reason}")


def read_csv(path: str, delimiter: str = ",") -> Iterator[Record]:
    """Rows of a CSV file as dicts keyed by the header, with the line where each row starts."""
    if csv.field_size_limit() < CSV_FIELD_LIMIT:
        csv.field_size_limit(min(CSV_FIELD_LIMIT, sys.maxsize))
    with _open_text(path) as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        end = 0  # physical line where the previous row ended
        header: list[str] | None = None
        try:
            for row in reader:
                line, end = end + 1, reader.line_num
                if not row:
                    continue  # blank line
                if header is None:
                    header = [h.strip() for h in row]
                    _check_header(path, header, line)
                    continue
                if len(row) > len(header):
                    raise InputError(path, f"{len(row)} values but the header has {len(header)} columns", line)
                record: dict[str, Any] = {h: (v if v != "" else None) for h, v in zip(header, row, strict=False)}
                for h in header[len(row) :]:
                    record[h] = None
                yield line, record
        except csv.Error as exc:
            raise InputError(path, f"malformed CSV: {exc}", end + 1) from exc
        except GZIP_ERRORS as exc:
            raise _gzip_error(path, exc, end + 1) from None
        except UnicodeDecodeError as exc:
            raise _decode_error(path, exc) from exc


def _check_header(path: str, header: list[str], line: int) -> None:
    seen: set[str] = set()
    for i, name in enumerate(header, 1):
        if not name:
            raise InputError(path, f"header column {i} has no name", line)
        if name in seen:
            raise InputError(path, f"header repeats the column {name!r}", line)
        seen.add(name)


def read_jsonl(path: str) -> Iterator[Record]:
    """Objects of a JSON Lines file with their line numbers; blank lines are skipped."""
    with _open_text(path) as handle:
        line = 0
        try:
            for line, text in enumerate(handle, 1):
                if not text.strip():
                    continue
                try:
                    value = json.loads(text)
                except json.JSONDecodeError as exc:
                    raise InputError(path, f"invalid JSON: {exc.msg} (column {exc.colno})", line) from exc
                if not isinstance(value, dict):
                    raise InputError(path, f"expected a JSON object, got {type(value).__name__}", line)
                yield line, value
        except GZIP_ERRORS as exc:
            raise _gzip_error(path, exc, line + 1) from None
        except UnicodeDecodeError as exc:
            raise _decode_error(path, exc) from exc


def _json_friendly(value: Any) -> Any:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, list):
        return [_json_friendly(v) for v in value]
    if isinstance(value, dict):
        return {k: _json_friendly(v) for k, v in value.items()}
    return value


def _table_name(table: str) -> str:
    parts = [p for p in table.split(".") if p]
    if not parts or len(parts) > 3:
        raise InputError(table, "expected a table name like schema.table")
    return ".".join(quote(p.strip('"')) for p in parts)


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _tables(run: Callable[[str], list[tuple[Any, ...]]]) -> str:
    """The user tables of a database, for a "no such table" message (engine tables left out)."""
    rows = run(
        "SELECT table_schema || '.' || table_name FROM information_schema.tables "
        f"WHERE table_schema <> '{ENGINE_SCHEMA}' AND table_catalog = current_database() ORDER BY 1"
    )
    names = [str(r[0]) for r in rows]
    if not names:
        return "it has no tables"
    shown = ", ".join(names[:20]) + (f" and {len(names) - 20} more" if len(names) > 20 else "")
    return f"tables: {shown}"


def _describe(label: str, table: str, run: Callable[[str], list[tuple[Any, ...]]], name: str) -> set[str]:
    """The table's JSON-typed columns; a missing table is an ``InputError`` listing the tables there are."""
    try:
        return {str(r[0]) for r in run(f"DESCRIBE {name}") if str(r[1]).upper() == "JSON"}
    except duckdb.CatalogException:
        raise InputError(label, f"no such table {table} ({_tables(run)}); pull it first or fix the name") from None


def _row(names: list[str], json_columns: set[str], row: tuple[Any, ...]) -> dict[str, Any]:
    """A table row as a record: JSON columns (objects, arrays pulled from an API) become values again."""
    record = {}
    for name, value in zip(names, row, strict=True):
        if name in json_columns and isinstance(value, str):
            with contextlib.suppress(ValueError):  # DuckDB checks JSON on insert; keep the text if not
                value = json.loads(value)
        record[name] = _json_friendly(value)
    return record


def read_duckdb(source: str | Store, table: str, chunk: int = DUCKDB_CHUNK) -> Iterator[Record]:
    """Rows of a DuckDB table (from a database file or the engine's ``Store``), read in chunks."""
    name = _table_name(table)
    if isinstance(source, Store):
        label = f"{source.path}::{table}"
        if name.count(".") == 1:  # schema.table: qualify with the store's catalog (see Store.__init__)
            name = f"{quote(str(source.execute('SELECT current_database()')[0][0]))}.{name}"
        json_columns = _describe(label, table, source.execute, name)
        row_number = 0
        for names, rows in source.iter_query(f"SELECT * FROM {name}", chunk=chunk):
            for row in rows:
                row_number += 1
                yield row_number, _row(names, json_columns, row)
        return
    label = f"{source}::{table}"
    if not os.path.exists(source):
        raise InputError(source, "file not found")
    try:
        try:
            con = duckdb.connect(source, read_only=True)
        except duckdb.ConnectionException:
            con = duckdb.connect(source)  # already open in this process with another configuration
    except duckdb.Error as exc:
        raise InputError(
            source,
            f"cannot open it as a DuckDB database ({_first_line(exc)}); "
            "if another engagesync is using it, wait for it to finish",
        ) from None
    try:
        json_columns = _describe(label, table, lambda sql: con.execute(sql).fetchall(), name)
        cursor = con.execute(f"SELECT * FROM {name}")
        names = [d[0] for d in cursor.description or []]
        row_number = 0
        while rows := cursor.fetchmany(chunk):
            for row in rows:
                row_number += 1
                yield row_number, _row(names, json_columns, row)
    finally:
        con.close()


def _same_file(path: str, store: Store | None) -> bool:
    if store is None:
        return False
    try:
        return os.path.samefile(path, store.path)
    except OSError:
        return os.path.abspath(path) == os.path.abspath(store.path)


def _duckdb_spec(spec: str) -> tuple[str, str] | None:
    """``(path, table)`` of a DuckDB input (path ``""``: the store itself), or None for a file input."""
    if not (spec.startswith("duckdb:") or "::" in spec):
        return None
    body = spec.removeprefix("duckdb:")
    if body.startswith(":"):  # duckdb::schema.table (and the older duckdb:::schema.table): the store
        path, sep, table = "", "::", body.lstrip(":")
    else:
        path, sep, table = body.partition("::")
    if not sep or not table:
        raise InputError(spec, "expected duckdb:PATH::schema.table, or duckdb::schema.table for the store")
    return path, table


def check_exists(spec: str) -> None:
    """The cheap checks of an input, before the store is opened: known format, the file is there."""
    duck = _duckdb_spec(spec)
    if duck is None:
        open_input(spec)  # format and existence are checked eagerly; nothing is read until iterated
    elif duck[0] and not os.path.exists(duck[0]):
        raise InputError(duck[0], "file not found")


def header_based(spec: str) -> bool:
    """Whether every record of this input has the same columns (CSV header, table): JSON Lines has none."""
    return not spec.lower().removesuffix(".gz").endswith((".jsonl", ".ndjson"))


def open_input(spec: str, store: Store | None = None) -> Iterator[Record]:
    """Choose a reader by prefix or extension; see the module docstring for the accepted forms."""
    duck = _duckdb_spec(spec)
    if duck is not None:
        path, table = duck
        if not path or _same_file(path, store):  # the open store: a second connection to it would fail
            if store is None:
                raise InputError(spec, "no store given for duckdb::schema.table")
            return read_duckdb(store, table)
        return read_duckdb(path, table)
    lower = spec.lower()
    base = lower.removesuffix(".gz")
    if base.endswith(".csv"):
        reader = read_csv(spec)
    elif base.endswith(".tsv"):
        reader = read_csv(spec, delimiter="\t")
    elif base.endswith((".jsonl", ".ndjson")):
        reader = read_jsonl(spec)
    else:
        ext = os.path.splitext(base)[1] or "(none)"
        hint = " (a .json array cannot be streamed: use JSON Lines)" if base.endswith(".json") else ""
        raise InputError(spec, f"unknown input format {ext}{hint}; expected {FORMATS}")
    if not os.path.exists(spec):
        raise InputError(spec, "file not found")
    return reader
