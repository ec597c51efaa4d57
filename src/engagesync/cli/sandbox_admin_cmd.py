"""``engagesync sandbox clock|faults|rate-limit``: drive a running sandbox's clock, faults and rate limits.

The console's Sandbox screen does the same through the same client (``sandbox.remote.SandboxAdmin``);
the sandbox itself checks every value (``/_sandbox`` answers loopback clients only).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .common import emit_json, fail

UrlOpt = Annotated[str, typer.Option("--url", help="URL of a running sandbox.")]
DEFAULT_URL = "http://127.0.0.1:8765"


def clock(
    advance: Annotated[
        float | None, typer.Option("--advance", min=0, help="Move the clock forward this many seconds.")
    ] = None,
    freeze: Annotated[bool, typer.Option("--freeze", help="Stop the clock (time moves only by --advance).")] = False,
    unfreeze: Annotated[bool, typer.Option("--unfreeze", help="Let the clock run again.")] = False,
    url: UrlOpt = DEFAULT_URL,
) -> None:
    """Show the sandbox's clock; --advance, --freeze or --unfreeze it first."""
    from ..sandbox.remote import SandboxAdmin  # the package brings the whole sandbox (Starlette): not at startup

    if freeze and unfreeze:
        fail("give --freeze or --unfreeze, not both")
    admin = SandboxAdmin(url)
    if advance is not None:
        admin.advance(advance)
    if freeze or unfreeze:
        admin.freeze(freeze)
    emit_json(admin.clock())


def faults(
    file: Annotated[
        Path | None, typer.Option("--file", help="JSON list of fault rules to set (replacing the current ones).")
    ] = None,
    clear: Annotated[bool, typer.Option("--clear", help="Remove every fault rule.")] = False,
    url: UrlOpt = DEFAULT_URL,
) -> None:
    """Show the sandbox's fault rules; --file sets them, --clear removes them."""
    from ..sandbox.remote import SandboxAdmin, parse_rules

    if file is not None and clear:
        fail("give --file or --clear, not both")
    admin = SandboxAdmin(url)
    if file is not None:
        try:
            text = file.read_text()
        except OSError as exc:
            fail(f"--file {file}: cannot read it ({exc.strerror})")
        admin.set_faults(parse_rules(text, f"--file {file}"))
    elif clear:
        admin.set_faults([])
    emit_json(admin.faults())


def rate_limit(
    api: Annotated[str, typer.Argument(help="API id whose credentials are limited.")],
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="Requests allowed per window.")] = None,
    window: Annotated[float, typer.Option("--window", min=0.001, help="Window in seconds.")] = 60,
    off: Annotated[bool, typer.Option("--off", help="No rate limit for the API.")] = False,
    url: UrlOpt = DEFAULT_URL,
) -> None:
    """Set an API's rate limit in the sandbox (--limit N [--window S], or --off); prints the limits."""
    from ..sandbox.remote import SandboxAdmin

    if (limit is None) == (not off):
        fail("give --limit N (with --window S) or --off")
    result = SandboxAdmin(url).set_rate_limit(api, None if off else limit, window)
    emit_json(result)
