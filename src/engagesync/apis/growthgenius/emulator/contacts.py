"""Contacts: create (never deduplicated), update, delete, get, list by ``updated_at`` window, search."""

from __future__ import annotations

import json
import sqlite3
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from ..contract import (
    CONTACT_FIELDS,
    DEFAULT_SORT,
    PARTIAL_RESULTS_LIMIT,
    SEARCH_MAX_PER_PAGE,
    SEARCH_PER_PAGE,
    SORT_FIELDS,
    check_contact,
    merged,
    render_time,
    unwrap,
    whole_number,
)
from . import common
from .common import GGError, Invalid
from .users import owner_problems

if TYPE_CHECKING:
    from . import GrowthGeniusApi

#: Text the keyword search looks in (lower-cased, joined).
SEARCH_FIELDS = (
    "first_name",
    "last_name",
    "full_name",
    "name",
    "email",
    "title",
    "company_name",
    "company_name_informal",
)


def render_contact(row: sqlite3.Row) -> dict[str, Any]:
    data = json.loads(row["data"])
    out = {name: data.get(name) for name in CONTACT_FIELDS}
    out.update(id=row["id"], created_at=render_time(row["created_at"]), updated_at=render_time(row["updated_at"]))
    return dict(sorted(out.items()))


def apply_fields(
    api: GrowthGeniusApi, tid: int, data: dict[str, Any], sent: dict[str, Any], creating: bool, caller: int | None
) -> dict[str, Any]:
    """Validate ``sent`` and merge it into ``data`` (the stored fields); raises ``Invalid``."""
    problems = check_contact(sent, creating)
    problems += owner_problems(api, tid, sent, problems)
    if problems:
        raise Invalid(problems)
    out = merged(data, sent, CONTACT_FIELDS)
    # contact_account and contact_account_id name the same account: keep them in step.
    if "contact_account" in sent and "contact_account_id" not in sent:
        out["contact_account_id"] = out["contact_account"]["id"] if out["contact_account"] else None
    elif "contact_account_id" in sent and "contact_account" not in sent:
        account_id = out["contact_account_id"]
        old = data.get("contact_account") or {}
        out["contact_account"] = (
            None if account_id is None else {"id": account_id, "status": old.get("status") or "cold"}
        )
    # full_name and name default to "first last" when the caller never set them.
    joined = " ".join(str(out[k]) for k in ("first_name", "last_name") if out.get(k)) or None
    for name in ("full_name", "name"):
        if name not in sent and (creating or out.get(name) == _joined(data)):
            out[name] = joined
    if creating and out.get("user_id") is None:
        out["user_id"] = caller
    return out


def _joined(data: dict[str, Any]) -> str | None:
    return " ".join(str(data[k]) for k in ("first_name", "last_name") if data.get(k)) or None


def search_text(data: dict[str, Any]) -> str:
    return " ".join(str(data[k]) for k in SEARCH_FIELDS if data.get(k)).lower()


CONTACTS = common.Records("gg_contacts", "Contact", "contact", "contacts", render_contact)


def _email_key(data: dict[str, Any]) -> str | None:
    email = data.get("email")
    return email.strip().lower() if isinstance(email, str) and email.strip() else None


# -- handlers (get, delete and the window list are CONTACTS.get, .delete, .window_list) ------------------
async def create_contact(request: Request) -> Response:
    api, tid = common.api_of(request), common.tenant_id(request)
    sent = unwrap(await common.body(request), "contact")
    data = apply_fields(api, tid, {}, sent, True, common.caller_id(request))
    store = api.ctx.store
    now = api.now_ms()
    with store.tx():
        new_id = api.reserve(0, "contact", 1, start=1_102_755)
        store.execute(
            "INSERT INTO gg_contacts (tenant_id, id, email, search, data, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (tid, new_id, _email_key(data), search_text(data), json.dumps(data), now, now),
        )
        row = CONTACTS.existing(api, tid, new_id)
    return CONTACTS.answer(row, 201)


async def update_contact(request: Request) -> Response:
    api, tid = common.api_of(request), common.tenant_id(request)
    contact_id = common.path_id(request, "Contact")
    sent = unwrap(await common.body(request), "contact")
    store = api.ctx.store
    with store.tx():
        old = json.loads(CONTACTS.existing(api, tid, contact_id)["data"])
        data = apply_fields(api, tid, old, sent, False, common.caller_id(request))
        if data != old:  # updated_at moves on every change, and only then (as Rails does)
            store.execute(
                "UPDATE gg_contacts SET email = ?, search = ?, data = ?, updated_at = ? WHERE tenant_id = ? AND id = ?",
                (_email_key(data), search_text(data), json.dumps(data), api.now_ms(), tid, contact_id),
            )
        row = CONTACTS.existing(api, tid, contact_id)
    return CONTACTS.answer(row)


