"""``engagesync state NAME [--reset STREAM]``: each stream's cursor, and forgetting it.

A reset stream's next pull starts from the beginning (and, for a child stream, fetches every parent's
children again); its rows stay in the store.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from .common import DEFAULT_STORE, JsonOpt, StoreOpt, emit_json, fail, out
from .connected import connection as _connection
from .connected import streams_for as _streams

if TYPE_CHECKING:
    from ..client.streams import Stream


def print_columns(name: str, streams: Mapping[str, Stream], as_json: bool) -> None:
    """``streams NAME --columns``: every stream's columns with the store's type and meaning, the store's
    own columns included (the same text as the comments in the store)."""
    from ..client.streams import parse_type, type_name
    from ..sync.store.tables import META_COLUMNS, META_DOCS

    rows = [
        {
            "stream": stream.spec.name,
            "column": column,
            "type": type_name(parse_type(declared)),
            "meaning": stream.spec.docs.get(column, ""),
        }
        for stream in streams.values()
        for column, declared in [*stream.spec.columns.items(), *META_COLUMNS.items()]
    ]
    for row in rows:
        if row["column"] in META_DOCS:
            row["meaning"] = META_DOCS[row["column"]]
    if as_json:
        emit_json({"connection": name, "columns": rows})
        return
    for stream in streams.values():
        table = Table(title=f"{name}.{stream.spec.name}: {stream.spec.description}", title_justify="left")
        for column in ("column", "type", "meaning"):
            table.add_column(column)
        for row in rows:
            if row["stream"] == stream.spec.name:
                table.add_row(row["column"], escape(row["type"]), escape(row["meaning"]))
        out.print(table)


def _describe(state: dict[str, Any] | None) -> tuple[str, str]:
    """(status, detail) of one stream's stored state."""
    if not state:
        return "not pulled", ""
    mode: dict[str, Any] = state["pass"] if isinstance(state.get("pass"), dict) else {}
    full = " (full refresh)" if mode.get("full") else ""
    if state.get("complete"):
        return f"complete{full}", f"at {state.get('completed_at')}; next pass from {state.get('last')}"
    return f"in progress{full}", f"resumes from {state.get('cursor')}"


def state(
    name: Annotated[str, typer.Argument(help="Connection name.")],
    reset: Annotated[
        list[str] | None,
        typer.Option("--reset", help="Forget this stream's cursor (repeatable; 'all' for every stream)."),
    ] = None,
    store: StoreOpt = DEFAULT_STORE,
    as_json: JsonOpt = False,
) -> None:
    """Show each stream's cursor (what the next pull resumes from), or reset it."""
    from ..sync.store import Store

    connection = _connection(name)
    available = _streams(connection)
    chosen = list(dict.fromkeys(reset or []))
    unknown = [s for s in chosen if s != "all" and s not in available]
    if unknown:
        fail(f"unknown stream(s) {', '.join(unknown)} for --reset; available: {', '.join(available)} (or all)")
    with Store(store) as db:
        if "all" in chosen:
            db.reset_state(connection.name)
        for stream in chosen:
            if stream != "all":
                db.reset_state(connection.name, stream)
        states = db.states(connection.name)
        rows: list[dict[str, Any]] = [
            {
                "stream": stream,
                "rows": db.count(connection.name, stream),
                "state": states.get(stream),
                "reset": stream in chosen or "all" in chosen,
            }
            for stream in available
        ]
    if as_json:
        emit_json({"connection": name, "store": store, "streams": rows})
        return
    table = Table(title=f"state of {name} in {store}")
    for column in ("stream", "rows", "status", "cursor"):
        table.add_column(column)
    for row in rows:
        status, detail = _describe(row["state"])
        if row["reset"]:
            status += " [yellow](reset)[/yellow]"
        table.add_row(str(row["stream"]), f"{row['rows']:,}", status, escape(detail))
    out.print(table)
