"""What the CLI tests share: running the real `engagesync` app in-process, and the examples folder."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from engagesync.cli.main import app

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
_runner = CliRunner()


def run_cli(*args: str, stdout_only: bool = False) -> tuple[int, str]:
    """Exit code and what the command printed (stdout only, or stdout and stderr together)."""
    result = _runner.invoke(app, list(args))
    return result.exit_code, result.stdout if stdout_only else result.output
