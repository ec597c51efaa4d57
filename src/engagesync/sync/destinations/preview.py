"""Seed 002's "Sample Request Payload" and "Endpoint Testing": previews and test sends.

``preview`` renders the first requests exactly as they would go out under the given settings (saved
or not: a console edits settings live): mapping, exclusion, format, headers, grouping, and the
connection's own headers, built by the same httpx client that sends them, with every secret
redacted. ``test_send`` sends one sample. Unedited, it goes through the ledger like a delivery (the
record counts as delivered, so activating the destination does not create it a second time); edited
(``payload``), the record's data was changed, so the record is not marked delivered and the edited
copy is sent outside the ledger.
"""

from __future__ import annotations

import contextlib
import itertools
import json
from typing import Any

import httpx

from ...client.actions import Request
from ...client.auth import BearerToken, HeaderKey
from ...client.errors import ApiError, TransportError
from ...client.http import ApiClient
from ...errors import UserError
from ..connections import ConnectionStore
from ..mapping import MappingError
from ..push import Pusher, record_key
from ..store import Store
from . import responses as webhook
from . import storage
from .delivery import connection_of, find, open_client, plan_for, record_responses, source_rows, window_for
from .model import REDACTED, DestinationConfig, shown_header
from .plan import LEDGER_PREFIX, Plan

#: Records a preview reads at most, to find its first requests.
PREVIEW_READ_LIMIT = 10_000


def preview(
    store: Store,
    name: str,
    config: DestinationConfig | None = None,
    *,
    limit: int = 3,
    connections: ConnectionStore | None = None,
) -> dict[str, Any]:
    """The first ``limit`` requests under ``config`` (default: the saved one), and the rows refused locally."""
    config = config or find(store, name).config
    connection = connection_of(config.connection, connections)
    with open_client(connection, connections) as client:
        plan = plan_for(name, config, connection, client)
        window = window_for(plan, None)
        requests: list[dict[str, Any]] = []
        rejected: list[dict[str, Any]] = []
        attributes: list[str] = []
        # grouped window by window, as a delivery run groups them (by_attribute gathers within a window)
        for samples in _windows(plan, store, window):
            rejected.extend(samples["rejected"])
            found = samples["records"]
            records = [s["record"] for s in found]
            if not attributes and found:  # what Exclude Attributes offers: the mapped record's fields
                with contextlib.suppress(MappingError):
                    attributes = list(plan.mapping.apply(found[0]["raw"]))
            for group in plan.groups(records):
                if len(requests) >= limit:
                    break
                request = plan.request_for([records[i] for i in group])
                entry = {"lines": [found[i]["line"] for i in group], "records": len(group), **render(client, request)}
                if plan.template is not None and plan.template.send_batch is not None and len(group) > 1:
                    entry["note"] = f"the {len(group)} records go as one aliased GraphQL request; the first shown"
                requests.append(entry)
            if len(requests) >= limit:
                break
    return {"destination": name, "requests": requests, "rejected": rejected, "attributes": attributes}


def _windows(plan: Plan, store: Store, window: int) -> Any:
    """Valid and refused records per ledger window of source rows (``PREVIEW_READ_LIMIT`` rows at most)."""
    rows = source_rows(plan, store)
    read = 0
    while read < PREVIEW_READ_LIMIT:
        chunk = list(itertools.islice(rows, min(window, PREVIEW_READ_LIMIT - read)))
        if not chunk:
            return
        read += len(chunk)
        yield _classify(plan, chunk)


def _classify(plan: Plan, rows: Any) -> dict[str, Any]:
    """Each row mapped, prepared and checked as the Pusher does: valid records with line and key, or problems."""
    found: list[dict[str, Any]] = []
    rejected: list[dict[str, Any]] = []
    action = plan.action
    for line, raw in rows:
        try:
            record = action.prepare(plan.mapping.apply(raw))
            key = record_key(record, plan.config.key, raw)
        except MappingError as exc:
            rejected.append({"line": line, "problems": [f"{exc.field} {exc.reason}"]})
            continue
        problems = action.validate(record)
        if problems:
            rejected.append({"line": line, "problems": [f"{f} {r}" for f, r in problems]})
            continue
        found.append({"line": line, "key": key, "raw": raw, "record": record})
    return {"records": found, "rejected": rejected}


def render(client: ApiClient, request: Request) -> dict[str, Any]:
    """``request`` as the client would send it: URL, every header (credentials redacted), body text."""
    built = client.http.build_request(
        request.method,
        request.path,
        json=request.json if request.content is None else None,
        content=request.content,
        headers=request.headers,
    )
    auth = client.auth
    if isinstance(auth, BearerToken | HeaderKey):  # add what the credential adds, to redact it below
        built = next(auth.auth_flow(built))
    elif auth is not None:
        built.headers["Authorization"] = REDACTED
    secrets = client.auth.secrets() if client.auth else []
    headers = {
        name: REDACTED if any(s and s in value for s in secrets) else shown_header(name, value)
        for name, value in built.headers.items()
    }
    body_bytes = built.content
    text = body_bytes.decode("utf-8", "replace")
    for secret in secrets:
        text = text.replace(secret, REDACTED) if secret else text
    return {
        "method": built.method,
        "url": client.safe_url(built.url),
        "headers": headers,
        "body": text,
        "body_bytes": len(body_bytes),
    }


