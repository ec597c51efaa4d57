"""Groove helpdesk tickets: create, list, read, and the per-attribute update endpoints.

Tickets are addressed by their per-account ``number``. Lists are ordered by number ascending, so a
client paging through while new tickets arrive neither skips nor repeats one: new tickets land on
the last page. Every change bumps ``updated_at`` on the virtual clock and fires the webhook event
Groove documents for it, with the ticket as rendered by the API as the payload.
"""

from __future__ import annotations

import json
import random
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from ..contract import PRIORITIES
from . import common, inbox, message_store, people, ticket_cache
from .common import Invalid, NotFound, Problems
from .message_store import NewMessage
from .seed import SEED_EPOCH
from .ticket_input import (
    NewTicket,
    agent_param,
    blank,
    find_group,
    normalize_state,
    parse_flag,
    parse_new_ticket,
    parse_tags,
)
from .ticket_store import (
    TAG_ID_START,
    bulk_insert,
    change_state,
    emit_ticket,
    ensure_tags,
    raw_ticket,
    ticket_json,
    ticket_number,
    update_ticket,
)

if TYPE_CHECKING:
    from ....sandbox.api import Tenant
    from ....sandbox.store import SandboxDB
    from . import GrooveHelpdeskApi

#: Covering indexes over live (not deleted) tickets, so counts and page offsets never read table rows:
#: one in number order (unfiltered lists), one per state, one per assignee.
LIVE_INDEXES = {
    "gh_tickets_live": "(tenant_id, number, state, assignee_id, starred, mailbox_id)",
    "gh_tickets_live_state": "(tenant_id, state, number, assignee_id, starred, mailbox_id)",
    "gh_tickets_live_assignee": "(tenant_id, assignee_id, number)",
}
DDL = "".join(
    f"CREATE INDEX IF NOT EXISTS {name} ON gh_tickets {columns} WHERE deleted = 0;\n"
    for name, columns in LIVE_INDEXES.items()
)
TABLES: tuple[str, ...] = ()


# -- handlers --------------------------------------------------------------------------------
async def list_tickets(request: Request) -> Response:
    api, tid = common.api_of(request), common.tenant_id(request)
    q = request.query_params
    page, per_page = common.page_window(request)
    where = ["t.tenant_id = ?", "t.deleted = 0"]
    args: list[Any] = [tid]
    nothing = False  # a filter naming something that does not exist matches no ticket
    assignee = (q.get("assignee") or "").strip()
    if assignee:
        if assignee.lower() == "unassigned":
            where.append("t.assignee_id IS NULL")
        else:
            agent = people.find_agent(api, tid, assignee)
            nothing |= agent is None
            where.append("t.assignee_id = ?")
            args.append(agent["id"] if agent else None)
    customer_ref = (q.get("customer") or "").strip()
    if customer_ref:
        customer = people.find_customer(api, tid, customer_ref)
        nothing |= customer is None
        where.append("t.customer_id = ?")
        args.append(customer["id"] if customer else None)
    if not blank(q.get("state")):
        state, problem = normalize_state(q.get("state"))
        if problem:
            raise Invalid([("state", problem)])
        where.append("t.state = ?")
        args.append(state)
    folder_ref = (q.get("folder") or "").strip()
    if folder_ref:
        folder = inbox.find_folder(api, tid, folder_ref)
        if folder is None:
            nothing = True
        else:
            clause, more = inbox.FolderRule.of(folder).sql("t")
            where.append(f"({clause})")
            args.extend(more)
    store = api.ctx.store
    sql_where = " AND ".join(where)
    total = 0 if nothing else store.counted(f"SELECT COUNT(*) FROM gh_tickets t WHERE {sql_where}", args)
    # Pick the page's numbers from an index first, then join only those rows. Unfiltered, the planner
    # would walk the primary key and read every row to check ``deleted``; the live index needs none.
    hint = "INDEXED BY gh_tickets_live" if len(where) == 2 else ""
    numbers = (
        []
        if nothing
        else [
            r[0]
            for r in store.page(
                f"SELECT t.number FROM gh_tickets t {hint} WHERE {sql_where} {{after}} ORDER BY t.number",
                args,
                [("t.number", "number")],
                per_page,
                common.offset(page, per_page),
            )
        ]
    )
    base = common.api_base(request)
    return ticket_cache.list_response(
        "tickets", ticket_cache.page_json(api, tid, base, numbers), common.pagination(request, page, per_page, total)
    )


