"""Groove helpdesk mailboxes and folders.

A folder is a saved filter over tickets, not a container: ``gh_folders.states`` holds the states it
shows and ``kind`` any extra condition (only unassigned, only starred). ``FolderRule`` turns a row
into both a SQL clause (``GET /tickets?folder=``) and a count from per-state totals
(``GET /tickets/count``); a test checks the two agree for every folder.
"""

from __future__ import annotations

import json
import random
import sqlite3
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from ....sandbox.clock import iso8601
from . import common, people
from .common import NotFound
from .seed import SEED_EPOCH

if TYPE_CHECKING:
    from ....sandbox.api import Tenant
    from . import GrooveHelpdeskApi

DDL = ""
TABLES: tuple[str, ...] = ()

OPEN_STATES = ("unread", "opened")
#: The standard folders every account has: (name, kind, states).
STANDARD_FOLDERS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("Inbox", "states", OPEN_STATES),
    ("Unread", "states", ("unread",)),
    ("Unassigned", "unassigned", OPEN_STATES),
    ("Starred", "starred", ("unread", "opened", "pending", "closed")),
    ("Pending", "states", ("pending",)),
    ("Closed", "states", ("closed",)),
    ("Spam", "states", ("spam",)),
)
MAILBOX_NAMES = (
    ("Support", "support"),
    ("Sales", "sales"),
    ("Billing", "billing"),
    ("Partners", "partners"),
    ("Press", "press"),
)


@dataclass(frozen=True)
class FolderRule:
    states: tuple[str, ...]
    kind: str
    mailbox_id: str | None

    @classmethod
    def of(cls, row: sqlite3.Row) -> FolderRule:
        return cls(tuple(json.loads(row["states"] or "[]")), row["kind"], row["mailbox_id"])

    def sql(self, alias: str = "t") -> tuple[str, list[Any]]:
        clauses: list[str] = []
        args: list[Any] = []
        if self.states:
            clauses.append(f"{alias}.state IN ({', '.join('?' * len(self.states))})")
            args.extend(self.states)
        if self.kind == "unassigned":
            clauses.append(f"{alias}.assignee_id IS NULL")
        elif self.kind == "starred":
            clauses.append(f"{alias}.starred = 1")
        if self.mailbox_id:
            clauses.append(f"{alias}.mailbox_id = ?")
            args.append(self.mailbox_id)
        return (" AND ".join(clauses) or "1"), args

    def count(self, per_state: dict[str, tuple[int, int, int]]) -> int:
        """The folder's ticket count from per-state (total, starred, unassigned) counts.

        One indexed GROUP BY state serves every folder, instead of one scan per folder; a folder
        tied to a mailbox other than the one counted needs its own query (``sql``).
        """
        column = {"starred": 1, "unassigned": 2}.get(self.kind, 0)
        return sum(counts[column] for state, counts in per_state.items() if not self.states or state in self.states)


# -- lookups ---------------------------------------------------------------------------------
def find_mailbox(api: GrooveHelpdeskApi, tenant_id: int, ref: Any) -> sqlite3.Row | None:
    """A mailbox by email (any case) or id."""
    key = str(ref).strip() if ref is not None else ""
    if not key:
        return None
    if "@" in key:
        return api.ctx.store.one(
            "SELECT * FROM gh_mailboxes WHERE tenant_id = ? AND gh_fold(email) = ?", (tenant_id, common.fold(key))
        )
    return api.ctx.store.one("SELECT * FROM gh_mailboxes WHERE tenant_id = ? AND id = ?", (tenant_id, key))


def primary_mailbox(api: GrooveHelpdeskApi, tenant_id: int) -> sqlite3.Row | None:
    return api.ctx.store.one(
        "SELECT * FROM gh_mailboxes WHERE tenant_id = ? ORDER BY is_primary DESC, id LIMIT 1", (tenant_id,)
    )


def find_folder(api: GrooveHelpdeskApi, tenant_id: int, ref: Any) -> sqlite3.Row | None:
    key = str(ref).strip() if ref is not None else ""
    if not key:
        return None
    return api.ctx.store.one("SELECT * FROM gh_folders WHERE tenant_id = ? AND id = ?", (tenant_id, key))


def folders_for(api: GrooveHelpdeskApi, tenant_id: int, mailbox_id: str | None = None) -> list[sqlite3.Row]:
    """The account-wide folders plus, when a mailbox is named, that mailbox's own."""
    if mailbox_id is None:
        return api.ctx.store.all("SELECT * FROM gh_folders WHERE tenant_id = ? ORDER BY position, id", (tenant_id,))
    return api.ctx.store.all(
        "SELECT * FROM gh_folders WHERE tenant_id = ? AND (mailbox_id IS NULL OR mailbox_id = ?) ORDER BY position, id",
        (tenant_id, mailbox_id),
    )


