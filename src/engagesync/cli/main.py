"""Entry point: ``engagesync <command>``."""

from __future__ import annotations

import typer

from . import data_cmds, demo, sandbox_cmd

app = typer.Typer(
    name="engagesync",
    help="Move records between your warehouse and customer-engagement APIs, and run those APIs locally.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)
app.add_typer(sandbox_cmd.app, name="sandbox")
app.command("connect")(data_cmds.connect)
app.command("connections")(data_cmds.connections)
app.command("check")(data_cmds.check)
app.command("streams")(data_cmds.streams)
app.command("pull")(data_cmds.pull_cmd)
app.command("actions")(data_cmds.actions)
app.command("push")(data_cmds.push)
app.command("rejects")(data_cmds.rejects)
app.command("demo")(demo.demo)


if __name__ == "__main__":  # pragma: no cover
    app()
