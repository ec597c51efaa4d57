"""A command's saved connection, its client and its streams: one-line usage errors naming the
connection when it cannot be had (shared by the data, state and webhook commands)."""

from __future__ import annotations

from collections import abc
from typing import TYPE_CHECKING, Any

from .common import fail

if TYPE_CHECKING:
    from ..client.http import ApiClient
    from ..client.streams import Stream
    from ..sync.connections import Connection


def connection(name: str) -> Connection:
    """The saved connection ``name``; a missing or unreadable one is a usage error naming it."""
    from ..sync.connections import ConnectionError_, ConnectionFileError, ConnectionStore

    try:
        return ConnectionStore().get(name)
    except (ConnectionError_, ConnectionFileError) as exc:
        fail(str(exc))


def client_for(connection: Connection, timeout: float | None = None, **kwargs: Any) -> ApiClient:
    """The connection's client (``timeout``: seconds per response); a connection the connector cannot
    use (a setting or secret missing, e.g. GrowthGenius's ``user_id``) is a usage error naming it."""
    from ..sync import connectors

    if timeout is not None:
        kwargs["timeout"] = timeout
    try:
        return connectors.client_for(connection, **kwargs)
    except ValueError as exc:
        fail(f"connection {connection.name!r}: {exc}")
    except TypeError as exc:
        fail(
            f"connection {connection.name!r} does not fit the {connection.api} connector ({exc}); "
            f"save it again with `engagesync connect {connection.name} --api {connection.api} ...`"
        )


def streams_for(connection: Connection) -> abc.Mapping[str, Stream]:
    """The connection's streams; an unreadable stream setting (e.g. ``salesforce_ids=@missing.csv``) is a
    usage error naming the connection."""
    from ..sync import connectors

    try:
        return connectors.streams_for(connection)
    except (ValueError, OSError) as exc:
        fail(f"connection {connection.name!r}: {exc}")
