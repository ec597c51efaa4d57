"""Groove helpdesk people: agents (the account's staff) and customers (everyone who writes in).

Emails are stored lower-cased so that a lookup by email hits the ``(tenant_id, email)`` unique index
and ``Matt@Example.com`` and ``matt@example.com`` are one person, as they are in any mail system.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Awaitable, Callable
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from ....sandbox.clock import iso8601
from ... import groove_helpdesk as pkg
from ..contract import CUSTOMER_FIELDS, is_email
from . import common, people_seed
from .common import GrooveError, NotFound, Problems

if TYPE_CHECKING:
    from . import GrooveHelpdeskApi

DDL = ""
TABLES: tuple[str, ...] = ()

Row = sqlite3.Row | dict[str, Any]

#: Attributes a customer hash or a customer update may carry (besides ``custom``).
CUSTOMER_ATTRS = (*CUSTOMER_FIELDS, "first_name", "last_name", "website_url")


# -- URLs and rendering (take the absolute API base so webhook payloads can reuse them) -----------
@lru_cache(maxsize=65536)
def _segment(part: str) -> str:
    """Percent-encoded path segment; cached because the same emails recur on every page."""
    return quote(part, safe="@")


def url(base: str, *parts: object) -> str:
    return base + "/" + "/".join(_segment(str(p)) for p in parts)


def agent_href(base: str, email: str) -> str:
    return url(base, "agents", email)


def customer_href(base: str, email: str) -> str:
    return url(base, "customers", email)


def render_agent(base: str, row: Row) -> dict[str, Any]:
    """The seed's assignee example; the agent's tickets link URL-encodes the ``@`` as Groove does."""
    email = row["email"]
    return {
        "email": email,
        "first_name": row["first_name"],
        "last_name": row["last_name"],
        "href": agent_href(base, email),
        "links": {"tickets": {"href": f"{base}/tickets?assignee={quote(email, safe='')}"}},
        "id": row["id"],
        "role": row["role"],
        "state": row["state"],
    }


def render_customer(base: str, row: Row) -> dict[str, Any]:
    """Customer pages and webhook payloads address customers by email (the ``@`` left as is)."""
    email = row["email"]
    return {
        "href": customer_href(base, email),
        "links": {"tickets": {"href": f"{base}/tickets?customer={quote(email, safe='@')}"}},
        "id": row["id"],
        "email": email,
        "name": row["name"],
        "first_name": row["first_name"],
        "last_name": row["last_name"],
        "about": row["about"],
        "twitter_username": row["twitter_username"],
        "title": row["title"],
        "company_name": row["company_name"],
        "phone_number": row["phone_number"],
        "location": row["location"],
        "website_url": row["website_url"],
        "linkedin_username": row["linkedin_username"],
        "custom": common.loads(row["custom"], {}),
        "created_at": iso8601(row["created_at"]),
        "updated_at": iso8601(row["updated_at"]),
    }


# -- lookups ---------------------------------------------------------------------------------
def _ref(value: Any) -> str:
    return str(value).strip() if value is not None else ""


def _find(api: GrooveHelpdeskApi, table: str, tenant_id: int, ref: Any) -> sqlite3.Row | None:
    """A person by email (any case; emails are stored lower-cased) or by id."""
    key = _ref(ref)
    if not key:
        return None
    column, value = ("email", common.fold(key)) if "@" in key else ("id", key)
    return api.ctx.store.one(f"SELECT * FROM {table} WHERE tenant_id = ? AND {column} = ?", (tenant_id, value))


def find_agent(api: GrooveHelpdeskApi, tenant_id: int, ref: Any) -> sqlite3.Row | None:
    return _find(api, "gh_agents", tenant_id, ref)


def find_customer(api: GrooveHelpdeskApi, tenant_id: int, ref: Any) -> sqlite3.Row | None:
    return _find(api, "gh_customers", tenant_id, ref)


def owner_agent(api: GrooveHelpdeskApi, tenant_id: int) -> sqlite3.Row | None:
    """Who acts when the API is not told: the token belongs to the account, and its owner answers for it."""
    return api.ctx.store.one(
        "SELECT * FROM gh_agents WHERE tenant_id = ? AND state != 'archived' "
        "ORDER BY CASE role WHEN 'owner' THEN 0 WHEN 'admin' THEN 1 ELSE 2 END, id LIMIT 1",
        (tenant_id,),
    )


# -- customers: validation and upsert --------------------------------------------------------
def _split_name(attrs: dict[str, Any]) -> None:
    """Keep ``name`` and ``first_name``/``last_name`` consistent whichever side the caller sent."""
    name = attrs.get("name")
    if name and "first_name" not in attrs and "last_name" not in attrs:
        first, _, last = str(name).strip().partition(" ")
        attrs["first_name"], attrs["last_name"] = first or None, last.strip() or None
    elif ("first_name" in attrs or "last_name" in attrs) and "name" not in attrs:
        joined = " ".join(str(attrs.get(k) or "") for k in ("first_name", "last_name")).strip()
        attrs["name"] = joined or None


def customer_attributes(data: dict[str, Any], field: str, problems: Problems) -> dict[str, Any]:
    """Known customer attributes from a hash, each a string (or null); ``custom`` a hash."""
    attrs: dict[str, Any] = {}
    for key in CUSTOMER_ATTRS:
        if key == "email" or key not in data:
            continue
        value = data[key]
        if value is not None and (isinstance(value, bool) or not isinstance(value, str | int | float)):
            problems.add(f"{field}[{key}]" if field else key, "must be a string")
            continue
        attrs[key] = None if value is None or str(value).strip() == "" else str(value).strip()
    if "custom" in data:
        custom = data["custom"]
        if isinstance(custom, str) and custom.strip().startswith("{"):
            with contextlib.suppress(ValueError):
                custom = json.loads(custom)
        if custom is not None and not isinstance(custom, dict):
            problems.add(f"{field}[custom]" if field else "custom", "must be a hash of attributes")
        else:
            attrs["custom"] = custom or {}
    _split_name(attrs)
    return attrs


def parse_customer(value: Any, field: str, problems: Problems) -> tuple[str, dict[str, Any]] | None:
    """(email, attributes) from an email string or a customer hash; problems are collected, not raised."""
    if isinstance(value, str):
        if not value.strip():
            problems.add(field, "can't be blank")
            return None
        if not is_email(value):
            problems.add(field, f"is not a valid email address (got {value!r})")
            return None
        return common.fold(value.strip()), {}
    if isinstance(value, dict):
        email = value.get("email")
        if not isinstance(email, str) or not email.strip():
            problems.add(f"{field}[email]", "can't be blank")
            return None
        if not is_email(email):
            problems.add(f"{field}[email]", f"is not a valid email address (got {email!r})")
            return None
        return common.fold(email.strip()), customer_attributes(value, field, problems)
    if value is None:
        problems.add(field, "can't be blank")
    else:
        problems.add(field, "must be an email address or a hash of customer attributes")
    return None


def upsert_customer(
    api: GrooveHelpdeskApi, tenant_id: int, email: str, attrs: dict[str, Any], base: str
) -> tuple[sqlite3.Row, bool]:
    """Find or create by email; attributes sent with a known email update that customer."""
    store = api.ctx.store
    now = api.now()
    with store.tx():
        row = find_customer(api, tenant_id, email)
        if row is not None:
            if attrs:
                custom = dict(common.loads(row["custom"], {}))
                changes = {k: v for k, v in attrs.items() if k != "custom"}
                if "custom" in attrs:
                    custom.update(attrs["custom"])
                    changes["custom"] = json.dumps({k: v for k, v in custom.items() if v is not None})
                sets = ", ".join(f"{k} = ?" for k in changes)
                store.execute(
                    f"UPDATE gh_customers SET {sets}, updated_at = ? WHERE tenant_id = ? AND id = ?",
                    (*changes.values(), now, tenant_id, row["id"]),
                )
                row = find_customer(api, tenant_id, row["id"])
                assert row is not None
            return row, False
        new_id = api.new_id(tenant_id, "customer")
        values = {k: attrs.get(k) for k in CUSTOMER_ATTRS if k != "email"}
        custom_json = json.dumps({k: v for k, v in (attrs.get("custom") or {}).items() if v is not None})
        store.execute(
            f"INSERT INTO gh_customers (tenant_id, id, email, {', '.join(values)}, custom, created_at,"
            " updated_at)"
            f" VALUES (?, ?, ?, {', '.join('?' * len(values))}, ?, ?, ?)",
            (tenant_id, new_id, email, *values.values(), custom_json, now, now),
        )
        created = find_customer(api, tenant_id, new_id)
        assert created is not None
        api.emit(tenant_id, "customer_added", render_customer(base, created))
        return created, True


# -- handlers --------------------------------------------------------------------------------
async def list_customers(request: Request) -> Response:
    api, tid = common.api_of(request), common.tenant_id(request)
    page, per_page = common.page_window(request)
    store = api.ctx.store
    total = store.counted("SELECT COUNT(*) FROM gh_customers WHERE tenant_id = ?", (tid,))
    rows = store.page(
        "SELECT * FROM gh_customers WHERE tenant_id = ? {after} ORDER BY id",
        (tid,),
        [("id", "id")],
        per_page,
        common.offset(page, per_page),
    )
    base = common.api_base(request)
    return JSONResponse(
        {
            "customers": [render_customer(base, r) for r in rows],
            "meta": common.pagination(request, page, per_page, total),
        }
    )


async def get_customer(request: Request) -> Response:
    api, tid = common.api_of(request), common.tenant_id(request)
    row = find_customer(api, tid, request.path_params["ref"])
    if row is None:
        raise NotFound("Customer")
    return JSONResponse({"customer": render_customer(common.api_base(request), row)})


async def update_customer(request: Request) -> Response:
    api, tid = common.api_of(request), common.tenant_id(request)
    p = await common.params(request)
    row = find_customer(api, tid, request.path_params["ref"])
    if row is None:
        raise NotFound("Customer")
    problems = Problems()
    email = p.get("email")
    if not isinstance(email, str) or not email.strip():
        problems.add("email", "can't be blank")
    elif not is_email(email):
        problems.add("email", f"is not a valid email address (got {email!r})")
    else:
        email = common.fold(email.strip())
        other = find_customer(api, tid, email)
        if other is not None and other["id"] != row["id"]:
            problems.add("email", "has already been taken")
    attrs = customer_attributes(p, "", problems)
    problems.raise_if_any()
    store = api.ctx.store
    with store.tx():
        changes: dict[str, Any] = {k: v for k, v in attrs.items() if k != "custom"}
        changes["email"] = email
        if "custom" in attrs:
            custom = dict(common.loads(row["custom"], {}))
            custom.update(attrs["custom"])
            changes["custom"] = json.dumps({k: v for k, v in custom.items() if v is not None})
        sets = ", ".join(f"{k} = ?" for k in changes)
        store.execute(
            f"UPDATE gh_customers SET {sets}, updated_at = ? WHERE tenant_id = ? AND id = ?",
            (*changes.values(), api.now(), tid, row["id"]),
        )
        updated = find_customer(api, tid, row["id"])
    assert updated is not None
    return JSONResponse({"customer": render_customer(common.api_base(request), updated)})


async def list_agents(request: Request) -> Response:
    api, tid = common.api_of(request), common.tenant_id(request)
    group = request.query_params.get("group")
    if group:
        rows = api.ctx.store.all(
            "SELECT a.* FROM gh_agents a JOIN gh_group_agents ga"
            " ON ga.tenant_id = a.tenant_id AND ga.agent_id = a.id"
            " WHERE a.tenant_id = ? AND ga.group_id = ? ORDER BY a.id",
            (tid, group.strip()),
        )
    else:
        rows = api.ctx.store.all("SELECT * FROM gh_agents WHERE tenant_id = ? ORDER BY id", (tid,))
    base = common.api_base(request)
    return JSONResponse({"agents": [render_agent(base, r) for r in rows]})


async def get_agent(request: Request) -> Response:
    api, tid = common.api_of(request), common.tenant_id(request)
    row = find_agent(api, tid, request.path_params["ref"])
    if row is None:
        raise NotFound("Agent")
    return JSONResponse({"agent": render_agent(common.api_base(request), row)})


def routes() -> list[BaseRoute]:
    return [
        Route("/customers", list_customers, methods=["GET"]),
        Route("/customers/{ref}", get_customer, methods=["GET"]),
        Route("/customers/{ref}", update_customer, methods=["PUT", "PATCH"]),
        Route("/agents", list_agents, methods=["GET"]),
        Route("/agents/{ref}", get_agent, methods=["GET"]),
    ]


# -- admin (UI-only actions: inviting and archiving agents) ----------------------------------
AdminHandler = Callable[["GrooveHelpdeskApi", Request], Awaitable[Response]]


def admin_endpoint(api: GrooveHelpdeskApi, handler: AdminHandler) -> Callable[[Request], Awaitable[Response]]:
    """Admin answers use the admin API's ``{"error": ...}`` shape (the engine checks loopback)."""

    async def endpoint(request: Request) -> Response:
        try:
            return await handler(api, request)
        except GrooveError as exc:
            return JSONResponse({"error": "; ".join(exc.messages), "errors": exc.messages}, status_code=exc.status)

    return endpoint


