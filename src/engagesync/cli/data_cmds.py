"""The data commands: connect, connections, check, streams, pull, actions, push, rejects.

Each command imports the engine modules it uses when it runs: the CLI's startup (and so every
command's memory) carries none of the others (tests/test_cli_imports.py)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.markup import escape
from rich.table import Table

from ..client.errors import AuthError, EngageSyncError, TransportError
from .common import (
    AUTH,
    DEFAULT_STORE,
    FAILED,
    OK,
    PARTIAL,
    USAGE,
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
from .connected import streams_for as _streams

if TYPE_CHECKING:
    from ..client.budget import WaitListener
    from ..sync.connections import Connection
    from ..sync.push import PushResult


def connect(
    name: Annotated[str | None, typer.Argument(help="Name for the connection (default: the API id).")] = None,
    api: Annotated[str | None, typer.Option(help="API id, e.g. groove-helpdesk.")] = None,
    base_url: Annotated[str | None, typer.Option(help="API base URL, e.g. https://api.groovehq.com/v1.")] = None,
    token: Annotated[
        str | None, typer.Option(help="Access token (stored 0600, never printed).", envvar="ENGAGESYNC_TOKEN")
    ] = None,
    sandbox: Annotated[
        str | None,
        typer.Option(help="URL of a running sandbox: connect every API it serves, each named by its API id."),
    ] = None,
    setting: Annotated[
        list[str] | None,
        typer.Option(help="KEY=VALUE connection setting, repeatable (e.g. user_id=42 for GrowthGenius)."),
    ] = None,
    client_id: Annotated[
        str | None, typer.Option(help="OAuth app client id (groove-sales): runs the authorization code flow.")
    ] = None,
    client_secret: Annotated[
        str | None, typer.Option(help="OAuth app client secret (stored 0600).", envvar="ENGAGESYNC_CLIENT_SECRET")
    ] = None,
    authorize_url: Annotated[str | None, typer.Option(help="OAuth authorize URL (default: the API's).")] = None,
    token_url: Annotated[str | None, typer.Option(help="OAuth token URL (default: the API's).")] = None,
    graphql_url: Annotated[str | None, typer.Option(help="GraphQL endpoint (same as --base-url).")] = None,
    redirect_port: Annotated[int, typer.Option(help="Port of the local redirect listener (0: any free port).")] = 0,
    redirect_uri: Annotated[
        str | None,
        typer.Option(help="Redirect URI registered for the app (loopback), if not http://127.0.0.1:PORT/callback."),
    ] = None,
    no_browser: Annotated[
        bool,
        typer.Option(
            "--no-browser", help="Headless: print the URL and paste back the URL the browser was redirected to."
        ),
    ] = False,
    scope: Annotated[str, typer.Option(help="OAuth scopes, space-separated.")] = "",
    timeout: TimeoutOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Save a named connection (or one per API from a running sandbox, or one authorized with OAuth)."""
    from ..sync import connectors
    from ..sync.connections import Connection, ConnectionFileError, ConnectionStore
    from .oauth_connect import oauth_connection

    store = ConnectionStore()
    made: list[Connection] = []
    if client_id or client_secret:  # OAuth 2.0 authorization code flow (see oauth_connect.py)
        oauth_api = api or connectors.default_oauth_api()
        made.append(
            oauth_connection(
                name or oauth_api,
                oauth_api,
                client_id,
                client_secret,
                graphql_url=graphql_url or base_url,
                authorize_url=authorize_url,
                token_url=token_url,
                redirect_uri=redirect_uri,
                redirect_port=redirect_port,
                no_browser=no_browser,
                scope=scope,
            )
        )
    elif sandbox:
        made.extend(connectors.connections_from_sandbox(sandbox, name, timeout))
    else:
        if not (api and base_url and token):
            fail("give --api, --base-url and --token (or --sandbox URL to connect to a running sandbox)")
        pairs = [item.partition("=") for item in setting or []]
        if any(not key.strip() or not sep for key, sep, _ in pairs):
            fail("--setting takes KEY=VALUE, e.g. --setting user_id=42")
        made.append(
            Connection(
                name or api,
                api,
                base_url.rstrip("/"),
                {"token": token},
                {key.strip(): value.strip() for key, _, value in pairs},
            )
        )
    for connection in made:
        try:
            store.put(connection)
        except ConnectionFileError as exc:
            fail(str(exc))
    if as_json:
        emit_json({"connections": [c.public() for c in made], "file": str(store.path)})
        return
    for connection in made:
        out.print(f"saved connection [bold]{connection.name}[/bold] ({connection.api}, {connection.base_url})")
    out.print(f"credentials stored in {store.path} (mode 0600)")