# -- rendering -------------------------------------------------------------------------------
def render_mailbox(base: str, row: sqlite3.Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "name": row["name"],
        "email": row["email"],
        "primary": bool(row["is_primary"]),
        "href": people.url(base, "mailboxes", row["id"]),
        "links": {"folders": {"href": f"{base}/folders?mailbox={row['id']}"}},
        "created_at": iso8601(row["created_at"]),
        "updated_at": iso8601(row["updated_at"]),
    }


def render_folder(base: str, row: sqlite3.Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "name": row["name"],
        "mailbox_id": row["mailbox_id"],
        "links": {"tickets": {"href": f"{base}/tickets?folder={row['id']}"}},
    }


# -- handlers --------------------------------------------------------------------------------
async def list_mailboxes(request: Request) -> Response:
    api, tid = common.api_of(request), common.tenant_id(request)
    rows = api.ctx.store.all("SELECT * FROM gh_mailboxes WHERE tenant_id = ? ORDER BY is_primary DESC, id", (tid,))
    base = common.api_base(request)
    return JSONResponse({"mailboxes": [render_mailbox(base, r) for r in rows]})


async def get_mailbox(request: Request) -> Response:
    api, tid = common.api_of(request), common.tenant_id(request)
    row = find_mailbox(api, tid, request.path_params["ref"])
    if row is None:
        raise NotFound("Mailbox")
    return JSONResponse({"mailbox": render_mailbox(common.api_base(request), row)})


async def list_folders(request: Request) -> Response:
    api, tid = common.api_of(request), common.tenant_id(request)
    ref = request.query_params.get("mailbox")
    if ref:
        mailbox = find_mailbox(api, tid, ref)
        rows = folders_for(api, tid, mailbox["id"]) if mailbox is not None else []
    else:
        rows = folders_for(api, tid)
    base = common.api_base(request)
    return JSONResponse({"folders": [render_folder(base, r) for r in rows]})


def routes() -> list[BaseRoute]:
    return [
        Route("/mailboxes", list_mailboxes, methods=["GET"]),
        Route("/mailboxes/{ref}", get_mailbox, methods=["GET"]),
        Route("/folders", list_folders, methods=["GET"]),
    ]


# -- seeding ---------------------------------------------------------------------------------
def seed(api: GrooveHelpdeskApi, tenant: Tenant, rng: random.Random, counts: dict[str, int]) -> None:
    """At least one mailbox (tickets need one); the first is primary. Folders are account-wide."""
    tid = tenant.id
    n = max(1, int(counts.get("mailboxes", 1)))
    domain = people.account_domain(tenant)
    created = SEED_EPOCH - 2 * 365 * 86400.0
    first_id = api.reserve(tid, "id:mailbox", n, start=4_000_000_001)
    rows = []
    for i in range(n):
        name, local = MAILBOX_NAMES[i] if i < len(MAILBOX_NAMES) else (f"Inbox {i + 1}", f"inbox{i + 1}")
        rows.append((tid, str(first_id + i), name, f"{local}@{domain}", 1 if i == 0 else 0, created, created))
    store = api.ctx.store
    store.executemany(
        "INSERT INTO gh_mailboxes (tenant_id, id, name, email, is_primary, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    first_folder = api.reserve(tid, "id:folder", len(STANDARD_FOLDERS), start=4_000_000_001)
    store.executemany(
        "INSERT INTO gh_folders (tenant_id, id, name, kind, states, mailbox_id, position, created_at,"
        " updated_at)"
        " VALUES (?, ?, ?, ?, ?, NULL, ?, ?, ?)",
        [
            (tid, str(first_folder + i), name, kind, json.dumps(list(states)), i, created, created)
            for i, (name, kind, states) in enumerate(STANDARD_FOLDERS)
        ],
    )


def samples(api: GrooveHelpdeskApi, tenant: Tenant) -> dict[str, Any]:
    store = api.ctx.store
    mailboxes = store.all("SELECT id FROM gh_mailboxes WHERE tenant_id = ? ORDER BY is_primary DESC, id", (tenant.id,))
    folders = store.all("SELECT id, name FROM gh_folders WHERE tenant_id = ? ORDER BY position, id", (tenant.id,))
    return {"mailbox_ids": [r["id"] for r in mailboxes], "folder_ids": {r["name"]: r["id"] for r in folders}}
