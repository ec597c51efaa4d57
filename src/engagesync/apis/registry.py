"""The list of APIs: adding an API is a new folder under ``apis/`` plus one line here."""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..sandbox.api import EmulatedApi
    from ..sandbox.context import SandboxContext

#: api id -> "module:ClassName" of its emulator
EMULATORS: dict[str, str] = {
    "groove-helpdesk": "engagesync.apis.groove_helpdesk.emulator:GrooveHelpdeskApi",
}


def emulator_factories() -> list[Callable[[SandboxContext], EmulatedApi]]:
    out = []
    for target in EMULATORS.values():
        module, _, name = target.partition(":")
        out.append(getattr(import_module(module), name))
    return out
