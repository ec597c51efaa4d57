"""The CLI imports a command's engine only when that command runs: ``--help`` and ``engagesync pull`` carry
no sandbox, destination engine, demo or web server (their memory is the pull's, issue 15), and every
command's ``--help`` still shows all its options."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer

from engagesync.cli.main import app
from engagesync.sandbox.app import Sandbox
from tests.cli_helpers import run_cli

#: Run the CLI's main in this interpreter, then write the names of every module it imported to argv[1].
_PROBE = """
import json, runpy, sys
out, sys.argv = sys.argv[1], ["engagesync", *sys.argv[2:]]
try:
    runpy.run_module("engagesync.cli.main", run_name="__main__")
    code = 0
except SystemExit as exc:
    code = exc.code
with open(out, "w") as f:
    json.dump(sorted(sys.modules), f)
sys.exit(code)
"""

#: Never needed by a pull (nor by --help). pydantic is not listed: typer itself imports it to coerce any
#: command's parameters (typer._adapters); the project's pydantic models live in sync.destinations.
NOT_IN_A_PULL = (
    "engagesync.sandbox",
    "engagesync.sync.destinations",
    "engagesync.demo",
    "engagesync.console",
    "engagesync.sync.preflight",
    "engagesync.sync.webhooks.receiver",
    "starlette",
    "uvicorn",
)
#: What ``--help`` needs none of: the whole engine, DuckDB and the HTTP stack.
NOT_IN_HELP = (*NOT_IN_A_PULL, "engagesync.sync", "engagesync.apis", "duckdb", "httpx", "pydantic")


def _imported(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    listing = tmp_path / "modules.json"
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, str(listing), *args], capture_output=True, text=True, timeout=120
    )
    return done, set(json.loads(listing.read_text()))


def _loaded(modules: set[str], roots: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == r or m.startswith(r + ".") for r in roots))


def _commands(command: Any, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    found = [(path, command)]
    for name, sub in getattr(command, "commands", {}).items():
        found += _commands(sub, (*path, name))
    return found


def test_every_command_help_exits_0_and_lists_its_options() -> None:
    commands = _commands(typer.main.get_command(app))
    top = {path[0] for path, _ in commands if path}
    assert top >= {"sandbox", "connect", "pull", "push", "demo", "listen", "webhooks", "destinations", "console"}
    assert len(commands) >= 40  # every sub-command of sandbox, webhooks and destinations too
    for path, command in commands:
        code, output = run_cli(*path, "--help")
        assert code == 0, (path, output)
        assert (command.help or "").split("\n")[0][:30] in output, path
        for param in command.params:
            if param.param_type_name == "option" and not param.hidden:
                assert max(param.opts, key=len) in output, (path, param.opts)


@pytest.mark.parametrize("args", [("--help",), ("pull", "--help"), ("destinations", "create", "--help")])
def test_help_imports_no_engine(tmp_path: Path, args: tuple[str, ...]) -> None:
    done, modules = _imported(tmp_path, *args)
    assert done.returncode == 0, done.stderr
    assert "Usage" in done.stdout
    roots = NOT_IN_HELP if args == ("--help",) else tuple(r for r in NOT_IN_HELP if r != "pydantic")
    assert _loaded(modules, roots) == []


def test_a_pull_process_imports_only_the_pull_path(tmp_path: Path, home: Path, live_sandbox: Sandbox) -> None:
    assert run_cli("connect", "--sandbox", str(live_sandbox.url))[0] == 0
    store = tmp_path / "pull.duckdb"
    done, modules = _imported(tmp_path, "pull", "groove-helpdesk", "--store", str(store), "--json")
    assert done.returncode == 0, done.stderr
    pulled = json.loads(done.stdout)
    assert pulled["ok"] and sum(s["records"] for s in pulled["streams"]) > 0
    assert {"engagesync.sync.pull", "duckdb"} <= modules  # it did pull, in this process
    assert _loaded(modules, NOT_IN_A_PULL) == []


def test_the_defaults_help_shows_are_the_engines() -> None:
    """The CLI names these defaults itself so that ``--help`` imports no engine; they must stay equal."""
    from engagesync import demo
    from engagesync.cli import demo as demo_cmd
    from engagesync.cli import webhooks_cmd
    from engagesync.sync.webhooks import storage, verify

    assert demo_cmd.EXAMPLES == demo.EXAMPLES
    assert webhooks_cmd.DEFAULT_RETENTION_DAYS == storage.DEFAULT_RETENTION_DAYS
    assert webhooks_cmd.DEFAULT_TOLERANCE == verify.DEFAULT_TOLERANCE
