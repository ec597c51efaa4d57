"""Shared CLI plumbing: consoles, exit codes, JSON output, error reporting without secrets."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console

from ..errors import AUTH, FAILED, OK, PARTIAL, USAGE, UserError

__all__ = ["AUTH", "FAILED", "OK", "PARTIAL", "USAGE", "TimeoutOpt", "UserError", "emit_json", "err", "fail", "out"]

out = Console()
err = Console(stderr=True)

#: Seconds to wait for each response (connect, send, read); unset: the client's default of 30 s.
TimeoutOpt = Annotated[
    float | None,
    typer.Option(
        "--timeout",
        min=0.1,
        envvar="ENGAGESYNC_TIMEOUT",
        show_envvar=True,
        help="Seconds to wait for each response before retrying or giving up (default 30).",
    ),
]


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def fail(message: str, code: int = USAGE) -> NoReturn:
    """End the command with one line on stderr and ``code`` (the CLI's error handler prints it)."""
    raise UserError(message, code)
