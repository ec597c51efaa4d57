"""Entry point: ``engagesync <command>``."""

from __future__ import annotations

import typer

from . import demo, sandbox_cmd

app = typer.Typer(
    name="engagesync",
    help="Move records between your warehouse and customer-engagement APIs, and run those APIs locally.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)
app.add_typer(sandbox_cmd.app, name="sandbox")
app.command("demo")(demo.demo)


if __name__ == "__main__":  # pragma: no cover
    app()