async def create_ticket(request: Request) -> Response:
    api, tid, base = common.api_of(request), common.tenant_id(request), common.api_base(request)
    new = parse_new_ticket(api, tid, await common.params(request))
    with api.ctx.store.tx():
        number = _store_ticket(api, tid, base, new)
        payload = ticket_json(api, tid, number, base)
        api.emit(tid, "ticket_started", payload)
    return common.created({"ticket": payload}, f"{base}/tickets/{number}")


def _store_ticket(api: GrooveHelpdeskApi, tid: int, base: str, new: NewTicket) -> int:
    """Write a checked ticket and its first message (the customer is created or updated); its number."""
    customer_row, _ = people.upsert_customer(api, tid, new.customer[0], new.customer[1], base)
    mailbox = new.mailbox or inbox.primary_mailbox(api, tid)
    at = new.sent_at if new.sent_at is not None else api.now()
    number = api.next_value(tid, "ticket_number")
    text = message_store.to_html(new.text)
    api.ctx.store.execute(
        "INSERT INTO gh_tickets (tenant_id, number, id, state, title, priority, assignee_id, assigned_group_id,"
        " customer_id, mailbox_id, starred, tags, summary, message_count, closed_by_id, resolution_time,"
        " deleted, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, NULL, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, 0, ?, ?)",
        (
            tid,
            number,
            api.new_id(tid, "ticket"),
            new.state,
            new.subject,
            new.assignee["id"] if new.assignee else None,
            new.group["id"] if new.group else None,
            customer_row["id"],
            mailbox["id"] if mailbox else None,
            int(new.starred),
            json.dumps(ensure_tags(api, tid, new.tags)),
            message_store.summarize(text[1]),
            new.closed_by,
            0 if new.state == "closed" else None,
            at,
            at,
        ),
    )
    if new.author_agent is not None:
        msg = NewMessage.by_agent(number, new.author_agent["id"], customer_row["id"], text, at, note=new.note)
    else:
        to_agent = new.recipient_agent or new.assignee
        msg = NewMessage.by_customer(
            number,
            customer_row["id"],
            to_agent["id"] if to_agent else None,
            mailbox["id"] if mailbox else None,
            text,
            at,
        )
    message_store.insert_message(api, tid, msg)
    return number


async def get_ticket(request: Request) -> Response:
    api, tid = common.api_of(request), common.tenant_id(request)
    return JSONResponse({"ticket": ticket_json(api, tid, ticket_number(request), common.api_base(request))})


async def ticket_count(request: Request) -> Response:
    """``{folder_id: count}`` with no envelope, as Groove answers it."""
    api, tid = common.api_of(request), common.tenant_id(request)
    ref = request.query_params.get("mailbox")
    mailbox_id: str | None = None
    nothing = False
    if ref:
        mailbox = inbox.find_mailbox(api, tid, ref)
        nothing = mailbox is None
        mailbox_id = mailbox["id"] if mailbox else None
    store = api.ctx.store
    per_state: dict[str, tuple[int, int, int]] = {}
    if not nothing:
        by_mailbox = " AND mailbox_id = ?" if mailbox_id else ""
        for row in store.all(
            "SELECT state, COUNT(*) AS n, SUM(starred) AS s, SUM(assignee_id IS NULL) AS u"
            " FROM gh_tickets INDEXED BY gh_tickets_live_state"
            f" WHERE tenant_id = ? AND deleted = 0{by_mailbox} GROUP BY state",
            (tid, mailbox_id) if mailbox_id else (tid,),
        ):
            per_state[row["state"]] = (int(row["n"]), int(row["s"]), int(row["u"]))
    out: dict[str, int] = {}
    for folder in inbox.folders_for(api, tid, mailbox_id):
        rule = inbox.FolderRule.of(folder)
        if rule.mailbox_id and rule.mailbox_id != mailbox_id and not nothing:
            clause, args = rule.sql("t")
            out[folder["id"]] = int(
                store.scalar(
                    f"SELECT COUNT(*) FROM gh_tickets t WHERE t.tenant_id = ? AND t.deleted = 0 AND {clause}",
                    (tid, *args),
                )
            )
        else:
            out[folder["id"]] = rule.count(per_state)
    return JSONResponse(out)