def admin_tenant_id(api: GrooveHelpdeskApi, request: Request) -> int:
    ref = request.query_params.get("tenant") or request.headers.get("x-sandbox-tenant")
    tenant = api.ctx.tenant(ref)
    if tenant is None:
        raise GrooveError(404, [f"no tenant {ref!r}"])
    return tenant.id


def admin_api_base(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}{pkg.PREFIX}"


async def admin_invite_agent(api: GrooveHelpdeskApi, request: Request) -> Response:
    tid = admin_tenant_id(api, request)
    p = await common.params(request)
    problems = Problems()
    email = p.get("email")
    if not isinstance(email, str) or not email.strip():
        problems.add("email", "can't be blank")
    elif not is_email(email):
        problems.add("email", f"is not a valid email address (got {email!r})")
    elif find_agent(api, tid, email) is not None:
        problems.add("email", "has already been taken")
    role = str(p.get("role") or "agent")
    if role not in ("owner", "admin", "agent"):
        problems.add("role", "must be one of owner, admin, agent")
    problems.raise_if_any()
    assert isinstance(email, str)
    base = admin_api_base(request)
    store = api.ctx.store
    now = api.now()
    with store.tx():
        agent_id = api.new_id(tid, "agent")
        store.execute(
            "INSERT INTO gh_agents (tenant_id, id, email, first_name, last_name, role, state, created_at,"
            " updated_at) VALUES (?, ?, ?, ?, ?, ?, 'invited', ?, ?)",
            (tid, agent_id, common.fold(email.strip()), p.get("first_name"), p.get("last_name"), role, now, now),
        )
        row = find_agent(api, tid, agent_id)
        assert row is not None
        payload = render_agent(base, row)
        api.emit(tid, "agent_invited", payload)
    return JSONResponse({"agent": payload}, status_code=201)


async def admin_archive_agent(api: GrooveHelpdeskApi, request: Request) -> Response:
    tid = admin_tenant_id(api, request)
    row = find_agent(api, tid, request.path_params["ref"])
    if row is None:
        raise NotFound("Agent")
    base = admin_api_base(request)
    store = api.ctx.store
    with store.tx():
        if row["state"] != "archived":
            store.execute(
                "UPDATE gh_agents SET state = 'archived', updated_at = ? WHERE tenant_id = ? AND id = ?",
                (api.now(), tid, row["id"]),
            )
            row = find_agent(api, tid, row["id"])
            assert row is not None
            api.emit(tid, "agent_archived", render_agent(base, row))
    return JSONResponse({"agent": render_agent(base, row)})


def admin_routes(api: GrooveHelpdeskApi) -> list[BaseRoute]:
    return [
        Route("/agents", admin_endpoint(api, admin_invite_agent), methods=["POST"]),
        Route("/agents/{ref}/archive", admin_endpoint(api, admin_archive_agent), methods=["POST"]),
    ]


# -- seeding (people_seed) ---------------------------------------------------------------------
seed = people_seed.seed
samples = people_seed.samples
account_domain = people_seed.account_domain