_SORT_SQL = {
    "contact_last_activity_date": "COALESCE((SELECT MAX(m.sent_at) FROM gg_messages m WHERE m.tenant_id = c.tenant_id"
    " AND m.contact_id = c.id), c.updated_at)",
    "contact_created_at": "c.created_at",
    "contact_updated_at": "c.updated_at",
    "contact_name": "lower(COALESCE(json_extract(c.data, '$.name'), json_extract(c.data, '$.full_name'), ''))",
}


def _flag(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0"):
        return value.strip().lower() in ("true", "1")
    if value is None:
        return False
    raise Invalid([(name, f"must be true or false (got {value!r})")])


def _int(value: Any, name: str, default: int, low: int, high: int | None = None) -> int:
    if value is None or value == "":
        return default
    number = whole_number(value)
    if number is None:
        raise Invalid([(name, f"must be a whole number (got {value!r})")])
    if number < low:
        raise Invalid([(name, f"must be at least {low} (got {number})")])
    return min(number, high) if high is not None else number


async def search_contacts(request: Request) -> Response:
    """Apollo-style search: every keyword must appear in the name, email, title or company."""
    api, tid = common.api_of(request), common.tenant_id(request)
    params = {**dict(request.query_params), **(await common.body(request))}
    params.pop("user_id", None)
    keywords = params.get("q_keywords") or ""
    if not isinstance(keywords, str):
        raise Invalid([("q_keywords", "must be text")])
    sort = DEFAULT_SORT if params.get("sort_by_field") is None else params["sort_by_field"]  # "" is no field
    if sort not in SORT_FIELDS:
        raise Invalid([("sort_by_field", f"must be one of {', '.join(SORT_FIELDS)} (got {sort!r})")])
    ascending = _flag(params.get("sort_ascending"), "sort_ascending")
    page = _int(params.get("page"), "page", 1, 1)
    per_page = _int(params.get("per_page"), "per_page", SEARCH_PER_PAGE, 1, SEARCH_MAX_PER_PAGE)
    terms = [t for t in keywords.lower().split() if t]
    where = "c.tenant_id = ?" + "".join(" AND instr(c.search, ?) > 0" for _ in terms)
    args: list[Any] = [tid, *terms]
    store = api.ctx.store
    total = int(store.scalar(f"SELECT COUNT(*) FROM gg_contacts c WHERE {where}", tuple(args)))
    reachable = min(total, PARTIAL_RESULTS_LIMIT)
    offset = (page - 1) * per_page
    rows: list[sqlite3.Row] = []
    if offset < reachable:
        order = "ASC" if ascending else "DESC"
        rows = store.all(
            f"SELECT c.* FROM gg_contacts c WHERE {where} ORDER BY {_SORT_SQL[sort]} {order}, c.id {order}"
            " LIMIT ? OFFSET ?",
            (*args, min(per_page, reachable - offset), offset),
        )
    breadcrumbs = (
        [{"label": "Keywords", "signature_field_name": "q_keywords", "value": keywords, "display_name": keywords}]
        if keywords.strip()
        else []
    )
    return JSONResponse(
        {
            "breadcrumbs": breadcrumbs,
            "partial_results_only": total > PARTIAL_RESULTS_LIMIT,
            "disable_eu_prospecting": False,
            "partial_results_limit": PARTIAL_RESULTS_LIMIT,
            "pagination": {
                "page": page,
                "per_page": per_page,
                "total_entries": total,
                "total_pages": -(-reachable // per_page),
            },
            "contacts": [{"contact": render_contact(r)} for r in rows],
            "num_fetch_result": None,
        }
    )


def routes() -> list[BaseRoute]:
    return [
        Route("/contacts", CONTACTS.window_list, methods=["GET"]),
        Route("/contacts", create_contact, methods=["POST"]),
        Route("/contacts/search", search_contacts, methods=["POST"]),
        Route("/contacts/{id}", CONTACTS.get, methods=["GET"]),
        Route("/contacts/{id}", update_contact, methods=["PATCH", "PUT"]),
        Route("/contacts/{id}", CONTACTS.delete, methods=["DELETE"]),
    ]


__all__ = ["CONTACTS", "GGError", "render_contact", "routes"]
