"""One delivery run: the source's new rows through the destination's action, exactly once.

"New" is the ledger's word: every run reads the source and the Pusher skips what the destination's
ledger (``destination:<name>``) holds as done or refused, so a row appended later is delivered by the
next run, a killed run is finished by the next one, and nothing is sent twice. ``push`` is the same
engine with the action picked on the command line.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ...client.errors import EngageSyncError
from ...client.http import ApiClient
from ...errors import UserError
from .. import connectors
from ..connections import Connection, ConnectionError_, ConnectionStore
from ..preflight import check_columns
from ..push import Pusher
from ..readers import Record, header_based
from ..store import Store
from . import responses as webhook
from . import storage
from .model import DestinationConfig
from .plan import Plan, compile_plan, read_source
from .storage import Destination

#: Records read, checked against the ledger and committed together (at least one batch).
DEFAULT_WINDOW = 100
#: ``progress(name, counts)`` after each committed window (the worker's progress lines).
Progress = Callable[[str, dict[str, Any]], None]


class Stop(Exception):
    """Raised between windows when the worker was asked to stop: the run ends cleanly, the rest waits."""


@dataclass
class DeliveryResult:
    name: str
    run_id: int
    version: int
    status: str
    counts: dict[str, Any] = field(default_factory=dict)
    responses: int = 0
    webhooks_delivered: int = 0
    webhooks_failed: int = 0
    error: str | None = None
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "destination": self.name,
            "run_id": self.run_id,
            "version": self.version,
            "status": self.status,
            **self.counts,
            "responses": self.responses,
            "webhooks_delivered": self.webhooks_delivered,
            "webhooks_failed": self.webhooks_failed,
            **({"error": self.error} if self.error else {}),
        }

    def line(self) -> str:
        """The worker's one log line for this run."""
        c = self.counts
        text = (
            f"delivered {self.name} run={self.run_id} status={self.status} read={c.get('read', 0)} "
            f"done={c.get('done', 0)} skipped={c.get('skipped', 0)} rejected={c.get('rejected', 0)} "
            f"responses={self.responses} webhooks={self.webhooks_delivered} {self.seconds:.2f}s"
        )
        return text + (f" error: {self.error}" if self.error else "")


def find(store: Store, name: str) -> Destination:
    storage.ensure(store)
    found = storage.get(store, name)
    if found is None:
        known = [d.name for d in storage.all_(store)]
        hint = f"; destinations: {', '.join(known)}" if known else "; create one with `engagesync destinations create`"
        raise UserError(f"no destination named {name!r}{hint}")
    return found


def connection_of(config_connection: str, connections: ConnectionStore | None) -> Connection:
    try:
        return (connections or ConnectionStore()).get(config_connection)
    except ConnectionError_ as exc:
        raise UserError(f"connection: {exc}") from None


def open_client(connection: Connection, connections: ConnectionStore | None, **tuning: Any) -> ApiClient:
    try:
        return connectors.client_for(connection, store=connections, **tuning)
    except (ValueError, TypeError) as exc:
        raise UserError(f"connection {connection.name!r}: {exc}") from None


def plan_for(destination_name: str, config: Any, connection: Connection, client: ApiClient) -> Plan:
    return compile_plan(destination_name, config, connectors.actions_for(connection), client.base_url)


def source_rows(plan: Plan, store: Store) -> Iterator[Record]:
    """The source's records, the mapping's columns checked against the first row of a table or CSV."""
    source = plan.config.source
    rows = read_source(source, store)
    first = next(rows, None)
    if first is None:
        return iter(())
    if header_based(source) or source.lower().startswith("sql:"):
        check_columns(plan.mapping, first[1].keys(), source)
    return itertools.chain([first], rows)


def window_for(plan: Plan, window: int | None) -> int:
    if window is None:
        value = os.environ.get("ENGAGESYNC_COMMIT_RECORDS", "").strip()
        window = int(value) if value.isdigit() and int(value) > 0 else DEFAULT_WINDOW
    size = plan.config.batching.size if plan.config.batching.enabled else 1
    return max(window, size)


def record_responses(
    store: Store, name: str, config: DestinationConfig, run_id: int, client: ApiClient, plan: Plan
) -> webhook.ResponseRecorder | None:
    """Keep each API response of ``client`` in ``NAME.responses`` for run ``run_id``, if the destination
    keeps them (a delivery and a test send alike)."""
    if not config.responses.enabled:
        return None
    storage.ensure_responses(store, name)
    recorder = webhook.ResponseRecorder(
        store, name, config.responses.headers, run_id, forwarded=bool(config.responses.webhook_url)
    )
    recorder.attach(client)
    plan.sender.recorder = recorder
    return recorder


def deliver(
    store: Store,
    name: str,
    *,
    connections: ConnectionStore | None = None,
    kind: str = "run",
    window: int | None = None,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
    timeout: float | None = None,
) -> DeliveryResult:
    """Deliver what is new in the destination's source once. API outages and refused credentials are
    recorded on the run and raised (the CLI maps them to exit 4 and 3; the worker logs and goes on)."""
    destination = find(store, name)
    config = destination.config
    connection = connection_of(config.connection, connections)
    began = time.perf_counter()
    with open_client(connection, connections, **({"timeout": timeout} if timeout else {})) as client:
        plan = plan_for(name, config, connection, client)
        run_id = storage.run_start(store, name, destination.version, kind)
        result = DeliveryResult(name, run_id, destination.version, "running")
        recorder = record_responses(store, name, config, run_id, client, plan)

        def forward() -> None:
            url, secret = config.responses.webhook_url, storage.secret(store, name)
            if url and secret:
                sent, failed = webhook.forward(store, name, url, secret)
                result.webhooks_delivered += sent
                result.webhooks_failed += failed

        def on_window(_: str, counts: dict[str, Any]) -> None:
            forward()
            if progress is not None:
                progress(name, counts)
            if should_stop is not None and should_stop():
                raise Stop()

        pusher = Pusher(
            client,
            connection.name,
            plan.action,
            store,
            mapping=plan.mapping,
            key_field=config.key,
            progress=on_window,
            capture=False,
            batch_size=window_for(plan, window),
        )
        error: BaseException | None = None
        try:
            pusher.run(source_rows(plan, store))
            result.status = "partial" if pusher.result.rejected else "ok"
        except Stop:
            result.status = "stopped"
        except (EngageSyncError, UserError) as exc:
            result.status, result.error, error = "failed", str(exc), exc
        except BaseException as exc:
            result.status, result.error, error = "failed", f"{type(exc).__name__}: {exc}", exc
        finally:
            with contextlib.suppress(Exception):
                forward()
            result.counts = pusher.result.to_dict()
            result.responses = recorder.rows if recorder else 0
            result.seconds = time.perf_counter() - began
            storage.run_finish(
                store, run_id, name, result.status, {**result.counts, "responses": result.responses}, result.error
            )
    if error is not None:
        raise error
    return result
