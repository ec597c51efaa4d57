"""A destination's rejects: list, retry (after fixing the cause), dismiss.

A destination's records go through the Pusher under the action ``destination:<name>``, so its rejects
are the store's rejects of that action; retrying sends them again through the destination's own plan
(endpoint, grouping, exclusions) with the settings of the run that filed them. The CLI
(``destinations rejects``) and the console call these.
"""

from __future__ import annotations

from typing import Any

from ..connections import ConnectionStore
from ..push import Pusher
from ..push_retry import retry_rejects
from ..store import Store
from ..store.ledger import Reject
from .delivery import connection_of, find, open_client, plan_for
from .plan import LEDGER_PREFIX


def open_rejects(store: Store, name: str) -> list[Reject]:
    """The destination's open rejects, oldest first."""
    config = find(store, name).config
    return list(store.rejects(config.connection, LEDGER_PREFIX + name))


def dismiss(store: Store, name: str, ids: list[int] | None = None) -> int:
    """Close open rejects without sending them (all, or ``ids``); how many were closed."""
    config = find(store, name).config
    return store.dismiss_rejects(config.connection, LEDGER_PREFIX + name, ids)


def retry(
    store: Store, name: str, connections: ConnectionStore | None = None, timeout: float | None = None
) -> dict[str, Any]:
    """Send the open rejects again; the counts (``done``, ``rejected`` again...)."""
    config = find(store, name).config
    connection = connection_of(config.connection, connections)
    with open_client(connection, connections, **({"timeout": timeout} if timeout else {})) as client:
        plan = plan_for(name, config, connection, client)
        pusher = Pusher(
            client, connection.name, plan.action, store, mapping=plan.mapping, key_field=config.key, capture=False
        )
        return retry_rejects(pusher, store).to_dict()