async def ticket_state(request: Request) -> Response:
    api, tid = common.api_of(request), common.tenant_id(request)
    number = ticket_number(request)
    if request.method == "GET":
        return JSONResponse({"state": raw_ticket(api, tid, number)["state"]})
    p = await common.params(request)
    raw_ticket(api, tid, number)
    state, problem = normalize_state(p.get("state"))
    if problem or state is None:
        raise Invalid([("state", problem or "can't be blank")])
    with api.ctx.store.tx():
        events = change_state(api, tid, raw_ticket(api, tid, number), state)
        emit_ticket(api, tid, number, common.api_base(request), events)
    return common.no_content()


async def ticket_assignee(request: Request) -> Response:
    api, tid = common.api_of(request), common.tenant_id(request)
    number = ticket_number(request)
    if request.method == "GET":
        row = raw_ticket(api, tid, number)
        agent = people.find_agent(api, tid, row["assignee_id"]) if row["assignee_id"] else None
        return JSONResponse({"agent": people.render_agent(common.api_base(request), agent) if agent else None})
    p = await common.params(request)
    raw_ticket(api, tid, number)
    problems = Problems()
    parse_flag(p, "skip_notifications", problems)
    agent = None
    if blank(p.get("assignee")):
        problems.add("assignee", "can't be blank")
    else:
        agent = agent_param(api, tid, p["assignee"], "assignee", problems)
    problems.raise_if_any()
    assert agent is not None
    with api.ctx.store.tx():
        row = raw_ticket(api, tid, number)
        if row["assignee_id"] != agent["id"]:
            update_ticket(api, tid, number, assignee_id=agent["id"])
            emit_ticket(api, tid, number, common.api_base(request), ["ticket_assigned"])
    return common.no_content()


async def ticket_priority(request: Request) -> Response:
    api, tid = common.api_of(request), common.tenant_id(request)
    number = ticket_number(request)
    p = await common.params(request)
    raw_ticket(api, tid, number)
    value = p.get("priority")
    if blank(value):
        raise Invalid([("priority", "can't be blank")])
    priority = str(value).strip().lower()
    if priority not in PRIORITIES:
        raise Invalid([("priority", f'"{value}" is not a valid priority (allowed: {", ".join(PRIORITIES)})')])
    with api.ctx.store.tx():
        if raw_ticket(api, tid, number)["priority"] != priority:
            update_ticket(api, tid, number, priority=priority)
            emit_ticket(api, tid, number, common.api_base(request), ["ticket_priority_changed"])
    return common.no_content()


async def ticket_assigned_group(request: Request) -> Response:
    api, tid = common.api_of(request), common.tenant_id(request)
    number = ticket_number(request)
    p = await common.params(request)
    raw_ticket(api, tid, number)
    problems = Problems()
    parse_flag(p, "skip_notifications", problems)
    key = next((k for k in ("group", "assigned_group", "group_id") if not blank(p.get(k))), None)
    group = None
    if key is None:
        problems.add("group", "can't be blank")
    else:
        group = find_group(api, tid, p[key])
        if group is None:
            problems.add(key, f"is not a group of this account (got {p[key]!r}; use a group id or name)")
    problems.raise_if_any()
    assert group is not None
    with api.ctx.store.tx():
        if raw_ticket(api, tid, number)["assigned_group_id"] != group["id"]:
            update_ticket(api, tid, number, assigned_group_id=group["id"])
            emit_ticket(api, tid, number, common.api_base(request), ["ticket_assigned"])
    return common.no_content()


async def ticket_tags(request: Request) -> Response:
    """POST adds labels (201 with the ticket); PUT replaces them all (204)."""
    api, tid, base = common.api_of(request), common.tenant_id(request), common.api_base(request)
    number = ticket_number(request)
    p = await common.params(request)
    raw_ticket(api, tid, number)
    problems = Problems()
    replacing = request.method == "PUT"
    if replacing and "tags" not in p:
        problems.add("tags", "can't be blank (send [] to remove every label)")
    names = parse_tags(p.get("tags"), problems, allow_empty=replacing)
    problems.raise_if_any()
    with api.ctx.store.tx():
        row = raw_ticket(api, tid, number)
        current: list[str] = json.loads(row["tags"] or "[]")
        wanted = ensure_tags(api, tid, names)
        if replacing:
            result = wanted
        else:
            have = {common.fold(n) for n in current}
            result = current + [n for n in wanted if common.fold(n) not in have]
        applied = {common.fold(n) for n in result} - {common.fold(n) for n in current}
        if result != current:
            update_ticket(api, tid, number, tags=json.dumps(result))
        if applied:
            emit_ticket(api, tid, number, base, ["ticket_tagged"])
    if replacing:
        return common.no_content()
    return JSONResponse({"ticket": ticket_json(api, tid, number, base)}, status_code=201)


