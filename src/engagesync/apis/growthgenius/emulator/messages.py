"""Messages between a user and a contact: create (never deduplicated), update, delete, get, window list."""

from __future__ import annotations

import json
import sqlite3
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from ..contract import MESSAGE_FIELDS, check_message, parse_time, render_time, unwrap
from . import common
from .common import Invalid, NotFound
from .contacts import find_contact
from .users import find_user

if TYPE_CHECKING:
    from . import GrowthGeniusApi

#: The documented fields, then the timestamps every record has (docs/fidelity.md).
RENDERED = ("id", "contact_id", "message_type", "rendered_copy", "rendered_subject", "sent_at", "team_id", "user_id")


def render_message(row: sqlite3.Row) -> dict[str, Any]:
    data = json.loads(row["data"])
    out = {name: data.get(name) for name in RENDERED}
    out.update(id=row["id"], contact_id=row["contact_id"], sent_at=render_time(row["sent_at"]),
               created_at=render_time(row["created_at"]), updated_at=render_time(row["updated_at"]))
    return out


def find_message(api: GrowthGeniusApi, tid: int, message_id: int) -> sqlite3.Row | None:
    return api.ctx.store.one("SELECT * FROM gg_messages WHERE tenant_id = ? AND id = ?", (tid, message_id))


def apply_fields(api: GrowthGeniusApi, tid: int, data: dict[str, Any], sent: dict[str, Any], creating: bool,
                 caller: int | None) -> dict[str, Any]:
    problems = check_message(sent, creating)
    bad = {p[0] for p in problems}
    team = api.team_id(tid)
    if sent.get("contact_id") is not None and "contact_id" not in bad \
            and find_contact(api, tid, int(sent["contact_id"])) is None:
        problems.append(("contact_id", f"{sent['contact_id']} is not a contact of your team"))
    if sent.get("team_id") is not None and "team_id" not in bad and int(sent["team_id"]) != team:
        problems.append(("team_id", f"must be your team's id, {team} (got {sent['team_id']})"))
    if sent.get("user_id") is not None and "user_id" not in bad and find_user(api, tid, int(sent["user_id"])) is None:
        problems.append(("user_id", f"{sent['user_id']} is not a member of your team"))
    if problems:
        raise Invalid(problems)
    out = dict(data)
    for name, kind in MESSAGE_FIELDS.items():
        if name in sent:
            value = sent[name]
            if value is not None and kind == "integer":
                value = int(value)
            elif value is not None and kind == "datetime":
                value = int(parse_time(value) or 0)
            out[name] = value
    if creating:
        out.setdefault("team_id", team)
        out["team_id"] = out["team_id"] if out["team_id"] is not None else team
        if out.get("user_id") is None:
            out["user_id"] = caller
    return out


def _columns(data: dict[str, Any]) -> tuple[int, int | None, str]:
    stored = {k: v for k, v in data.items() if k not in ("contact_id", "sent_at")}
    return int(data["contact_id"]), data.get("sent_at"), json.dumps(stored)


async def create_message(request: Request) -> Response:
    api, tid = common.api_of(request), common.tenant_id(request)
    sent = unwrap(await common.body(request), "message")
    store = api.ctx.store
    with store.tx():
        data = apply_fields(api, tid, {}, sent, True, common.caller_id(request))
        now = api.now_ms()
        data.setdefault("sent_at", None)
        contact_id, sent_at, blob = _columns(data)
        new_id = api.reserve(0, "message", 1, start=393_642)
        store.execute("INSERT INTO gg_messages (tenant_id, id, contact_id, sent_at, data, created_at, updated_at)"
                      " VALUES (?, ?, ?, ?, ?, ?, ?)", (tid, new_id, contact_id, sent_at, blob, now, now))
        row = find_message(api, tid, new_id)
    assert row is not None
    return JSONResponse({"message": render_message(row)}, status_code=201)


async def get_message(request: Request) -> Response:
    api, tid = common.api_of(request), common.tenant_id(request)
    message_id = common.path_id(request, "Message")
    row = find_message(api, tid, message_id)
    if row is None:
        raise NotFound("Message", message_id)
    return JSONResponse({"message": render_message(row)})


def _stored(row: sqlite3.Row) -> dict[str, Any]:
    return {**json.loads(row["data"]), "contact_id": row["contact_id"], "sent_at": row["sent_at"]}


async def update_message(request: Request) -> Response:
    api, tid = common.api_of(request), common.tenant_id(request)
    message_id = common.path_id(request, "Message")
    sent = unwrap(await common.body(request), "message")
    store = api.ctx.store
    with store.tx():
        row = find_message(api, tid, message_id)
        if row is None:
            raise NotFound("Message", message_id)
        old = _stored(row)
        data = apply_fields(api, tid, old, sent, False, common.caller_id(request))
        if data != old:
            contact_id, sent_at, blob = _columns(data)
            store.execute("UPDATE gg_messages SET contact_id = ?, sent_at = ?, data = ?, updated_at = ?"
                          " WHERE tenant_id = ? AND id = ?", (contact_id, sent_at, blob, api.now_ms(), tid, message_id))
        row = find_message(api, tid, message_id)
    assert row is not None
    return JSONResponse({"message": render_message(row)})


async def delete_message(request: Request) -> Response:
    api, tid = common.api_of(request), common.tenant_id(request)
    message_id = common.path_id(request, "Message")
    store = api.ctx.store
    with store.tx():
        row = find_message(api, tid, message_id)
        if row is None:
            raise NotFound("Message", message_id)
        store.execute("DELETE FROM gg_messages WHERE tenant_id = ? AND id = ?", (tid, message_id))
    return JSONResponse({"message": render_message(row)})


async def list_messages(request: Request) -> Response:
    api, tid = common.api_of(request), common.tenant_id(request)
    low, high = common.window(request, api.now_ms())
    rows = api.ctx.store.all(
        "SELECT * FROM gg_messages WHERE tenant_id = ? AND updated_at >= ? AND updated_at <= ?"
        " ORDER BY updated_at, id LIMIT ?", (tid, low, high, common.window_limit(api)))
    return JSONResponse({"messages": [render_message(r) for r in rows]})


def routes() -> list[BaseRoute]:
    return [
        Route("/messages", list_messages, methods=["GET"]),
        Route("/messages", create_message, methods=["POST"]),
        Route("/messages/{id}", get_message, methods=["GET"]),
        Route("/messages/{id}", update_message, methods=["PATCH", "PUT"]),
        Route("/messages/{id}", delete_message, methods=["DELETE"]),
    ]
