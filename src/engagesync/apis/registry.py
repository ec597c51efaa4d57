"""The list of APIs: adding an API is a new folder under ``apis/`` plus one line here."""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..sandbox.api import EmulatedApi
    from ..sandbox.context import SandboxContext

#: api id -> "module:ClassName" of its emulator
EMULATORS: dict[str, str] = {
    "groove-helpdesk": "engagesync.apis.groove_helpdesk.emulator:GrooveHelpdeskApi",
    "groove-sales": "engagesync.apis.groove_sales.emulator:GrooveSalesApi",
    "growthgenius": "engagesync.apis.growthgenius.emulator:GrowthGeniusApi",
    "volt": "engagesync.apis.volt.emulator:VoltApi",
}


#: api id -> module of its connector (client methods, streams, actions)
CONNECTORS: dict[str, str] = {
    "groove-helpdesk": "engagesync.apis.groove_helpdesk.connector",
    "groove-sales": "engagesync.apis.groove_sales.connector",
    "growthgenius": "engagesync.apis.growthgenius.connector",
    "volt": "engagesync.apis.volt.connector",
}


def connector(api: str) -> ModuleType:
    if api not in CONNECTORS:
        raise KeyError(f"no connector for API {api!r}; known: {', '.join(CONNECTORS)}")
    return import_module(CONNECTORS[api])


def emulator_factories() -> list[Callable[[SandboxContext], EmulatedApi]]:
    out = []
    for target in EMULATORS.values():
        module, _, name = target.partition(":")
        out.append(getattr(import_module(module), name))
    return out