async def change_mailbox(request: Request) -> Response:
    api, tid, base = common.api_of(request), common.tenant_id(request), common.api_base(request)
    number = ticket_number(request)
    ref = request.path_params["mailbox_id"]
    raw_ticket(api, tid, number)
    mailbox = inbox.find_mailbox(api, tid, ref)
    if mailbox is None:
        raise NotFound("Mailbox")
    with api.ctx.store.tx():
        if raw_ticket(api, tid, number)["mailbox_id"] != mailbox["id"]:
            update_ticket(api, tid, number, mailbox_id=mailbox["id"])
            emit_ticket(api, tid, number, base, ["ticket_moved"])
    return common.no_content(location=f"{base}/tickets/{number}/change_mailbox/{mailbox['id']}")


def routes() -> list[BaseRoute]:
    return [
        Route("/tickets", list_tickets, methods=["GET"]),
        Route("/tickets", create_ticket, methods=["POST"]),
        Route("/tickets/count", ticket_count, methods=["GET"]),
        Route("/tickets/{number:int}", get_ticket, methods=["GET"]),
        Route("/tickets/{number:int}/state", ticket_state, methods=["GET", "PUT"]),
        Route("/tickets/{number:int}/assignee", ticket_assignee, methods=["GET", "PUT"]),
        Route("/tickets/{number:int}/priority", ticket_priority, methods=["PUT"]),
        Route("/tickets/{number:int}/assigned_group", ticket_assigned_group, methods=["PUT"]),
        Route("/tickets/{number:int}/tags", ticket_tags, methods=["POST", "PUT"]),
        Route("/tickets/{number:int}/change_mailbox/{mailbox_id}", change_mailbox, methods=["POST"]),
    ]


# -- admin: deleting is a UI action in Groove's v1 ----------------------------------------------
async def admin_delete_ticket(api: GrooveHelpdeskApi, request: Request) -> Response:
    tid = people.admin_tenant_id(api, request)
    number = ticket_number(request)
    with api.ctx.store.tx():
        payload = ticket_json(api, tid, number, people.admin_api_base(request))
        update_ticket(api, tid, number, deleted=1)
        api.emit(tid, "ticket_deleted", payload)
    return common.no_content()


def admin_routes(api: GrooveHelpdeskApi) -> list[BaseRoute]:
    return [Route("/tickets/{number:int}", people.admin_endpoint(api, admin_delete_ticket), methods=["DELETE"])]


# -- seeding ---------------------------------------------------------------------------------
SEED_TAGS = (
    "billing",
    "bug",
    "feature-request",
    "important",
    "vip",
    "refund",
    "login",
    "shipping",
    "api",
    "onboarding",
    "feedback",
    "urgent",
)
#: Cumulative thresholds for seeded states: 15% unread, 35% opened, 15% pending, 30% closed, 5% spam.
STATE_MIX = ((0.15, "unread"), (0.50, "opened"), (0.65, "pending"), (0.95, "closed"), (1.0, "spam"))
PRIORITY_MIX = (None, None, None, None, "low", "medium", "high", "urgent")
YEAR = 365 * 86400.0
BULK_ROWS = 10_000


def _tag_sets() -> list[str]:
    """Every 0-, 1- and 2-tag combination, pre-serialised so seeding never calls json.dumps per row."""
    sets = [json.dumps([])] + [json.dumps([t]) for t in SEED_TAGS]
    sets += [json.dumps([a, b]) for i, a in enumerate(SEED_TAGS) for b in SEED_TAGS[i + 1 :]]
    return sets


