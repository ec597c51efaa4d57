"""Entry point: ``engagesync <command>``; every command runs inside the one error mapping (errors.py)."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from . import (
    console_cmd,
    data_cmds,
    demo,
    destinations_cmd,
    push_cmds,
    sandbox_admin_cmd,
    sandbox_cmd,
    state_cmd,
    webhooks_cmd,
)
from .errors import ErrorHandlingGroup

app = typer.Typer(
    name="engagesync",
    help="Move records between your warehouse and customer-engagement APIs, and run those APIs locally.",
    cls=ErrorHandlingGroup,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)


@app.callback()
def main(
    debug: Annotated[
        bool,
        typer.Option(
            "--debug",
            envvar="ENGAGESYNC_DEBUG",
            show_envvar=True,
            help="On an error, print the Python traceback as well as the one-line message.",
        ),
    ] = False,
) -> None:
    """Move records between your warehouse and customer-engagement APIs, and run those APIs locally."""
    # ``debug`` is read by ErrorHandlingGroup from the context's params when a command fails.


app.add_typer(sandbox_cmd.app, name="sandbox")
sandbox_cmd.app.command("clock")(sandbox_admin_cmd.clock)
sandbox_cmd.app.command("faults")(sandbox_admin_cmd.faults)
sandbox_cmd.app.command("rate-limit")(sandbox_admin_cmd.rate_limit)
app.command("connect")(data_cmds.connect)
app.command("connections")(data_cmds.connections)
app.command("check")(data_cmds.check)
app.command("streams")(data_cmds.streams)
app.command("pull")(data_cmds.pull_cmd)
app.command("actions")(push_cmds.actions)
app.command("push")(push_cmds.push)
app.command("rejects")(push_cmds.rejects)
app.command("state")(state_cmd.state)
app.command("demo")(demo.demo)
app.command("listen")(webhooks_cmd.listen)
app.add_typer(webhooks_cmd.app, name="webhooks")
app.add_typer(destinations_cmd.app, name="destinations")
app.command("run")(destinations_cmd.worker)
app.command("console")(console_cmd.console)


#: Permission bits no file or folder the ``engagesync`` command creates has for anyone but its owner.
PRIVATE_UMASK = 0o077


def run() -> None:
    """The ``engagesync`` command: files it creates are private to you (the store holds pulled records
    and a destination's signing secret and header credentials; DuckDB writes the store and its WAL
    with the process's umask, so the umask is where that is decided), then the CLI."""
    os.umask(os.umask(PRIVATE_UMASK) | PRIVATE_UMASK)  # keep any stricter bits the caller had
    app()


if __name__ == "__main__":  # pragma: no cover
    run()
