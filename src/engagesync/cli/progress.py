"""Progress of long commands (pull, push) on stderr: a live display, or plain lines for logs and for
tools that act on progress; and the line that shows a rate-limit wait."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from .common import err, fail

if TYPE_CHECKING:
    from ..client.budget import WaitListener


def env_int(name: str, default: int) -> int:
    """A positive whole number from the environment variable ``name`` (``default`` when unset)."""
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    if not value.isdigit() or int(value) < 1:
        fail(f"{name}={value!r}: expected a positive whole number")
    return int(value)


class _Lines:
    """Progress as plain lines on stderr (``ENGAGESYNC_PROGRESS=lines``): one line per update, for logs
    and for tools that act on progress (a crash test kills a pull at a given page)."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def add_task(self, description: str, total: float | None = None, **fields: Any) -> int:
        self.names.append(description)
        return len(self.names) - 1

    def update(self, task: int, *, detail: str = "", **fields: Any) -> None:
        if detail:
            err.print(f"progress {self.names[task]}: {detail}", highlight=False, soft_wrap=True)


@contextmanager
def live_progress(quiet: bool) -> Iterator[tuple[Any, WaitListener]]:
    """A live progress display on stderr (off for ``--json``; plain lines with ``ENGAGESYNC_PROGRESS=lines``)
    and a listener showing rate-limit waits."""
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    if not quiet and os.environ.get("ENGAGESYNC_PROGRESS") == "lines":
        lines = _Lines()
        wait_task = lines.add_task("rate limit")
        yield lines, lambda seconds, why: lines.update(wait_task, detail=f"waiting {seconds:.2f}s for the {why} window")
        return
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(bar_width=None),
        TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(),
        console=err,
        disable=quiet,
    ) as progress:
        wait = progress.add_task("rate limit", total=None, detail="", visible=False)

        def on_wait(seconds: float, why: str) -> None:
            progress.update(wait, visible=True, detail=f"waiting {seconds:.2f}s for the {why} window")

        yield progress, on_wait
