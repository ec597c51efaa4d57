"""``engagesync demo``: runs the demo scenario (``engagesync/demo.py``) and exits 1 if a step misbehaved."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Annotated

import typer

#: ``engagesync.demo.EXAMPLES``, named here so that ``--help`` shows it without importing the whole demo.
EXAMPLES = Path(str(resources.files("engagesync") / "examples"))


def demo(
    store: Annotated[
        str, typer.Option(help="DuckDB file to pull into (replaced if it exists).")
    ] = "engagesync-demo.duckdb",
    seed: Annotated[int, typer.Option(help="Seed for the sandbox's data.")] = 0,
    tickets: Annotated[int, typer.Option(help="How many tickets to seed.")] = 200,
    examples: Annotated[Path, typer.Option(help="Folder with the example CSVs.")] = EXAMPLES,
) -> None:
    """Pull everything into DuckDB and push the example CSVs, on an embedded sandbox."""
    from .. import demo as scenario

    if not scenario.run(store, seed=seed, tickets=tickets, examples=examples):
        raise typer.Exit(1)
