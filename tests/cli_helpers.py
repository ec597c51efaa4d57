"""What the CLI tests share: running the real `engagesync` app in-process, and the examples folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from engagesync.cli.main import app

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
_runner = CliRunner()


def create_ticket_push(
    sandbox: Any, source: Path | str, store: Path | str, *extra: str, maps: tuple[str, ...] = ("from.email=email",)
) -> list[str]:
    """``push groove-helpdesk create_ticket`` of ``source`` into the sandbox's primary mailbox: the
    arguments the CLI tests share (``maps`` for the sender, then body and mailbox, then ``extra``)."""
    mailbox = sandbox.ctx.store.scalar("SELECT email FROM gh_mailboxes WHERE is_primary = 1")
    args = ["push", "groove-helpdesk", "create_ticket", "--input", str(source)]
    for rule in (*maps, "body=message", f"mailbox='{mailbox}'"):
        args += ["--map", rule]
    return [*args, "--store", str(store), *extra]


def run_cli(*args: str, stdout_only: bool = False) -> tuple[int, str]:
    """Exit code and what the command printed (stdout only, or stdout and stderr together)."""
    result = _runner.invoke(app, list(args))
    return result.exit_code, result.stdout if stdout_only else result.output
