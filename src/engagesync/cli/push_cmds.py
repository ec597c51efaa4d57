"""The push commands: actions, push, rejects (a connection's write actions, records sent through one,
and the records an API refused).

Each command imports the engine modules it uses when it runs (tests/test_cli_imports.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.table import Table

from ..client.errors import AuthError, EngageSyncError
from .common import (
    DEFAULT_STORE,
    FAILED,
    OK,
    PARTIAL,
    JsonOpt,
    StoreOpt,
    TimeoutOpt,
    emit_json,
    err,
    fail,
    out,
)
from .connected import client_for as _client
from .connected import connection as _connection
from .progress import live_progress

if TYPE_CHECKING:
    from ..sync.push import PushResult


def actions(
    name: Annotated[str, typer.Argument(help="Connection name.")],
    action: Annotated[str | None, typer.Argument(help="Show one action's fields.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """List push actions (endpoint templates) with their fields."""
    from ..sync import connectors

    connection = _connection(name)
    found = connectors.actions_for(connection)
    if action and action not in found:
        fail(f"unknown action {action!r}; available: {', '.join(found)}")
    selected = [found[action]] if action else list(found.values())
    if as_json:
        emit_json(
            {
                "actions": [
                    {
                        "name": a.name,
                        "title": a.title,
                        "method": a.method,
                        "path": a.path,
                        "creates": a.creates,
                        "fields": [vars(f) for f in a.fields],
                    }
                    for a in selected
                ]
            }
        )
        return
    for a in selected:
        table = Table(title=f"{a.name}: {a.title}  ({a.method} {a.path})", title_justify="left")
        for column in ("field", "required", "type", "in", "description"):
            table.add_column(column)
        for f in a.fields:
            kind = f.type if not f.enum else " | ".join(f.enum)
            table.add_row(f.name, "yes" if f.required else "", kind, "path" if f.path else "body", f.description)
        out.print(table)


def push(
    name: Annotated[str, typer.Argument(help="Connection name.")],
    action: Annotated[str, typer.Argument(help="Action (see `engagesync actions NAME`).")],
    input_: Annotated[str, typer.Option("--input", help="CSV, JSONL (optionally .gz) or duckdb:PATH::schema.table.")],
    map_: Annotated[
        list[str] | None,
        typer.Option("--map", help="TO=FROM: a column, 'constant', template {col}, or lower(col)... (repeatable)."),
    ] = None,
    key: Annotated[
        str | None,
        typer.Option(
            help="Column identifying a record across runs (default: a hash of the source row, so a changed --map "
            "re-creates nothing). Pass it when rows may be edited between runs (e.g. fixing a rejected row), or "
            "when two identical rows are two records."
        ),
    ] = None,
    batch_size: Annotated[
        int,
        typer.Option(
            min=1,
            help="Records per batch: their ledger marks, responses and rejects are written in one transaction each.",
        ),
    ] = 100,
    concurrency: Annotated[
        int,
        typer.Option(
            min=1, max=32, help="Requests in flight at once (all under the rate budget; >1 may reorder creates)."
        ),
    ] = 1,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the exact requests; send nothing.")] = False,
    test: Annotated[
        bool, typer.Option("--test", help="Send the first record once, no retries; show the response.")
    ] = False,
    store: StoreOpt = DEFAULT_STORE,
    timeout: TimeoutOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Push records into an API through an action; re-runs create nothing twice."""
    from ..sync import connectors
    from ..sync.mapping import Mapping, MappingError
    from ..sync.preflight import before_store, open_checked
    from ..sync.push import Pusher
    from ..sync.readers import InputError
    from ..sync.store import Store

    connection = _connection(name)
    found = connectors.actions_for(connection)
    if action not in found:
        fail(f"unknown action {action!r}; available: {', '.join(found)}")
    spec = found[action]
    try:
        mapping = Mapping.parse(map_ or [], passthrough=[f.name for f in spec.fields])
        before_store(input_, mapping, spec)
        with (
            live_progress(as_json or dry_run or test) as (progress, on_wait),
            Store(store) as db,
            _client(connection, timeout, on_wait=on_wait) as client,
        ):
            rows = open_checked(input_, mapping, spec, db)
            if rows is None:
                err.print(f"[yellow]warning:[/yellow] {input_} has no records: nothing to push", soft_wrap=True)
                rows = iter(())
            task = progress.add_task(f"push {action}", total=None, detail="")

            def on_record(_: str, counts: dict[str, Any]) -> None:
                progress.update(
                    task, detail=f"{counts['read']:,} read, {counts['done']:,} done, {counts['rejected']:,} rejected"
                )

            pusher = Pusher(
                client,
                connection.name,
                spec,
                db,
                mapping=mapping,
                key_field=key,
                progress=on_record,
                batch_size=batch_size,
                concurrency=concurrency,
            )
            try:
                result = pusher.run(rows, dry_run=dry_run, test=test)
            except EngageSyncError as exc:
                _stopped(exc, pusher.result, "push")
            open_rejects = db.reject_count(connection.name, spec.name)
    except (InputError, MappingError, ValueError) as exc:
        fail(str(exc))
    summary = result.to_dict()
    if as_json:
        emit_json(
            {
                "connection": name,
                **summary,
                "open_rejects": open_rejects,
                "requests": result.requests if (dry_run or test) else [],
            }
        )
    else:
        for item in result.requests:
            out.print_json(json.dumps(item, default=str))
        if result.previews_omitted:
            out.print(f"… {result.previews_omitted:,} more request(s) not shown")
        table = Table(title=f"push {name} {action}{' (dry run)' if dry_run else ''}{' (test)' if test else ''}")
        for column in ("read", "done", "skipped (already pushed)", "reconciled", "rejected", "elapsed"):
            table.add_column(column)
        table.add_row(
            str(result.read),
            str(result.done),
            str(result.skipped),
            str(result.reconciled),
            str(result.rejected),
            f"{result.elapsed:.2f}s",
        )
        out.print(table)
        if result.rejected and not dry_run:
            err.print(f"{result.rejected} record(s) rejected: `engagesync rejects {name}` lists them with reasons")
    raise typer.Exit(PARTIAL if result.rejected else OK)


