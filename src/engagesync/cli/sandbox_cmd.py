"""``engagesync sandbox ...``: run the emulated APIs locally and read their credentials."""

from __future__ import annotations

import json
import signal
import sys
from typing import Annotated

import httpx
import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(
    help="Run every emulated API on one local port, with OAuth, limits, faults and a clock.", no_args_is_help=True
)
console = Console(stderr=True)


def parse_counts(items: list[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or "." not in key or not value.strip().isdigit():
            raise typer.BadParameter(
                f"{item!r}: expected <api>.<resource>=<n>, e.g. groove-helpdesk.tickets=1000", param_hint="--count"
            )
        counts[key.strip()] = int(value)
    return counts


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind; keep loopback unless you know why.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port for every API and the /_sandbox admin API.")] = 8765,
    db: Annotated[
        str | None, typer.Option(help="SQLite file that keeps state across restarts (default: in memory).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed for deterministic data (same seed, same data).")] = 0,
    count: Annotated[
        list[str] | None, typer.Option(help="Seed size per resource, e.g. groove-helpdesk.tickets=1000 (repeatable).")
    ] = None,
    no_rate_limits: Annotated[bool, typer.Option("--no-rate-limits", help="Start with every rate limit off.")] = False,
    oauth_consent: Annotated[
        bool | None,
        typer.Option(
            "--oauth-consent/--no-oauth-consent",
            help="OAuth authorize URLs show an Approve/Deny page for a person in a browser (default: auto-approve, "
            "kept from the --db state).",
        ),
    ] = None,
) -> None:
    """Serve all emulated APIs on one port (Ctrl-C to stop).

    Each API lives under its prefix (e.g. /groove-helpdesk/v1) and the admin API under /_sandbox:
    GET /_sandbox/credentials prints what a client needs.
    """
    import uvicorn

    from ..apis.registry import emulator_factories
    from ..sandbox import Sandbox

    counts = parse_counts(count or [])
    try:
        sandbox = Sandbox(emulator_factories(), db=db, seed=seed)
        if counts:
            sandbox.reset(seed=seed, counts=counts)
    except ValueError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    if no_rate_limits:
        for api_id in sandbox.ctx.apis:
            sandbox.ctx.set_rate_limit(api_id, None)
    if oauth_consent is not None:
        from ..sandbox.oauth import servers

        for oauth in servers(sandbox.ctx):
            oauth.consent = oauth_consent
    url = f"http://{host}:{port}"
    sandbox.ctx.outbox.self_origins.add(url)
    table = Table(title=f"engagesync sandbox on {url}", show_header=True)
    table.add_column("API")
    table.add_column("base URL")
    for api in sandbox.ctx.apis.values():
        table.add_row(api.id, f"{url}{api.prefix}")
    table.add_row("admin", f"{url}/_sandbox  (credentials: {url}/_sandbox/credentials)")
    console.print(table)
    if db:
        console.print(f"state: {db} (survives restarts)")
    config = uvicorn.Config(
        sandbox.app,
        host=host,
        port=port,
        log_level="warning",
        lifespan="on",
        date_header=False,
        server_header=False,
        access_log=False,
    )
    server = uvicorn.Server(config)
    signal.signal(signal.SIGTERM, lambda *_: setattr(server, "should_exit", True))
    try:
        server.run()
    finally:
        sandbox.close()


@app.command()
def credentials(
    url: Annotated[str, typer.Option(help="URL of a running sandbox.")] = "http://127.0.0.1:8765",
    tenant: Annotated[str | None, typer.Option(help="Tenant name or id (default: the default tenant).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Print what a client needs to call each API of a running sandbox."""
    try:
        response = httpx.get(
            f"{url.rstrip('/')}/_sandbox/credentials", params={"tenant": tenant} if tenant else None, timeout=10
        )
    except httpx.HTTPError as exc:
        console.print(
            f"[red]error:[/red] no sandbox answering at {url} ({type(exc).__name__}); "
            "start one with `engagesync sandbox serve`"
        )
        raise typer.Exit(1) from exc
    if response.status_code != 200:
        console.print(f"[red]error:[/red] {response.status_code} {response.text}")
        raise typer.Exit(1)
    data = response.json()
    if as_json:
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
        return
    table = Table(title=f"sandbox credentials (tenant {data['tenant']['name']})")
    table.add_column("API")
    table.add_column("setting")
    table.add_column("value", overflow="fold")
    for api, values in data.items():
        if api == "tenant":
            continue
        for key, value in values.items():
            table.add_row(api, key, json.dumps(value) if isinstance(value, dict | list) else str(value))
    Console().print(table)
