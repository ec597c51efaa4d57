"""Users: members of the team (tenant). ``GET /users`` lists those who enabled integrations (seed 003,
where the User API needs no ``user_id``); ``GET /users/`` is the later revision's current-user form."""

from __future__ import annotations

import json
import sqlite3
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from ..contract import Problem, render_time, whole_number
from . import common

if TYPE_CHECKING:
    from . import GrowthGeniusApi


def render_user(row: sqlite3.Row) -> dict[str, Any]:
    first, last = row["first_name"], row["last_name"]
    return {
        "id": row["id"],
        "team_id": row["team_id"],
        "created_at": render_time(row["created_at"]),
        "email": row["email"],
        "email_bcc": row["email_bcc"],
        "first_name": first,
        "full_name": " ".join(p for p in (first, last) if p) or None,
        "last_name": last,
        "reporting_email": row["reporting_email"],
        "roles": json.loads(row["roles"]),
    }


def find_user(api: GrowthGeniusApi, tenant_id: int, user_id: int) -> sqlite3.Row | None:
    return api.ctx.store.one("SELECT * FROM gg_users WHERE tenant_id = ? AND id = ?", (tenant_id, user_id))


def owner_problems(
    api: GrowthGeniusApi, tenant_id: int, sent: dict[str, Any], problems: list[Problem]
) -> list[Problem]:
    """A ``user_id`` in a contact or message body must name a member of the team (checked once well-formed)."""
    owner = sent.get("user_id")
    if owner is None or any(field == "user_id" for field, _ in problems):
        return []
    if find_user(api, tenant_id, whole_number(owner) or 0) is None:
        return [("user_id", f"{owner} is not a member of your team")]
    return []


async def list_users(request: Request) -> Response:
    api, tid = common.api_of(request), common.tenant_id(request)
    rows = api.ctx.store.all("SELECT * FROM gg_users WHERE tenant_id = ? AND integrations = 1 ORDER BY id", (tid,))
    return JSONResponse({"users": [render_user(r) for r in rows]})


async def current_user(request: Request) -> Response:
    api, tid = common.api_of(request), common.tenant_id(request)
    uid = common.caller_id(request)
    row = find_user(api, tid, uid) if uid is not None else None
    if row is None:  # the gate requires user_id here; kept for direct calls
        raise common.GGError(401, "user_id is required as a query parameter")
    return JSONResponse({"user": render_user(row)})


def routes() -> list[BaseRoute]:
    return [Route("/users", list_users, methods=["GET"]), Route("/users/", current_user, methods=["GET"])]
