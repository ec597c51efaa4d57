"""Tickets as stored and rendered: what the ticket and message endpoints both need.

It sits below ``tickets`` and ``messages`` so neither imports the other: lookups, rendering, tag
rows, state changes with their webhook events, and the bulk insert seeding uses.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from starlette.requests import Request

from ....sandbox.clock import iso8601
from . import common, people
from .common import NotFound

if TYPE_CHECKING:
    from ....sandbox.store import SandboxDB
    from . import GrooveHelpdeskApi

#: The names a rendered ticket shows besides the ticket's own columns (emails, group and mailbox names).
TICKET_JOINED = {
    "assignee_email": "a.email",
    "closed_by_email": "cb.email",
    "group_name": "g.name",
    "customer_email": "c.email",
    "mailbox_name": "mb.name",
}
#: ``FROM`` the tickets joined to everything ``TICKET_JOINED`` names.
TICKET_FROM = """
FROM gh_tickets t
LEFT JOIN gh_agents a ON a.tenant_id = t.tenant_id AND a.id = t.assignee_id
LEFT JOIN gh_agents cb ON cb.tenant_id = t.tenant_id AND cb.id = t.closed_by_id
LEFT JOIN gh_groups g ON g.tenant_id = t.tenant_id AND g.id = t.assigned_group_id
LEFT JOIN gh_customers c ON c.tenant_id = t.tenant_id AND c.id = t.customer_id
LEFT JOIN gh_mailboxes mb ON mb.tenant_id = t.tenant_id AND mb.id = t.mailbox_id
"""
#: Joins everything a rendered ticket names in one query.
TICKET_SELECT = "SELECT t.*, " + ", ".join(f"{expr} AS {name}" for name, expr in TICKET_JOINED.items()) + TICKET_FROM

TAG_ID_START = 1001
BULK_ROWS = 10_000


# -- rendering -------------------------------------------------------------------------------
def _tags(raw: str | None) -> list[str]:
    """A ticket's stored tag list; most tickets have none, so that case skips the JSON parser."""
    return [] if not raw or raw == "[]" else list(json.loads(raw))


def render_ticket(
    base: str, row: Mapping[str, Any], tag_ids: dict[str, int] | None = None, tags: list[str] | None = None
) -> dict[str, Any]:
    """The seed's "Finding one ticket" shape plus ``state``, ``id``, ``assignee``, ``tag_ids`` and mailbox.

    ``row`` comes from ``TICKET_SELECT`` (a ``sqlite3.Row`` or, from ``render_rows``, a dict: a
    Row's name lookup scans its columns, which cost more than the rest of rendering). ``tags``: the
    row's parsed tag list when the caller already has it. Like Groove's own payloads,
    ``links.assignee`` is left out when nobody is assigned rather than pointing nowhere.
    """
    number = row["number"]
    if tags is None:
        tags = _tags(row["tags"])
    links: dict[str, Any] = {}
    if row["assignee_email"]:
        links["assignee"] = {"href": people.agent_href(base, row["assignee_email"])}
    if row["customer_email"]:
        links["customer"] = {
            "id": row["customer_id"],
            "href": people.customer_href(base, row["customer_email"]),
        }
    links["state"] = {"href": f"{base}/tickets/{number}/state"}
    links["messages"] = {"href": f"{base}/tickets/{number}/messages"}
    ids = tag_ids or {}
    return {
        "assigned_group": row["group_name"],
        "assigned_group_id": row["assigned_group_id"] if row["group_name"] is not None else None,
        "assignee": row["assignee_email"],
        "created_at": iso8601(row["created_at"]),
        "number": number,
        "priority": row["priority"],
        "resolution_time": row["resolution_time"],
        "title": row["title"],
        "updated_at": iso8601(row["updated_at"]),
        "href": f"{base}/tickets/{number}",
        "closed_by": row["closed_by_email"],
        "tags": tags,
        "tag_ids": [ids[name] for name in tags if name in ids],
        "message_count": row["message_count"],
        "starred": bool(row["starred"]),
        "state": row["state"],
        "summary": row["summary"],
        "id": row["id"],
        "mailbox": row["mailbox_name"],
        "mailbox_id": row["mailbox_id"],
        "links": links,
    }


