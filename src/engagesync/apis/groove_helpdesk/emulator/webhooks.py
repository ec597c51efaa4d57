"""Groove helpdesk webhooks: registration and the ``emit`` every state change goes through.

Two request shapes are accepted. Groove's own is ``{event, url}``, one event per webhook. Nexla's
"Create Webhook" template (seed 002) sends ``{webhook_url, event_types: [...]}`` and writes event
names with dots (``ticket.started``); each named event becomes its own Groove webhook, because that
is the only kind Groove has.
"""

from __future__ import annotations

import random
import sqlite3
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from ....sandbox.clock import iso8601
from ..contract.fields import is_webhook_url
from ..contract.webhooks import WEBHOOK_EVENTS, canonical_event, canonical_events, event_key
from . import common, people
from .common import NotFound, Problems

if TYPE_CHECKING:
    from ....sandbox.api import Tenant
    from . import GrooveHelpdeskApi

DDL = ""
TABLES: tuple[str, ...] = ()

#: Names that are not Groove events, with the closest documented ones.
HINTS = {
    "ticket_state_changed": "ticket_opened, ticket_closed (one webhook each; event_types takes the alias)",
    "ticket_updated": "ticket_opened, ticket_closed, ticket_assigned, ticket_priority_changed, ticket_tagged",
    "message_created": "customer_replied, agent_replied, note_added",
    "customer_created": "customer_added",
}


def _unknown(value: Any) -> str:
    hint = HINTS.get(event_key(str(value)))
    return f"{value!r} (did you mean {hint}?)" if hint else repr(value)


def render_webhook(base: str, row: sqlite3.Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "event": row["event"],
        "url": row["url"],
        "state": row["state"],
        "created_at": iso8601(row["created_at"]),
        "href": people.url(base, "webhooks", row["id"]),
    }


def _register(api: GrooveHelpdeskApi, tenant_id: int, event: str, url: str) -> sqlite3.Row:
    """The active webhook for (event, url), created if needed, so a re-sent registration adds no duplicate."""
    store = api.ctx.store
    row = store.one(
        "SELECT * FROM gh_webhooks WHERE tenant_id = ? AND event = ? AND url = ? AND state = 'active'",
        (tenant_id, event, url),
    )
    if row is not None:
        return row
    hook_id = api.new_id(tenant_id, "webhook")
    now = api.now()
    store.execute(
        "INSERT INTO gh_webhooks (tenant_id, id, event, url, state, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, 'active', ?, ?)",
        (tenant_id, hook_id, event, url, now, now),
    )
    created = store.one("SELECT * FROM gh_webhooks WHERE tenant_id = ? AND id = ?", (tenant_id, hook_id))
    assert created is not None
    return created


async def create_webhook(request: Request) -> Response:
    api, tid, base = common.api_of(request), common.tenant_id(request), common.api_base(request)
    p = await common.params(request)
    problems = Problems()
    url_field = "url" if "url" in p or "webhook_url" not in p else "webhook_url"
    url = p.get(url_field)
    if url is None or (isinstance(url, str) and not url.strip()):
        problems.add(url_field, "can't be blank")
    elif not is_webhook_url(url):
        problems.add(url_field, f"must be an http(s) URL (got {url!r})")
    nexla_shape = "event" not in p and "event_types" in p
    events: list[str] = []
    if nexla_shape:
        raw = p.get("event_types")
        items = [s for s in raw.split(",") if s.strip()] if isinstance(raw, str) else raw
        if not isinstance(items, list) or not items:
            problems.add("event_types", "can't be blank (an array of event names)")
        else:
            unknown = [_unknown(e) for e in items if not canonical_events(e)]
            if unknown:
                problems.add(
                    "event_types",
                    f"contains unknown event(s) {', '.join(unknown)}; known events: {', '.join(WEBHOOK_EVENTS)}",
                )
            events = list(dict.fromkeys(e for i in items for e in canonical_events(i)))
    else:
        raw = p.get("event")
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            problems.add("event", "can't be blank")
        elif canonical_event(raw) is None:
            problems.add("event", f"is not a webhook event: {_unknown(raw)}; known events: {', '.join(WEBHOOK_EVENTS)}")
        else:
            events = [str(canonical_event(raw))]
    problems.raise_if_any()
    assert isinstance(url, str)
    with api.ctx.store.tx():
        rows = [_register(api, tid, event, url.strip()) for event in events]
    if nexla_shape:
        return JSONResponse({"webhooks": [render_webhook(base, r) for r in rows]}, status_code=201)
    hook = render_webhook(base, rows[0])
    return common.created({"webhook": hook}, hook["href"])


async def list_webhooks(request: Request) -> Response:
    api, tid = common.api_of(request), common.tenant_id(request)
    rows = api.ctx.store.all("SELECT * FROM gh_webhooks WHERE tenant_id = ? ORDER BY id", (tid,))
    base = common.api_base(request)
    return JSONResponse({"webhooks": [render_webhook(base, r) for r in rows]})


async def webhook(request: Request) -> Response:
    api, tid = common.api_of(request), common.tenant_id(request)
    store = api.ctx.store
    row = store.one("SELECT * FROM gh_webhooks WHERE tenant_id = ? AND id = ?", (tid, request.path_params["id"]))
    if row is None:
        raise NotFound("Webhook")
    if request.method == "DELETE":
        store.execute("DELETE FROM gh_webhooks WHERE tenant_id = ? AND id = ?", (tid, row["id"]))
        return common.no_content()
    return JSONResponse({"webhook": render_webhook(common.api_base(request), row)})


def routes() -> list[BaseRoute]:
    return [
        Route("/webhooks", list_webhooks, methods=["GET"]),
        Route("/webhooks", create_webhook, methods=["POST"]),
        Route("/webhooks/{id}", webhook, methods=["GET", "DELETE"]),
    ]


def seed(api: GrooveHelpdeskApi, tenant: Tenant, rng: random.Random, counts: dict[str, int]) -> None:
    """No webhooks are seeded: a receiver exists only once a client registers it."""


def emit(api: GrooveHelpdeskApi, tenant_id: int, event: str, payload: dict[str, Any]) -> None:
    """Queue ``payload`` (the raw resource, no envelope) for every active webhook of the event.

    Groove signs nothing; it names the event in an ``X-Groove-Event`` header, which is how receivers
    such as Zulip's Groove integration tell the payloads apart.
    """
    rows = api.ctx.store.all(
        "SELECT url FROM gh_webhooks WHERE tenant_id = ? AND event = ? AND state = 'active' ORDER BY id",
        (tenant_id, event),
    )
    for row in rows:
        api.ctx.outbox.enqueue(api.id, tenant_id, event, row["url"], payload, headers={"X-Groove-Event": event})
