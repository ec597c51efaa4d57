"""The data commands: connect, connections, check, streams, pull (push commands: push_cmds.py).

Each command imports the engine modules it uses when it runs: the CLI's startup (and so every
command's memory) carries none of the others (tests/test_cli_imports.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from ..client.errors import AuthError, EngageSyncError, TransportError
from .common import (
    AUTH,
    DEFAULT_STORE,
    FAILED,
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
from .progress import env_int, live_progress

if TYPE_CHECKING:
    from ..sync.connections import Connection


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
    with live_progress(as_json) as (progress, on_wait):
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
                    commit_records=env_int("ENGAGESYNC_COMMIT_RECORDS", COMMIT_RECORDS),
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


__all__ = ["USAGE", "check", "connect", "connections", "pull_cmd", "streams"]
