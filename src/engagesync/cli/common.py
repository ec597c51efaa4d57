"""Shared CLI plumbing: consoles, exit codes, JSON output, error reporting without secrets."""

from __future__ import annotations

import importlib
import json
import sys
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console

from ..errors import AUTH, FAILED, OK, PARTIAL, USAGE, UserError

__all__ = [
    "AUTH",
    "DEFAULT_STORE",
    "FAILED",
    "OK",
    "PARTIAL",
    "USAGE",
    "JsonOpt",
    "StoreOpt",
    "TimeoutOpt",
    "UserError",
    "emit_json",
    "err",
    "fail",
    "lazy",
    "out",
]

out = Console()
err = Console(stderr=True)

#: The store file commands read and write unless ``--store`` names another.
DEFAULT_STORE = "engagesync.duckdb"
StoreOpt = Annotated[str, typer.Option("--store", help="DuckDB file the data and the engine's state live in.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts instead of tables.")]

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


class lazy:
    """``module`` (or its ``attr``), imported when first used (an attribute read or a call), not when the
    CLI starts: ``engagesync pull`` then carries no destination engine, sandbox or Starlette. Give mypy the
    real import under ``if TYPE_CHECKING:``."""

    def __init__(self, module: str, attr: str | None = None) -> None:
        self._module, self._attr = module, attr

    def _target(self) -> Any:
        found = importlib.import_module(self._module)
        return getattr(found, self._attr) if self._attr else found

    def __getattr__(self, name: str) -> Any:
        return getattr(self._target(), name)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._target()(*args, **kwargs)


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def fail(message: str, code: int = USAGE) -> NoReturn:
    """End the command with one line on stderr and ``code`` (the CLI's error handler prints it)."""
    raise UserError(message, code)
