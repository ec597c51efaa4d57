"""The one place an error becomes a line on stderr and the documented exit code.

``ErrorHandlingGroup`` wraps every command of the CLI (the sandbox sub-commands too): a ``UserError``
prints its message, the client's typed errors map to 3 (credential refused) and 4 (API unreachable),
the sync layer's bad-input errors to 2, and anything unexpected prints one line and a hint to rerun
with ``--debug`` (or ``ENGAGESYNC_DEBUG=1``), which prints the traceback as well.
"""

from __future__ import annotations

import re
import sys
import traceback
from typing import Any

import typer
from rich.markup import escape
from typer.core import TyperGroup

try:  # typer >= 0.25 vendors click
    from typer._click.exceptions import ClickException
except ImportError:  # pragma: no cover
    from click import ClickException  # type: ignore[assignment]

from ..client.errors import SECRET_PARAMS, AuthError, EngageSyncError, TransportError
from ..errors import AUTH, FAILED, PARTIAL, USAGE, UserError
from .common import err

DEBUG_HINT = "rerun with --debug (or ENGAGESYNC_DEBUG=1) for the traceback"
#: ``token=...`` in a URL or message, and ``Bearer ...``: hidden even in an unexpected error's text.
_SECRET_RE = re.compile(r"(?i)\b(" + "|".join(sorted(SECRET_PARAMS)) + r")=([^&\s'\"]+)|(bearer\s+)(\S+)")


def _redact(text: str) -> str:
    return _SECRET_RE.sub(lambda m: f"{m[1]}=[redacted]" if m[1] else f"{m[3]}[redacted]", text)


def one_line(text: str, limit: int = 500) -> str:
    """``text`` on one line, secrets in it redacted, at most ``limit`` characters."""
    flat = " ".join(_redact(str(text)).split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def describe(exc: BaseException) -> tuple[str, int, bool]:
    """(message, exit code, whether to add the --debug hint) for an exception that ended a command."""
    # imported here, not at startup: they bring DuckDB, the readers and the OAuth client into every command
    from ..client.oauth import AuthorizationFailed
    from ..sync.connections import ConnectionError_
    from ..sync.mapping import MappingError
    from ..sync.readers import InputError
    from ..sync.store import StoreError

    if isinstance(exc, UserError):
        return str(exc), exc.exit_code, False
    if isinstance(exc, ConnectionError_ | InputError | MappingError | StoreError):
        return str(exc), USAGE, False
    if isinstance(exc, AuthError):
        return (
            f"the credential was refused ({exc.status}: {exc.reason}); "
            "check or renew it with `engagesync connect` and try again",
            AUTH,
            False,
        )
    if isinstance(exc, AuthorizationFailed):
        return f"authorization failed: {exc}", AUTH, False
    if isinstance(exc, TransportError):
        return (
            f"the API could not be reached ({exc}); check the connection's base URL and the network, "
            "or give slow APIs more time with --timeout",
            FAILED,
            False,
        )
    if isinstance(exc, EngageSyncError):
        return str(exc), PARTIAL, True
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted", 130, False
    return f"unexpected {type(exc).__name__}: {exc}", PARTIAL, True


def report(exc: BaseException, debug: bool) -> int:
    """Print ``exc`` as one line (and its traceback when ``debug``); return the exit code."""
    message, code, hint = describe(exc)
    if debug:
        traceback.print_exception(exc, file=sys.stderr)
    suffix = f" ({DEBUG_HINT})" if hint and not debug else ""
    err.print(f"[red bold]error:[/red bold] {escape(one_line(message))}{suffix}", soft_wrap=True, highlight=False)
    return code


class ErrorHandlingGroup(TyperGroup):
    """The root command group: every sub-command runs inside the error mapping above."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, typer.TyperException, ClickException, SystemExit):
            raise  # usage errors and deliberate exits: the CLI framework prints and exits as usual
        except (Exception, KeyboardInterrupt) as exc:
            raise typer.Exit(report(exc, bool(ctx.params.get("debug")))) from None