def tag_map(api: GrooveHelpdeskApi, tenant_id: int, rows: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    return _tag_ids(api, tenant_id, {name for r in rows for name in _tags(r["tags"])})


def _tag_ids(api: GrooveHelpdeskApi, tenant_id: int, wanted: set[str]) -> dict[str, int]:
    names = sorted(wanted)
    if not names:
        return {}
    marks = ", ".join("?" * len(names))
    found = api.ctx.store.all(
        f"SELECT id, name FROM gh_tags WHERE tenant_id = ? AND name IN ({marks})", (tenant_id, *names)
    )
    return {r["name"]: int(r["id"]) for r in found}


def render_rows(api: GrooveHelpdeskApi, tenant_id: int, base: str, rows: Sequence[sqlite3.Row]) -> list[dict[str, Any]]:
    """A page of tickets: each row turned into a dict once and its tags parsed once, one tag query."""
    if not rows:
        return []
    keys = rows[0].keys()
    dicts = [dict(zip(keys, r, strict=True)) for r in rows]
    tag_lists = [_tags(d["tags"]) for d in dicts]
    ids = _tag_ids(api, tenant_id, {name for tags in tag_lists for name in tags})
    return [render_ticket(base, d, ids, tags) for d, tags in zip(dicts, tag_lists, strict=True)]


# -- lookups ---------------------------------------------------------------------------------
def raw_ticket(api: GrooveHelpdeskApi, tenant_id: int, number: int) -> sqlite3.Row:
    row = api.ctx.store.one(
        "SELECT * FROM gh_tickets WHERE tenant_id = ? AND number = ? AND deleted = 0", (tenant_id, number)
    )
    if row is None:
        raise NotFound("Ticket")
    return row


def load_ticket(api: GrooveHelpdeskApi, tenant_id: int, number: int) -> sqlite3.Row:
    row = api.ctx.store.one(
        TICKET_SELECT + " WHERE t.tenant_id = ? AND t.number = ? AND t.deleted = 0", (tenant_id, number)
    )
    if row is None:
        raise NotFound("Ticket")
    return row


def ticket_json(api: GrooveHelpdeskApi, tenant_id: int, number: int, base: str) -> dict[str, Any]:
    return render_rows(api, tenant_id, base, [load_ticket(api, tenant_id, number)])[0]


def ensure_tags(api: GrooveHelpdeskApi, tenant_id: int, names: Iterable[str]) -> list[str]:
    """Tag names as the account spells them, creating the ones it does not have yet."""
    store = api.ctx.store
    out: list[str] = []
    for name in names:
        row = store.one(
            "SELECT name FROM gh_tags WHERE tenant_id = ? AND gh_fold(name) = ?", (tenant_id, common.fold(name))
        )
        if row is None:
            store.execute(
                "INSERT INTO gh_tags (tenant_id, id, name) VALUES (?, ?, ?)",
                (tenant_id, api.next_value(tenant_id, "tag_id", start=TAG_ID_START), name),
            )
            out.append(name)
        else:
            out.append(row["name"])
    return out


# -- state changes (shared with messages) ----------------------------------------------------
def update_ticket(api: GrooveHelpdeskApi, tenant_id: int, number: int, **cols: Any) -> None:
    sets = "".join(f"{k} = ?, " for k in cols)
    api.ctx.store.execute(
        f"UPDATE gh_tickets SET {sets}updated_at = ? WHERE tenant_id = ? AND number = ?",
        (*cols.values(), api.now(), tenant_id, number),
    )


def change_state(api: GrooveHelpdeskApi, tenant_id: int, row: sqlite3.Row, state: str) -> list[str]:
    """Apply a state change; returns the webhook events it fires (none when the state is unchanged).

    Closing records who closed it (the assignee) and how long it took; reopening clears both, so they
    always describe the ticket's current resolution.
    """
    if row["state"] == state:
        return []
    cols: dict[str, Any] = {"state": state}
    if state == "closed":
        cols["closed_by_id"] = row["assignee_id"]
        cols["resolution_time"] = max(0, int(api.now() - row["created_at"]))
    elif row["state"] == "closed":
        cols["closed_by_id"] = None
        cols["resolution_time"] = None
    update_ticket(api, tenant_id, row["number"], **cols)
    return {"opened": ["ticket_opened"], "closed": ["ticket_closed"]}.get(state, [])


def emit_ticket(api: GrooveHelpdeskApi, tenant_id: int, number: int, base: str, events: Iterable[str]) -> None:
    events = list(events)
    if not events:
        return
    payload = ticket_json(api, tenant_id, number, base)
    for event in events:
        api.emit(tenant_id, event, payload)


def ticket_number(request: Request) -> int:
    """The ``{number}`` path parameter; one no SQLite integer can hold names no ticket."""
    number = int(request.path_params["number"])
    if number > common.SQLITE_MAX_INT:
        raise NotFound("Ticket")
    return number


def bulk_insert(store: SandboxDB, table: str, sql: str, rows: list[tuple[Any, ...]]) -> None:
    """``executemany``; for big batches the table's secondary indexes are dropped first and rebuilt
    after (from their own stored definitions), as one sorted build beats updating them row by row."""
    if len(rows) < BULK_ROWS:
        store.executemany(sql, rows)
        return
    indexes = store.all(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL",
        (table,),
    )
    for index in indexes:
        store.execute(f"DROP INDEX {index['name']}")
    store.executemany(sql, rows)
    for index in indexes:
        store.execute(index["sql"])
