"""Shared CLI plumbing: consoles, exit codes, JSON output, error reporting without secrets."""

from __future__ import annotations

import json
import sys
from typing import Any, NoReturn

import typer
from rich.console import Console

#: Exit codes scripts can rely on.
OK, PARTIAL, USAGE, AUTH, FAILED = 0, 1, 2, 3, 4

out = Console()
err = Console(stderr=True)


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def fail(message: str, code: int = USAGE) -> NoReturn:
    err.print(f"[red bold]error:[/red bold] {message}", soft_wrap=True)
    raise typer.Exit(code)