def connections(as_json: JsonOpt = False) -> None:
    """List saved connections (secrets are never shown)."""
    from ..sync.connections import ConnectionFileError, ConnectionStore

    try:
        items = ConnectionStore().all()
    except ConnectionFileError as exc:
        fail(str(exc))
    if as_json:
        emit_json({"connections": [c.public() for c in items]})
        return
    table = Table(title="connections")
    for column in ("name", "api", "base URL", "secrets"):
        table.add_column(column)
    for c in items:
        table.add_row(c.name, c.api, c.base_url, ", ".join(f"{k}=***" for k in c.secrets))
    out.print(table)


def check(
    name: Annotated[str, typer.Argument(help="Connection name.")], timeout: TimeoutOpt = None, as_json: JsonOpt = False
) -> None:
    """Test a connection's credential with one cheap call."""
    from ..sync import connectors

    connection = _connection(name)
    try:
        with _client(connection, timeout) as client:
            result = connectors.check(connection, client)
    except AuthError as exc:
        fail(f"{name}: the credential was refused ({exc.status}: {exc.reason})", AUTH)
    except TransportError as exc:
        fail(f"{name}: the API could not be reached ({exc}); check the base URL and the network", FAILED)
    except EngageSyncError as exc:
        fail(f"{name}: {exc}", FAILED)
    if as_json:
        emit_json({"connection": name, **result})
    else:
        out.print(f"[green]ok[/green] {name}: {result}")


def streams(
    name: Annotated[str, typer.Argument(help="Connection name.")],
    as_json: JsonOpt = False,
    columns: Annotated[bool, typer.Option("--columns", help="Each column's type and meaning.")] = False,
) -> None:
    """List the streams a connection can pull, with primary keys and columns."""
    from ..sync.webhooks.registration import event_stream

    connection = _connection(name)
    found = _streams(connection)
    if columns:
        from .state_cmd import print_columns  # the store's view of a stream lives beside ``state``

        print_columns(name, found, as_json)
        return
    specs = [s.spec for s in found.values()]
    events = event_stream(connection)  # webhook events `listen` stores, once an endpoint exists
    specs += [events] if events else []
    if as_json:
        emit_json(
            {
                "streams": [
                    {"name": s.name, "primary_key": list(s.primary_key), "parent": s.parent, "columns": s.columns}
                    for s in specs
                ]
            }
        )
        return
    table = Table(title=f"streams of {name}")
    for column in ("stream", "primary key", "per", "columns"):
        table.add_column(column)
    for s in specs:
        table.add_row(s.name, ", ".join(s.primary_key), s.parent or "", ", ".join(s.columns))
    out.print(table)


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    if not value.isdigit() or int(value) < 1:
        fail(f"{name}={value!r}: expected a positive whole number")
    return int(value)


