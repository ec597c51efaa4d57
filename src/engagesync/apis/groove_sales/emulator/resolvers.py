"""Resolvers over the ``gs_*`` tables: rows become dicts with the schema's field names.

Errors follow what a graphql-ruby app answers: a nullable root field that finds nothing is ``null``
without an error; a mutation that cannot be done is ``null`` plus an error naming it (see
docs/fidelity.md for the exact messages).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from graphql import GraphQLResolveInfo

from ....sandbox.graphql import ResolverError, relay_connection
from ....timefmt import parse_datetime as parse_rfc3339
from ..contract import MAX_PAGE_SIZE, salesforce_18

if TYPE_CHECKING:
    from . import GrooveSalesApi


def _ctx(info: GraphQLResolveInfo) -> tuple[GrooveSalesApi, int]:
    return info.context["api"], info.context["tenant_id"]


def _int_id(value: Any) -> int | None:
    text = str(value).strip()
    return int(text) if text.isdigit() and len(text) < 19 else None


def _bool(value: Any) -> bool | None:
    return None if value is None else bool(value)


def flow_dict(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "_id": row["id"],
        "name": row["name"],
        "description": row["description"],
        "userId": None if row["user_id"] is None else str(row["user_id"]),
        "autoImportAssignOwner": _bool(row["auto_import_assign_owner"]),
        "autoImportId": row["auto_import_id"],
        "finalized": _bool(row["finalized"]),
        "isMasterFlow": _bool(row["is_master_flow"]),
        "removePersonAfterBounce": _bool(row["remove_person_after_bounce"]),
        "removePersonAfterReply": _bool(row["remove_person_after_reply"]),
        "sfdcCampaignId": row["sfdc_campaign_id"],
    }


def person_dict(row: sqlite3.Row) -> dict[str, Any]:
    return {"id": str(row["id"]), "_id": row["id"], "name": row["name"], "emailAddress": row["email"]}


def find_flow(api: GrooveSalesApi, tenant_id: int, flow_id: Any) -> dict[str, Any] | None:
    key = _int_id(flow_id)
    row = (
        None
        if key is None
        else api.ctx.store.one("SELECT * FROM gs_flows WHERE tenant_id = ? AND id = ?", (tenant_id, key))
    )
    return None if row is None else flow_dict(row)


def find_person(api: GrooveSalesApi, tenant_id: int, person_id: Any) -> dict[str, Any] | None:
    key = _int_id(person_id)
    row = (
        None
        if key is None
        else api.ctx.store.one("SELECT * FROM gs_people WHERE tenant_id = ? AND id = ?", (tenant_id, key))
    )
    return None if row is None else person_dict(row)


# -- Query ---------------------------------------------------------------------------------------
def resolve_find_person(_: Any, info: GraphQLResolveInfo, salesforceId: str) -> dict[str, Any] | None:
    """15- or 18-character ids both find the person (the 18-character form ignores case)."""
    api, tenant_id = _ctx(info)
    try:
        sf = salesforce_18(salesforceId.strip())
    except ValueError:
        return None
    row = api.ctx.store.one("SELECT * FROM gs_people WHERE tenant_id = ? AND salesforce_id = ?", (tenant_id, sf))
    return None if row is None else person_dict(row)


def resolve_flow(_: Any, info: GraphQLResolveInfo, id: str) -> dict[str, Any] | None:
    api, tenant_id = _ctx(info)
    return find_flow(api, tenant_id, id)


def resolve_flows(_: Any, info: GraphQLResolveInfo) -> list[dict[str, Any]]:
    api, tenant_id = _ctx(info)
    return [
        flow_dict(r) for r in api.ctx.store.all("SELECT * FROM gs_flows WHERE tenant_id = ? ORDER BY id", (tenant_id,))
    ]


# -- Flow connections ----------------------------------------------------------------------------
def resolve_steps(
    flow: dict[str, Any],
    info: GraphQLResolveInfo,
    first: int | None = None,
    last: int | None = None,
    after: str | None = None,
    before: str | None = None,
) -> dict[str, Any]:
    api, tenant_id = _ctx(info)
    rows = api.ctx.store.all(
        "SELECT id, name, day_number FROM gs_steps WHERE tenant_id = ? AND flow_id = ? ORDER BY id",
        (tenant_id, flow["_id"]),
    )
    items = [{"_id": r["id"], "id": str(r["id"]), "name": r["name"], "dayNumber": r["day_number"]} for r in rows]
    return relay_connection(items, "_id", first, last, after, before, MAX_PAGE_SIZE)


def resolve_label_instances(
    flow: dict[str, Any],
    info: GraphQLResolveInfo,
    first: int | None = None,
    last: int | None = None,
    after: str | None = None,
    before: str | None = None,
) -> dict[str, Any]:
    api, tenant_id = _ctx(info)
    rows = api.ctx.store.all(
        "SELECT id FROM gs_label_instances WHERE tenant_id = ? AND flow_id = ? ORDER BY id", (tenant_id, flow["_id"])
    )
    items = [{"_id": r["id"], "id": str(r["id"])} for r in rows]
    return relay_connection(items, "_id", first, last, after, before, MAX_PAGE_SIZE)


# -- Mutation ------------------------------------------------------------------------------------
def resolve_add_person_to_flow(_: Any, info: GraphQLResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
    api, tenant_id = _ctx(info)
    store = api.ctx.store
    with store.tx():
        flow = find_flow(api, tenant_id, input["flowId"])
        if flow is None:
            raise ResolverError(f"Couldn't find Flow with 'id'={input['flowId']}", "NOT_FOUND")
        person = find_person(api, tenant_id, input["personId"])
        if person is None:
            raise ResolverError(f"Couldn't find Person with 'id'={input['personId']}", "NOT_FOUND")
        if store.one(
            "SELECT 1 FROM gs_person_flows WHERE tenant_id = ? AND person_id = ? AND flow_id = ?",
            (tenant_id, person["_id"], flow["_id"]),
        ):
            raise ResolverError("Validation failed: Person is already in this Flow", "ALREADY_IN_FLOW")
        now = api.ctx.clock.now()
        next_id = store.scalar(
            "SELECT COALESCE(MAX(id), 800000) + 1 FROM gs_person_flows WHERE tenant_id = ?", (tenant_id,)
        )
        store.execute(
            "INSERT INTO gs_person_flows (tenant_id, id, person_id, flow_id, created_at) VALUES (?, ?, ?, ?, ?)",
            (tenant_id, next_id, person["_id"], flow["_id"], now),
        )
    return {"personFlow": {"createdAt": now, "flow": flow, "person": person}}


# -- scalars -------------------------------------------------------------------------------------
def serialize_datetime(value: Any) -> str:
    """graphql-ruby's ISO8601DateTime: ``2026-01-15T10:20:30Z`` (UTC, whole seconds)."""
    from ....sandbox.clock import iso8601

    if isinstance(value, datetime):
        return iso8601(value.timestamp())
    return iso8601(float(value))


def parse_datetime(value: Any) -> datetime:
    try:
        return parse_rfc3339(str(value))  # offset-less = UTC, as Rails' ISO8601DateTime reads it
    except ValueError:
        raise ResolverError(f"{value!r} is not a valid ISO8601DateTime") from None


RESOLVERS: dict[str, dict[str, Callable[..., Any]]] = {
    "Query": {"findPersonBySalesforceId": resolve_find_person, "flow": resolve_flow, "flows": resolve_flows},
    "Mutation": {"addPersonToFlow": resolve_add_person_to_flow},
    "Flow": {"steps": resolve_steps, "labelInstances": resolve_label_instances},
}
SCALARS: dict[str, dict[str, Callable[..., Any]]] = {
    "ISO8601DateTime": {"serialize": serialize_datetime, "parse_value": parse_datetime}
}