def test_send(
    store: Store,
    name: str,
    *,
    payload: dict[str, Any] | None = None,
    config: DestinationConfig | None = None,
    connections: ConnectionStore | None = None,
    timeout: float | None = None,
) -> dict[str, Any]:
    """Send one sample (the first record not yet delivered, or ``payload``: an edited record) and
    return the request as sent and the API's response. No retries.

    ``config``: settings not saved yet (the console's form before Done). There is no destination to
    record a run, a response or a ledger entry for, so nothing is written to the store: the sample goes
    out like an edited one, and the record stays undelivered (activating the saved destination sends it)."""
    if config is not None:
        return _test_unsaved(store, name, config, payload, connections, timeout)
    destination = find(store, name)
    config = destination.config
    connection = connection_of(config.connection, connections)
    with open_client(connection, connections, **({"timeout": timeout} if timeout else {})) as client:
        plan = plan_for(name, config, connection, client)
        run_id = storage.run_start(store, name, destination.version, "test")
        recorder = record_responses(store, name, config, run_id, client, plan)
        status, error = "failed", None
        try:
            answer = _send_edited(client, plan, payload) if payload is not None else _send_sample(client, plan, store)
            status = "ok" if answer.get("response", {}).get("status", 0) < 400 else "partial"
            return {"destination": name, "edited": payload is not None, **answer}
        except Exception as exc:
            error = str(exc)
            raise
        finally:
            counts = {"edited": payload is not None, "responses": recorder.rows if recorder else 0}
            storage.run_finish(store, run_id, name, status, counts, error, kind="test")
            url, secret = config.responses.webhook_url, storage.secret(store, name)
            if recorder is not None and url and secret:
                with contextlib.suppress(Exception):  # the receiver's trouble never hides the answer
                    webhook.forward(store, name, url, secret)


def _test_unsaved(
    store: Store,
    name: str,
    config: DestinationConfig,
    payload: dict[str, Any] | None,
    connections: ConnectionStore | None,
    timeout: float | None,
) -> dict[str, Any]:
    connection = connection_of(config.connection, connections)
    with open_client(connection, connections, **({"timeout": timeout} if timeout else {})) as client:
        plan = plan_for(name, config, connection, client)
        record = payload if payload is not None else _first_pending(plan, store, client, name)
        answer = _send_edited(client, plan, record)
    return {"destination": name, "edited": payload is not None, "saved": False, **answer}


def _first_pending(plan: Plan, store: Store, client: ApiClient, name: str) -> dict[str, Any]:
    pending = _pending(plan, store, client, plan.config.connection, window_for(plan, None))
    if not pending:
        raise UserError(f"destination {name!r}: every record of its source is already delivered; nothing to test")
    return dict(pending[0]["record"])


def _send_edited(client: ApiClient, plan: Plan, payload: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise UserError("--payload: the edited sample must be a JSON object (one record)")
    record = plan.action.prepare(payload)
    problems = plan.action.validate(record)
    if problems:
        field, reason = problems[0]
        raise UserError(f"edited sample: {field} {reason}; fix it and send again")
    request = plan.request_for([record])
    if plan.action.resolve is not None:
        request = plan.action.resolve(client, record)
    shown = render(client, request)
    outcome = plan.sender(client, [record], retry=False, keys=["test:edited"], requests=[request])[0]
    return {"request": shown, "response": _response(outcome)}


def _send_sample(client: ApiClient, plan: Plan, store: Store) -> dict[str, Any]:
    window = window_for(plan, None)
    connection_name = plan.config.connection
    for sample in _pending(plan, store, client, connection_name, window):
        shown = render(client, plan.request_for([sample["record"]]))
        pusher = Pusher(
            client,
            connection_name,
            plan.action,
            store,
            mapping=plan.mapping,
            key_field=plan.config.key,
            capture=False,
        )
        result = pusher.run([(sample["line"], sample["raw"])], test=True)
        answer = result.requests[0] if result.requests else {}
        if "outcome" in answer:  # timed out: the ledger reconciles it before any resend
            return {"request": shown, "line": sample["line"], "response": {"status": None, "outcome": "unknown"}}
        return {
            "request": shown,
            "line": sample["line"],
            "response": {"status": answer.get("status"), "body": answer.get("body")},
        }
    raise UserError(f"destination {plan.name!r}: every record of its source is already delivered; nothing to test")


def _pending(plan: Plan, store: Store, client: ApiClient, connection: str, window: int) -> Any:
    """Valid records the destination's ledger does not hold yet, in source order (the first window
    that has any)."""
    for samples in _windows(plan, store, window):
        found = samples["records"]
        held = store.ledger_get_many(connection, LEDGER_PREFIX + plan.name, [s["key"] for s in found])
        pending = [s for s in found if s["key"] not in held]
        if pending:
            return pending
    return []


def _response(outcome: Any) -> dict[str, Any]:
    if isinstance(outcome, ApiError):
        return {"status": outcome.status, "body": outcome.body}
    if isinstance(outcome, TransportError):
        return {"status": None, "error": str(outcome)}
    if isinstance(outcome, httpx.Response):
        try:
            body: Any = outcome.json() if outcome.content else None
        except (ValueError, json.JSONDecodeError):
            body = outcome.text
        return {"status": outcome.status_code, "location": outcome.headers.get("location"), "body": body}
    return {"status": getattr(outcome, "status", None), "body": getattr(outcome, "body", None)}


def sample(
    store: Store, name: str, connections: ConnectionStore | None = None, config: DestinationConfig | None = None
) -> dict[str, Any]:
    """The record a test would send (mapped, before exclusion): what a user edits before sending.
    ``config``: settings not saved yet (default: the saved ones)."""
    config = config or find(store, name).config
    connection = connection_of(config.connection, connections)
    with open_client(connection, connections) as client:
        plan = plan_for(name, config, connection, client)
        return _first_pending(plan, store, client, name)