class _Lines:
    """Progress as plain lines on stderr (``ENGAGESYNC_PROGRESS=lines``): one line per update, for logs
    and for tools that act on progress (a crash test kills a pull at a given page)."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def add_task(self, description: str, total: float | None = None, **fields: Any) -> int:
        self.names.append(description)
        return len(self.names) - 1

    def update(self, task: int, *, detail: str = "", **fields: Any) -> None:
        if detail:
            err.print(f"progress {self.names[task]}: {detail}", highlight=False, soft_wrap=True)


@contextmanager
def _progress(quiet: bool) -> Iterator[tuple[Any, WaitListener]]:
    """A live progress display on stderr (off for ``--json``; plain lines with ``ENGAGESYNC_PROGRESS=lines``)
    and a listener showing rate-limit waits."""
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    if not quiet and os.environ.get("ENGAGESYNC_PROGRESS") == "lines":
        lines = _Lines()
        wait_task = lines.add_task("rate limit")
        yield lines, lambda seconds, why: lines.update(wait_task, detail=f"waiting {seconds:.2f}s for the {why} window")
        return
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(bar_width=None),
        TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(),
        console=err,
        disable=quiet,
    ) as progress:
        wait = progress.add_task("rate limit", total=None, detail="", visible=False)

        def on_wait(seconds: float, why: str) -> None:
            progress.update(wait, visible=True, detail=f"waiting {seconds:.2f}s for the {why} window")

        yield progress, on_wait


def pull_cmd(
    name: Annotated[str, typer.Argument(help="Connection name.")],
    stream: Annotated[list[str] | None, typer.Argument(help="Streams to pull (default: all).")] = None,
    store: StoreOpt = DEFAULT_STORE,
    timeout: TimeoutOpt = None,
    as_json: JsonOpt = False,
    full_refresh: Annotated[
        bool,
        typer.Option(
            "--full-refresh",
            help="Re-read every stream from the start; rows the source no longer has get _deleted_at.",
        ),
    ] = False,
) -> None:
    """Pull streams into the DuckDB store, writing only new or changed rows; resumes where a killed pull
    stopped."""
    from ..sync.pull import COMMIT_RECORDS, PullError, pull
    from ..sync.store import Store

    connection = _connection(name)
    available = _streams(connection)
    unknown = [s for s in stream or [] if s not in available]
    if unknown:
        fail(f"unknown stream(s) {', '.join(unknown)}; available: {', '.join(available)}")
    with _progress(as_json) as (progress, on_wait):
        tasks: dict[str, Any] = {}

        def on_page(stream_name: str, records: int, pages: int) -> None:
            if stream_name not in tasks:
                tasks[stream_name] = progress.add_task(stream_name, total=None, detail="")
            progress.update(tasks[stream_name], detail=f"{records:,} records, {pages:,} pages")

        def on_event(kind: str, data: dict[str, Any]) -> None:  # a retry is shown, not waited out in silence
            if kind == "retry":
                progress.update(
                    tasks.setdefault("", progress.add_task("retry", total=None, detail="")),
                    detail=f"{data['why']} on {data['method']} {data['url']}: retry {data['attempt']}",
                )

        with Store(store) as db, _client(connection, timeout, on_wait=on_wait, on_event=on_event) as client:
            if (note := db.ambiguity(connection.name)) is not None:
                err.print(f"[yellow]note:[/yellow] {escape(note)}", highlight=False)
            try:
                result = pull(
                    client,
                    connection.name,
                    available,
                    stream or None,
                    db,
                    on_page,
                    keep_going=True,
                    commit_records=_env_int("ENGAGESYNC_COMMIT_RECORDS", COMMIT_RECORDS),
                    full_refresh=full_refresh,
                )
            except PullError as exc:
                result = exc.result
    stopped = result.stopped_by
    rows = [
        {
            "stream": s.name,
            "status": s.status,
            "records": s.records,
            "new": s.new,
            "changed": s.changed,
            "unchanged": s.unchanged,
            "pages": s.pages,
            "requests": s.requests,
            "resumed": s.resumed,
            "seconds": round(s.elapsed, 2),
            "error": s.error,
        }
        for s in result.streams.values()
    ]
    if as_json:
        emit_json(
            {
                "connection": name,
                "store": store,
                "ok": result.ok,
                "streams": rows,
                "elapsed_seconds": round(result.elapsed, 3),
            }
        )
    else:
        table = Table(title=f"pull {name} -> {store} ({result.elapsed:.1f}s)")
        for column in (
            "stream",
            "status",
            "read",
            "new",
            "changed",
            "unchanged",
            "pages",
            "requests",
            "resumed",
            "seconds",
        ):
            table.add_column(column)
        for r in rows:
            status = str(r["status"])
            table.add_row(
                str(r["stream"]),
                status if status == "complete" else f"[red]{status}[/red]",
                f"{r['records']:,}",
                f"{r['new']:,}",
                f"{r['changed']:,}",
                f"{r['unchanged']:,}",
                str(r["pages"]),
                str(r["requests"]),
                "yes" if r["resumed"] else "",
                str(r["seconds"]),
            )
        out.print(table)
        for r in rows:
            if r["error"] and not (stopped and r["status"] == "skipped"):  # one line says why the rest was not
                err.print(f"[red]{r['stream']}[/red]: {escape(str(r['error']))}", highlight=False)
    if stopped is not None:  # the API was unreachable (4) or refused the credential (3): say which, once
        raise stopped
    if not result.ok:
        raise typer.Exit(PARTIAL)


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
            _progress(as_json or dry_run or test) as (progress, on_wait),
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


__all__ = ["USAGE", "actions", "check", "connect", "connections", "pull_cmd", "push", "rejects", "streams"]
