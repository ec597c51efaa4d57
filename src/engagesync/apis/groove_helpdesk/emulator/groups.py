"""Groove helpdesk: agent groups (``/groups``), stored in the shared gh_groups / gh_group_agents tables.

Membership is kept in its own table, not as a JSON list on the group, so ``/agents?group=<id>`` and
ticket routing can join on it and a deleted agent or group never leaves a dangling id behind.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from ..contract.fields import NAME_MAX
from . import common
from .common import Problems
from .seed import SEED_EPOCH

if TYPE_CHECKING:
    import sqlite3

    from ....sandbox.api import Tenant
    from . import GrooveHelpdeskApi

DDL = ""
TABLES: tuple[str, ...] = ()


SEED_NAMES = (
    "Support",
    "Billing",
    "Sales",
    "Customer Success",
    "Technical",
    "Escalations",
    "Onboarding",
    "VIP",
    "Partners",
    "Returns",
)
SEED_DESCRIPTIONS = (
    "Front-line support team",
    "Invoices, refunds and plan changes",
    "Pre-sales questions",
    "Account health and renewals",
    "Bugs and integrations",
    "Tickets that need a lead",
    "New customers in their first month",
    "Priority accounts",
    "Resellers and agencies",
    "Returns and exchanges",
)


# -- rendering -------------------------------------------------------------------------------------
def _agent_ids(api: GrooveHelpdeskApi, tenant: int, group_ids: list[str]) -> dict[str, list[str]]:
    """Members per group in the order they were added (the order the caller sent them)."""
    out: dict[str, list[str]] = {gid: [] for gid in group_ids}
    if not group_ids:
        return out
    marks = ",".join("?" * len(group_ids))
    rows = api.ctx.store.all(
        f"SELECT group_id, agent_id FROM gh_group_agents WHERE tenant_id = ? AND group_id IN ({marks}) ORDER BY rowid",
        (tenant, *group_ids),
    )
    for row in rows:
        out[row["group_id"]].append(row["agent_id"])
    return out


def render(request: Request, row: sqlite3.Row, agent_ids: list[str], *, listed: bool = False) -> dict[str, Any]:
    """The documented group shape; list items also carry ``href`` (as every listed resource does)."""
    body: dict[str, Any] = {"id": row["id"], "name": row["name"], "description": row["description"]}
    if listed:
        body["href"] = common.href(request, "groups", row["id"])
    body["links"] = {"agents": common.link(common.href(request, "agents", query={"group": row["id"]}))}
    body["agent_ids"] = agent_ids
    return body


def _load(api: GrooveHelpdeskApi, tenant: int, group_id: str) -> sqlite3.Row:
    return common.one_or_404(api, "Group", "SELECT * FROM gh_groups WHERE tenant_id = ? AND id = ?", tenant, group_id)


def _one(request: Request, api: GrooveHelpdeskApi, tenant: int, group_id: str) -> dict[str, Any]:
    row = _load(api, tenant, group_id)
    return {"group": render(request, row, _agent_ids(api, tenant, [group_id])[group_id])}


# -- input -----------------------------------------------------------------------------------------
def _description(problems: Problems, body: dict[str, Any]) -> tuple[bool, str | None]:
    if "description" not in body:
        return False, None
    value = body["description"]
    if value is not None and not isinstance(value, str):
        problems.add("description", "must be a string")
        return False, None
    return True, value


def _member_refs(problems: Problems, key: str, value: Any) -> list[str] | None:
    """Agent references as sent: a list (or a comma-separated string) of emails, ids or {id|email} objects."""
    if value is None:
        return []
    items: list[Any]
    if isinstance(value, str):
        items = [part for part in value.split(",") if part.strip()]
    elif isinstance(value, list):
        items = value
    else:
        problems.add(key, "must be an array of agent emails or ids")
        return None
    refs: list[str] = []
    for item in items:
        if isinstance(item, dict):
            item = item.get("id") or item.get("email")
        if isinstance(item, bool) or not isinstance(item, str | int) or not str(item).strip():
            problems.add(key, "must be an array of agent emails or ids")
            return None
        refs.append(str(item).strip())
    return refs


def _members(api: GrooveHelpdeskApi, tenant: int, problems: Problems, body: dict[str, Any]) -> list[str] | None:
    """Resolved agent ids, or ``None`` when the body does not touch membership.

    ``agents`` is Groove's documented name; Nexla's template speaks of "agent IDs", so ``agent_ids`` is
    accepted as a synonym. Sending both is ambiguous and refused rather than silently merged.
    """
    present = [k for k in ("agents", "agent_ids") if k in body]
    if not present:
        return None
    if len(present) == 2:
        problems.add("agent_ids", "can't be given together with agents")
        return None
    key = present[0]
    refs = _member_refs(problems, key, body[key])
    if refs is None:
        return None
    rows = api.ctx.store.all("SELECT id, email FROM gh_agents WHERE tenant_id = ?", (tenant,))
    by_ref = {r["id"]: r["id"] for r in rows} | {common.fold(r["email"]): r["id"] for r in rows}
    resolved: list[str] = []
    unknown: list[str] = []
    for ref in refs:
        agent = by_ref.get(ref) or by_ref.get(common.fold(ref))
        if agent is None:
            unknown.append(ref)
        elif agent not in resolved:
            resolved.append(agent)
    if unknown:
        problems.add(key, f"contain unknown agent(s): {', '.join(unknown)}")
        return None
    return resolved


def _name_taken(api: GrooveHelpdeskApi, tenant: int, name: str, except_id: str | None = None) -> bool:
    row = api.ctx.store.one(
        "SELECT id FROM gh_groups WHERE tenant_id = ? AND gh_fold(name) = gh_fold(?) AND id != ?",
        (tenant, name, except_id or ""),
    )
    return row is not None


def _set_members(api: GrooveHelpdeskApi, tenant: int, group_id: str, agent_ids: list[str]) -> None:
    store = api.ctx.store
    store.execute("DELETE FROM gh_group_agents WHERE tenant_id = ? AND group_id = ?", (tenant, group_id))
    store.executemany(
        "INSERT INTO gh_group_agents (tenant_id, group_id, agent_id) VALUES (?, ?, ?)",
        [(tenant, group_id, a) for a in agent_ids],
    )


# -- handlers --------------------------------------------------------------------------------------
async def list_groups(request: Request) -> Response:
    api, tenant = common.api_of(request), common.tenant_id(request)
    rows = api.ctx.store.all("SELECT * FROM gh_groups WHERE tenant_id = ? ORDER BY rowid", (tenant,))
    members = _agent_ids(api, tenant, [r["id"] for r in rows])
    return JSONResponse({"groups": [render(request, r, members[r["id"]], listed=True) for r in rows]})


async def get_group(request: Request) -> Response:
    api, tenant = common.api_of(request), common.tenant_id(request)
    group_id = request.path_params["group_id"]
    body = _one(request, api, tenant, group_id)
    return JSONResponse(body, headers={"Location": common.href(request, "groups", group_id)})


async def create_group(request: Request) -> Response:
    api, tenant = common.api_of(request), common.tenant_id(request)
    body = await common.params(request)
    store = api.ctx.store
    with store.tx():
        problems = Problems()
        name = common.name_field(problems, body, required=True, max_len=NAME_MAX)
        _, description = _description(problems, body)
        members = _members(api, tenant, problems, body)
        if name is not None and _name_taken(api, tenant, name):
            problems.add("name", "has already been taken")
        problems.raise_if_any()
        assert name is not None
        group_id = api.new_id(tenant, "group")
        now = api.now()
        store.execute(
            "INSERT INTO gh_groups (tenant_id, id, name, description, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (tenant, group_id, name, description, now, now),
        )
        _set_members(api, tenant, group_id, members or [])
        out = _one(request, api, tenant, group_id)
    return common.created(out, common.href(request, "groups", group_id))


async def update_group(request: Request) -> Response:
    api, tenant = common.api_of(request), common.tenant_id(request)
    group_id = request.path_params["group_id"]
    body = await common.params(request)
    store = api.ctx.store
    with store.tx():
        _load(api, tenant, group_id)
        problems = Problems()
        name = common.name_field(problems, body, required=False, max_len=NAME_MAX)
        has_description, description = _description(problems, body)
        members = _members(api, tenant, problems, body)
        if name is not None and _name_taken(api, tenant, name, except_id=group_id):
            problems.add("name", "has already been taken")
        problems.raise_if_any()
        sets: list[str] = []
        values: list[Any] = []
        if name is not None:
            sets.append("name = ?")
            values.append(name)
        if has_description:
            sets.append("description = ?")
            values.append(description)
        if sets or members is not None:
            sets.append("updated_at = ?")
            values.append(api.now())
            store.execute(
                f"UPDATE gh_groups SET {', '.join(sets)} WHERE tenant_id = ? AND id = ?", (*values, tenant, group_id)
            )
        if members is not None:
            _set_members(api, tenant, group_id, members)
        out = _one(request, api, tenant, group_id)
    return JSONResponse(out, headers={"Location": common.href(request, "groups", group_id)})


async def delete_group(request: Request) -> Response:
    """200 with the group as it was (documented); tickets routed to it become unassigned."""
    api, tenant = common.api_of(request), common.tenant_id(request)
    group_id = request.path_params["group_id"]
    store = api.ctx.store
    with store.tx():
        out = _one(request, api, tenant, group_id)
        store.execute("DELETE FROM gh_group_agents WHERE tenant_id = ? AND group_id = ?", (tenant, group_id))
        store.execute("DELETE FROM gh_groups WHERE tenant_id = ? AND id = ?", (tenant, group_id))
        store.execute(
            "UPDATE gh_tickets SET assigned_group_id = NULL WHERE tenant_id = ? AND assigned_group_id = ?",
            (tenant, group_id),
        )
    return JSONResponse(out, headers={"Location": common.href(request, "groups", group_id)})


def routes() -> list[BaseRoute]:
    return [
        Route("/groups", list_groups, methods=["GET"]),
        Route("/groups", create_group, methods=["POST"]),
        Route("/groups/{group_id}", get_group, methods=["GET"]),
        Route("/groups/{group_id}", update_group, methods=["PUT", "PATCH"]),
        Route("/groups/{group_id}", delete_group, methods=["DELETE"]),
    ]


# -- seeding ---------------------------------------------------------------------------------------
def seed(api: GrooveHelpdeskApi, tenant: Tenant, rng: random.Random, counts: dict[str, int]) -> None:
    n = max(0, int(counts.get("groups", 0)))
    if n == 0:
        return
    agents = [
        r["id"]
        for r in api.ctx.store.all("SELECT id FROM gh_agents WHERE tenant_id = ? ORDER BY created_at, id", (tenant.id,))
    ]
    first = api.reserve(tenant.id, "id:group", n, start=4_000_000_001)
    created = sorted(SEED_EPOCH - rng.uniform(180, 365) * 86400 for _ in range(n))
    groups: list[tuple[Any, ...]] = []
    members: list[tuple[Any, ...]] = []
    for i in range(n):
        base = SEED_NAMES[i % len(SEED_NAMES)]
        name = base if i < len(SEED_NAMES) else f"{base} {i // len(SEED_NAMES) + 1}"
        description = SEED_DESCRIPTIONS[i % len(SEED_DESCRIPTIONS)]
        group_id = str(first + i)
        updated = created[i] + rng.uniform(0, 90) * 86400
        groups.append((tenant.id, group_id, name, description, created[i], updated))
        if agents:
            size = rng.randint(1, min(len(agents), 4))
            members.extend((tenant.id, group_id, a) for a in rng.sample(agents, size))
    store = api.ctx.store
    store.executemany(
        "INSERT INTO gh_groups (tenant_id, id, name, description, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
        groups,
    )
    store.executemany("INSERT INTO gh_group_agents (tenant_id, group_id, agent_id) VALUES (?, ?, ?)", members)


def samples(api: GrooveHelpdeskApi, tenant: Tenant) -> dict[str, Any]:
    rows = api.ctx.store.all("SELECT id, name FROM gh_groups WHERE tenant_id = ? ORDER BY rowid LIMIT 5", (tenant.id,))
    return {"group_ids": [r["id"] for r in rows], "group_names": [r["name"] for r in rows]}
