"""``engagesync sandbox ...``: run the emulated APIs locally and read their credentials."""

from __future__ import annotations

import errno
import ipaddress
import json
import signal
import socket
import sys
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(
    help="Run every emulated API on one local port, with OAuth, limits, faults and a clock.", no_args_is_help=True
)
console = Console(stderr=True)

if TYPE_CHECKING:
    from ..sandbox.app import Sandbox

#: The credential fields ``--allow-remote`` prints once (everything else a client needs is not secret).
SECRET_FIELDS = ("token", "api_key", "user_id", "client_id", "client_secret")


def _usage_error(message: str) -> NoReturn:
    console.print(f"[red]error:[/red] {message}")
    raise typer.Exit(2)


def is_loopback_host(host: str) -> bool:
    """True if every address ``host`` names is a loopback address (``localhost``, 127.0.0.1, ::1)."""
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except socket.gaierror:
        return False
    try:
        return bool(infos) and all(ipaddress.ip_address(str(info[4][0]).split("%")[0]).is_loopback for info in infos)
    except ValueError:
        return False


def bind_listener(host: str, port: int) -> socket.socket:
    """Bind the port before anything is printed or seeded: a busy port is one line and exit 2.

    The bound socket is handed to uvicorn, so nothing can take the port between check and serve. A name
    binds its IPv4 address, as uvicorn does (``localhost`` is 127.0.0.1); an IPv6 literal binds IPv6."""
    wanted = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, wanted, socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror as exc:
        _usage_error(f"--host {host}: cannot resolve it ({exc.strerror}); pass an address such as 127.0.0.1")
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            _usage_error(f"port {port} is in use; pass --port with a free port (e.g. --port {port + 1})")
        if exc.errno == errno.EACCES:
            _usage_error(f"port {port} needs privileges to bind; pass --port with a port above 1023")
        _usage_error(f"cannot bind {host}:{port} ({exc.strerror}); pass another --host or --port")
    return sock


def _print_random_credentials(sandbox: Sandbox, url: str) -> None:
    """The random credentials of every tenant, printed once to stdout (they are in no log)."""
    for tenant in sandbox.ctx.tenants():
        creds = sandbox.credentials(tenant.id, base_url=url)
        sys.stdout.write(f"credentials of tenant {tenant.name} (random, printed once):\n")
        for api_id, values in creds.items():
            if not isinstance(values, dict) or api_id == "tenant":
                continue
            for key in SECRET_FIELDS:
                if values.get(key) is not None:
                    sys.stdout.write(f"  {api_id}.{key} = {values[key]}\n")
    sys.stdout.flush()


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
    host: Annotated[
        str, typer.Option(help="Interface to bind; beyond loopback (e.g. 0.0.0.0) it needs --allow-remote.")
    ] = "127.0.0.1",
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
    allow_remote: Annotated[
        bool,
        typer.Option(
            "--allow-remote",
            help="Allow a --host beyond loopback: every credential becomes random (printed once) and "
            "/_sandbox still answers loopback clients only.",
        ),
    ] = False,
) -> None:
    """Serve all emulated APIs on one port (Ctrl-C to stop).

    Each API lives under its prefix (e.g. /groove-helpdesk/v1) and the admin API under /_sandbox:
    GET /_sandbox/credentials prints what a client needs.
    """
    import uvicorn

    from ..apis.registry import emulator_factories
    from ..sandbox import Sandbox
    from ..sandbox.serving import fast_stack

    counts = parse_counts(count or [])
    remote = not is_loopback_host(host)
    if remote and not allow_remote:
        _usage_error(
            f"--host {host} reaches beyond loopback and the seeded credentials are the same on every install; "
            "pass --allow-remote to serve it with random credentials, or keep --host 127.0.0.1"
        )
    listener = bind_listener(host, port)
    try:
        sandbox = Sandbox(emulator_factories(), db=db, seed=seed)
        if counts:
            sandbox.reset(seed=seed, counts=counts)
    except ValueError as exc:
        listener.close()
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    if remote:
        sandbox.ctx.randomize_credentials()
    if no_rate_limits:
        for api_id in sandbox.ctx.apis:
            sandbox.ctx.set_rate_limit(api_id, None)
    if oauth_consent is not None:
        from ..sandbox.oauth import servers

        for oauth in servers(sandbox.ctx):
            oauth.consent = oauth_consent
    url = f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
    sandbox.ctx.outbox.self_origins.add(url)
    if remote:
        sandbox.ctx.outbox.self_origins.update({f"http://127.0.0.1:{port}", f"http://localhost:{port}"})
        console.print(
            f"[yellow]warning:[/yellow] serving on {host}: anyone who can reach this port can call the emulated "
            "APIs with the credentials below. The seeded defaults are refused; /_sandbox answers loopback only."
        )
        _print_random_credentials(sandbox, url)
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
        **fast_stack(),  # type: ignore[arg-type]
    )
    server = uvicorn.Server(config)
    signal.signal(signal.SIGTERM, lambda *_: setattr(server, "should_exit", True))
    try:
        server.run(sockets=[listener])
    finally:
        listener.close()
        sandbox.close()


@app.command()
def credentials(
    url: Annotated[str, typer.Option(help="URL of a running sandbox.")] = "http://127.0.0.1:8765",
    tenant: Annotated[str | None, typer.Option(help="Tenant name or id (default: the default tenant).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Print what a client needs to call each API of a running sandbox."""
    import httpx

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
