"""The list of APIs, read from Python entry points so a third party can ship an API as its own package.

Two groups, the built-in APIs declared in this project's ``pyproject.toml`` like any other:
- ``engagesync.connectors``: api id -> a ``Connector`` instance (or a class/factory making one);
- ``engagesync.emulators``: api id -> an ``EmulatedApi`` class (called with the sandbox context).

Adding an API is its folder under ``apis/`` (or its own package) plus one line in each group.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from importlib.metadata import EntryPoint, entry_points
from typing import TYPE_CHECKING, Any

from ..client.connector import Connector

if TYPE_CHECKING:
    from ..sandbox.api import EmulatedApi
    from ..sandbox.context import SandboxContext

__all__ = ["UnknownApi", "api_ids", "connector", "connectors", "emulator_factories"]

CONNECTOR_GROUP = "engagesync.connectors"
EMULATOR_GROUP = "engagesync.emulators"


class UnknownApi(KeyError):
    """An api id no installed connector declares."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown API"


@functools.cache
def _declared(group: str) -> dict[str, EntryPoint]:
    found: dict[str, EntryPoint] = {}
    for ep in entry_points(group=group):
        found.setdefault(ep.name, ep)  # the first distribution on the path wins, as for imports
    if not found and group == CONNECTOR_GROUP:
        raise RuntimeError(
            "no engagesync connectors are registered: the package metadata is missing "
            "(install engagesync with pip, e.g. `pip install -e .`)"
        )
    return dict(sorted(found.items()))


@functools.cache
def connector(api: str) -> Connector:
    """The connector registered for ``api``."""
    declared = _declared(CONNECTOR_GROUP)
    if api not in declared:
        raise UnknownApi(f"no connector for API {api!r}; known: {', '.join(declared)}")
    loaded: Any = declared[api].load()
    made = loaded if isinstance(loaded, Connector) else loaded()
    if not isinstance(made, Connector):
        raise TypeError(f"entry point {declared[api].value} does not give an engagesync Connector")
    if made.api != api:
        raise TypeError(f"entry point {api!r} gives the connector of {made.api!r}")
    return made


def api_ids() -> list[str]:
    """Every registered API id, sorted."""
    return list(_declared(CONNECTOR_GROUP))


def connectors() -> dict[str, Connector]:
    return {api: connector(api) for api in api_ids()}


def emulator_factories() -> list[Callable[[SandboxContext], EmulatedApi]]:
    """Every registered emulator class (the sandbox is handed these by its caller)."""
    return [ep.load() for ep in _declared(EMULATOR_GROUP).values()]
