"""``listen`` and ``webhooks ...``: receive the APIs' events, and create the webhooks that send them."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer
from rich.table import Table

from .common import JsonOpt, emit_json, fail, out
from .connected import connection as _connection
from .sandbox_cmd import bind_listener, is_loopback_host

#: ``sync.webhooks.storage.DEFAULT_RETENTION_DAYS`` and ``verify.DEFAULT_TOLERANCE``, named here so that
#: ``--help`` shows them without importing DuckDB, Starlette and cryptography (a test keeps them equal).
DEFAULT_RETENTION_DAYS = 30.0
DEFAULT_TOLERANCE = 300.0

app = typer.Typer(
    help="Create, list and delete the APIs' webhooks pointing at `engagesync listen`.", no_args_is_help=True
)
endpoint_app = typer.Typer(help="Endpoints not tied to a connection (Standard Webhooks senders).", no_args_is_help=True)
app.add_typer(endpoint_app, name="endpoint")

NameArg = Annotated[str, typer.Argument(help="Connection name.")]


def _log(line: str) -> None:
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


def listen(
    host: Annotated[
        str, typer.Option(help="Interface to bind; beyond loopback (e.g. 0.0.0.0) it needs --allow-remote.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on (0: any free port, printed).")] = 8787,
    store: Annotated[
        str, typer.Option("--store", help="DuckDB file the events are stored in (held while running).")
    ] = ("engagesync.duckdb"),
    allow_remote: Annotated[
        bool, typer.Option("--allow-remote", help="Allow a --host beyond loopback (e.g. behind a TLS proxy).")
    ] = False,
    queue_size: Annotated[
        int, typer.Option(min=1, help="Events waiting for a commit before 503 + Retry-After.")
    ] = 1000,
    retention_days: Annotated[
        float, typer.Option(min=0.001, help="Days a delivery id is remembered: a replay within it is not stored.")
    ] = DEFAULT_RETENTION_DAYS,
    tolerance: Annotated[
        float, typer.Option(min=1, help="Seconds a Standard Webhooks timestamp may be from now.")
    ] = DEFAULT_TOLERANCE,
) -> None:
    """Receive webhooks on /hooks/<name>/<token>: verify, deduplicate, store, then answer 2xx (SIGTERM stops)."""
    from ..sync.webhooks.receiver import Settings
    from ..sync.webhooks.server import serve

    if not is_loopback_host(host) and not allow_remote:
        fail(
            f"--host {host} reaches beyond loopback; pass --allow-remote to accept webhooks from other machines "
            "(put TLS in front), or keep --host 127.0.0.1"
        )
    sock = bind_listener(host, port)
    serve(store, sock, Settings(queue_size=queue_size, tolerance=tolerance), retention_days, _log)


@app.command("register")
def register(
    name: NameArg,
    url: Annotated[str, typer.Option("--url", help="Public base URL where `engagesync listen` is reachable.")],
    events: Annotated[
        list[str] | None, typer.Option("--events", help="Events to subscribe (repeatable or comma-separated).")
    ] = None,
    accept_new_key: Annotated[
        bool, typer.Option("--accept-new-key", help="Pin the API's webhook key even if it changed.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Create the API's webhook(s) for a connection; prints the endpoint URL once (it holds a secret)."""
    from ..sync.webhooks import registration

    wanted = [e.strip() for item in events or [] for e in item.split(",") if e.strip()] or None
    done = registration.register(_connection(name), url, wanted, accept_new_key)
    if as_json:
        emit_json({"url": done.url, "ids": done.ids, "key_changed": done.key_changed})
        return
    out.print(f"registered {len(done.ids)} webhook(s) of {name}: {', '.join(done.ids)}", highlight=False)
    out.print(f"endpoint URL (shown once, keep it secret): {done.url}", highlight=False, soft_wrap=True)


@app.command("list")
def list_(name: NameArg, as_json: JsonOpt = False) -> None:
    """The API's webhooks (endpoint secrets masked; `ours` marks this connection's endpoint)."""
    from ..sync.webhooks import registration

    hooks = registration.list_hooks(_connection(name))
    if as_json:
        emit_json({"webhooks": hooks})
        return
    table = Table(title=f"webhooks of {name}")
    for column in ("id", "event", "url", "ours"):
        table.add_column(column)
    for h in hooks:
        table.add_row(str(h["id"]), str(h["event"] or ""), h["url"], "yes" if h["ours"] else "")
    out.print(table)


@app.command("delete")
def delete(name: NameArg, webhook_id: Annotated[str, typer.Argument(help="Webhook id (see `webhooks list`).")]) -> None:
    """Delete one of the API's webhooks."""
    from ..sync.webhooks import registration

    registration.delete_hook(_connection(name), webhook_id)
    out.print(f"deleted webhook {webhook_id} of {name}", highlight=False)


@endpoint_app.command("add")
def endpoint_add(
    name: Annotated[str, typer.Argument(help="Endpoint name (its events go to <name>.webhook_events).")],
    scheme: Annotated[str, typer.Option(help="Verification scheme; only `standard` (Standard Webhooks).")] = "standard",
    secret: Annotated[
        list[str] | None,
        typer.Option(
            "--secret",
            help="whsec_<base64> (HMAC) or whpk_<base64> (Ed25519 public key); repeat during a rotation. "
            "Default: a new whsec_ secret, printed once.",
        ),
    ] = None,
) -> None:
    """Add (or replace the secrets of) a Standard Webhooks endpoint, e.g. for a destination's responses."""
    if scheme != "standard":
        fail(f"--scheme {scheme!r}: only 'standard' endpoints are added by hand (API webhooks: `webhooks register`)")
    from ..sync.webhooks import registration

    env = os.environ.get("ENGAGESYNC_WEBHOOK_SECRET")
    endpoint, made = registration.add_standard(name, list(secret or ([env] if env else [])))
    out.print(f"endpoint path (shown once, keep it secret): {endpoint.path()}", highlight=False, soft_wrap=True)
    if made:
        out.print(f"signing secret for the sender (shown once): {made}", highlight=False, soft_wrap=True)


@endpoint_app.command("remove")
def endpoint_remove(name: Annotated[str, typer.Argument(help="Endpoint name.")]) -> None:
    """Forget an endpoint: its URL stops being accepted (stored events stay)."""
    from ..sync.webhooks.endpoints import EndpointFile

    if not EndpointFile().remove(name):
        fail(f"no webhook endpoint named {name!r}; see `engagesync webhooks endpoints`")
    out.print(f"removed endpoint {name}", highlight=False)


@app.command("endpoints")
def endpoints(as_json: JsonOpt = False) -> None:
    """Every endpoint `listen` accepts (secrets masked)."""
    from ..sync.webhooks.endpoints import EndpointFile

    found = [e.public() for e in EndpointFile().current().values()]
    if as_json:
        emit_json({"endpoints": found})
        return
    table = Table(title="webhook endpoints")
    for column in ("name", "scheme", "connection", "path", "hooks"):
        table.add_column(column)
    for e in found:
        table.add_row(e["name"], e["scheme"], e["connection"] or "", e["path"], ", ".join(h["id"] for h in e["hooks"]))
    out.print(table)