def _stopped(exc: EngageSyncError, result: PushResult, what: str) -> NoReturn:
    """A push that stopped on the API, not on a record: one line, exit 3 (credential) or 4 (unreachable)."""
    from ..sync.push import is_outage

    if isinstance(exc, AuthError):
        raise exc  # the CLI's error handler words a refused credential (exit 3)
    why = "the API could not be reached" if is_outage(exc) else "the API failed"
    fail(
        f"{why} ({exc}); {what} stopped with {result.done} done and {result.rejected} rejected, the rest left "
        "for the next run (records whose outcome is unknown are looked up first): run the same command again "
        "when the API answers (or give a slow API more time with --timeout)",
        FAILED,
    )


def rejects(
    name: Annotated[str, typer.Argument(help="Connection name.")],
    action: Annotated[str | None, typer.Option(help="Only this action's rejects.")] = None,
    retry: Annotated[
        bool,
        typer.Option(
            "--retry",
            help="Send open rejects again (after fixing the cause), with the mapping, key and options of the push "
            "that rejected them.",
        ),
    ] = False,
    dismiss: Annotated[
        list[str] | None,
        typer.Option("--dismiss", help="Close an open reject without sending it: its ID (repeatable), or 'all'."),
    ] = None,
    all_: Annotated[
        bool, typer.Option("--all", help="Dismiss every open reject (of --action, if given); same as --dismiss all.")
    ] = False,
    store: StoreOpt = DEFAULT_STORE,
    as_json: JsonOpt = False,
) -> None:
    """List rejected records with the field and reason, retry them, or dismiss them."""
    from ..sync import connectors
    from ..sync.push import Pusher
    from ..sync.push_retry import retry_rejects
    from ..sync.store import Store

    connection = _connection(name)
    if not Path(store).exists():
        fail(f"no store at {store}")
    dismiss_all = all_ or "all" in (dismiss or [])
    ids = [d for d in dismiss or [] if d != "all"]
    if (dismiss or all_) and retry:
        fail("give either --retry or --dismiss, not both")
    if any(not d.isdigit() for d in ids):
        fail(f"--dismiss takes reject ids (see `engagesync rejects {name}`) or 'all', not {', '.join(ids)}")
    with Store(store) as db:
        if dismiss or all_:
            closed = db.dismiss_rejects(connection.name, action, None if dismiss_all else [int(d) for d in ids])
            if as_json:
                emit_json({"dismissed": closed})
            else:
                out.print(f"{closed} reject(s) dismissed")
            if not dismiss_all and closed < len(set(ids)):
                fail(f"{len(set(ids)) - closed} of the ids given are not open rejects of {name}")
            return
        if retry:
            found = connectors.actions_for(connection)
            names = [action] if action else sorted({r.action for r in db.rejects(connection.name)})
            unknown = [n for n in names if n not in found]
            if unknown:
                fail(f"unknown action {', '.join(unknown)}; available: {', '.join(found)}")
            results = []
            with connectors.client_for(connection) as client:
                for action_name in names:
                    pusher = Pusher(client, connection.name, found[action_name], db)
                    try:
                        results.append(retry_rejects(pusher, db).to_dict())
                    except EngageSyncError as exc:
                        _stopped(exc, pusher.result, "retry")
            if as_json:
                emit_json({"retried": results})
            else:
                for r in results:
                    out.print(f"{r['action']}: {r['done']} done, {r['rejected']} rejected again")
            raise typer.Exit(PARTIAL if any(r["rejected"] for r in results) else OK)
        items = list(db.rejects(connection.name, action))
    if as_json:
        emit_json(
            {
                "rejects": [
                    {
                        "id": r.id,
                        "action": r.action,
                        "key": r.key,
                        "field": r.field,
                        "reason": r.reason,
                        "record": r.record,
                    }
                    for r in items
                ]
            }
        )
        return
    table = Table(title=f"open rejects of {name}")
    for column in ("id", "action", "line", "field", "reason"):
        table.add_column(column)
    for item in items:
        line = item.record.get("line") if isinstance(item.record, dict) else None
        table.add_row(str(item.id), item.action, str(line or ""), item.field or "", item.reason or "")
    out.print(table)


__all__ = ["actions", "push", "rejects"]