def seed(api: GrooveHelpdeskApi, tenant: Tenant, rng: random.Random, counts: dict[str, int]) -> None:
    tid = tenant.id
    store = api.ctx.store
    first_tag = api.reserve(tid, "tag_id", len(SEED_TAGS), start=TAG_ID_START)
    store.executemany(
        "INSERT INTO gh_tags (tenant_id, id, name) VALUES (?, ?, ?)",
        [(tid, first_tag + i, name) for i, name in enumerate(SEED_TAGS)],
    )
    n = max(0, int(counts.get("tickets", 0)))
    if n == 0:
        return
    per_ticket = max(1, int(counts.get("messages_per_ticket", 1)))
    agents = _ids(store, "SELECT id FROM gh_agents WHERE tenant_id = ? AND state = 'active' ORDER BY id", tid)
    customers = _ids(store, "SELECT id FROM gh_customers WHERE tenant_id = ? ORDER BY id", tid)
    mailboxes = _ids(store, "SELECT id FROM gh_mailboxes WHERE tenant_id = ? ORDER BY is_primary DESC, id", tid)
    groups = _ids(store, "SELECT id FROM gh_groups WHERE tenant_id = ? ORDER BY id", tid)
    first_number = api.reserve(tid, "ticket_number", n, start=1)
    first_id = api.reserve(tid, "id:ticket", n, start=4_000_000_001)
    rnd = rng.random
    na, nc, nm, ng = len(agents), len(customers), len(mailboxes), len(groups)
    fallback_closer = agents[0] if na else None
    tag_sets = _tag_sets()
    singles, pairs = tag_sets[1 : 1 + len(SEED_TAGS)], tag_sets[1 + len(SEED_TAGS) :]
    states = [next(s for limit, s in STATE_MIX if k / 20 < limit) for k in range(20)]  # 5% steps
    subjects = [(t[0], t[3]) for t in message_store.FIRST_MESSAGES]
    nt = len(subjects)
    # Oldest first: ticket 1 is the oldest, as numbers are handed out in order.
    ages = sorted((rnd() for _ in range(n)), reverse=True)
    rows: list[tuple[Any, ...]] = []
    append = rows.append
    for i in range(n):
        number = first_number + i
        created = SEED_EPOCH - ages[i] * YEAR
        state = states[int(rnd() * 20)]
        assignee = agents[int(rnd() * na)] if na and rnd() >= 0.2 else None
        group = groups[int(rnd() * ng)] if ng and rnd() < 0.35 else None
        customer = customers[int(rnd() * nc)] if nc else None
        mailbox = mailboxes[0] if nm < 2 or rnd() < 0.75 else mailboxes[1 + int(rnd() * (nm - 1))]
        priority = PRIORITY_MIX[int(rnd() * len(PRIORITY_MIX))]
        starred = 1 if rnd() < 0.06 else 0
        t = rnd()
        if t < 0.55:
            tags = tag_sets[0]
        else:
            tags = singles[int(rnd() * len(singles))] if t < 0.85 else pairs[int(rnd() * len(pairs))]
        span = 0.0
        for _ in range(per_ticket - 1):
            span += 600.0 + rnd() * 129_600.0  # 10 minutes to 36 hours between messages
        closed_by, resolution = None, None
        if state == "closed":
            closed_by = assignee or fallback_closer
            resolution = int(span) if span else int(300 + rnd() * 86_400)
        subject, summary = subjects[(number + tenant.seed) % nt]
        ticket_id = str(first_id + i)
        row = (tid, number, ticket_id, state, subject, priority, assignee, group, customer, mailbox, starred)
        append((*row, tags, summary, per_ticket, closed_by, resolution, created, created + span))
    bulk_insert(
        store,
        "gh_tickets",
        "INSERT INTO gh_tickets (tenant_id, number, id, state, title, priority, assignee_id,"
        " assigned_group_id, customer_id, mailbox_id, starred, tags, summary, message_count, closed_by_id,"
        " resolution_time, deleted, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?)",
        rows,
    )


def _ids(store: SandboxDB, sql: str, tenant_id: int) -> list[str]:
    return [r[0] for r in store.all(sql, (tenant_id,))]


def samples(api: GrooveHelpdeskApi, tenant: Tenant) -> dict[str, Any]:
    rows = api.ctx.store.all(
        "SELECT number FROM gh_tickets WHERE tenant_id = ? AND deleted = 0 ORDER BY number LIMIT 3",
        (tenant.id,),
    )
    return {"ticket_numbers": [r["number"] for r in rows]}
