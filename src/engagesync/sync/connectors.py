"""From a named connection to a ready client, its streams and its actions (via the API registry)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from ..apis import registry
from ..client.actions import ActionSpec
from ..client.budget import WaitListener
from ..client.http import ApiClient
from ..client.streams import Stream
from .connections import Connection


def client_for(connection: Connection, on_wait: WaitListener | None = None, **kwargs: Any) -> ApiClient:
    """A client for ``connection``. Tuning, lowest precedence first: the connector's defaults, the
    connection's settings (``window_seconds``, ``timeout`` and those the connector names in
    ``CONNECTION_SETTINGS``), then ``ENGAGESYNC_WINDOW_SECONDS`` and
    ``ENGAGESYNC_TIMEOUT`` from the environment."""
    module = registry.connector(connection.api)
    settings = dict(connection.settings)
    for key, env in (("window_seconds", "ENGAGESYNC_WINDOW_SECONDS"), ("timeout", "ENGAGESYNC_TIMEOUT")):
        value = os.environ.get(env) or settings.get(key)
        if value is not None:
            kwargs.setdefault(key, float(value))
    for key in getattr(module, "CONNECTION_SETTINGS", ()):  # e.g. GrowthGenius's user_id
        if settings.get(key) is not None:
            kwargs.setdefault(key, settings[key])
    client: ApiClient = module.make_client(connection.base_url, on_wait=on_wait, **connection.secrets, **kwargs)
    return client


def streams_for(connection: Connection) -> Mapping[str, Stream]:
    result: Mapping[str, Stream] = registry.connector(connection.api).streams()
    return result


def actions_for(connection: Connection) -> Mapping[str, ActionSpec]:
    result: Mapping[str, ActionSpec] = registry.connector(connection.api).actions()
    return result


def check(connection: Connection, client: ApiClient) -> dict[str, Any]:
    result: dict[str, Any] = registry.connector(connection.api).check(client)
    return result


def from_sandbox(api: str, creds: dict[str, Any]) -> tuple[str, dict[str, str], dict[str, Any]]:
    """(base_url, secrets, settings) for an API from a sandbox's ``/_sandbox/credentials`` entry."""
    if api == "groove-helpdesk":
        return creds["base_url"], {"token": creds["token"]}, {}
    if api == "growthgenius":
        return creds["base_url"], {"api_key": creds["api_key"]}, {"user_id": creds["user_id"]}
    raise KeyError(f"engagesync has no connector for {api!r} yet")
