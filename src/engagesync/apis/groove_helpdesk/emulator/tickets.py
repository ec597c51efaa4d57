"""Groove helpdesk tickets: create, list, read, and the per-attribute update endpoints.

Tickets are addressed by their per-account ``number``. Lists are ordered by number ascending, so a
client paging through while new tickets arrive neither skips nor repeats one: new tickets land on
the last page. Every change bumps ``updated_at`` on the virtual clock and fires the webhook event
Groove documents for it, with the ticket as rendered by the API as the payload.
"""

from __future__ import annotations

import json
import random
import sqlite3
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from ....sandbox.clock import iso8601
from ..contract import DEFAULT_STATE, PRIORITIES, TICKET_STATES, is_email, parse_bool, parse_sent_at
from . import common, inbox, messages, people
from .common import Invalid, NotFound, Problems
from .seed import SEED_EPOCH

if TYPE_CHECKING:
    from ....sandbox.api import Tenant
    from ....sandbox.store import Store
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

#: Joins everything a rendered ticket names (emails, group and mailbox names) in one query.
TICKET_SELECT = """
SELECT t.*, a.email AS assignee_email, cb.email AS closed_by_email, g.name AS group_name,
       c.email AS customer_email, mb.name AS mailbox_name
FROM gh_tickets t
LEFT JOIN gh_agents a ON a.tenant_id = t.tenant_id AND a.id = t.assignee_id
LEFT JOIN gh_agents cb ON cb.tenant_id = t.tenant_id AND cb.id = t.closed_by_id
LEFT JOIN gh_groups g ON g.tenant_id = t.tenant_id AND g.id = t.assigned_group_id
LEFT JOIN gh_customers c ON c.tenant_id = t.tenant_id AND c.id = t.customer_id
LEFT JOIN gh_mailboxes mb ON mb.tenant_id = t.tenant_id AND mb.id = t.mailbox_id
"""

#: Wrong state names clients are known to send, and what they most likely meant.
STATE_HINTS = {
    "open": "opened",
    "new": "unread",
    "close": "closed",
    "solved": "closed",
    "resolved": "closed",
    "on_hold": "pending",
    "hold": "pending",
    "waiting": "pending",
}
TAG_ID_START = 1001
#: 9999-12-31T23:59:59Z: the last instant an ISO-8601 timestamp with a four-digit year can show.
LAST_INSTANT = 253_402_300_799.0


# -- rendering -------------------------------------------------------------------------------
def render_ticket(base: str, row: sqlite3.Row, tag_ids: dict[str, int] | None = None) -> dict[str, Any]:
    """The seed's "Finding one ticket" shape plus ``state``, ``id``, ``assignee``, ``tag_ids`` and mailbox.

    ``row`` comes from ``TICKET_SELECT``. Like Groove's own payloads, ``links.assignee`` is left out
    when nobody is assigned rather than pointing nowhere.
    """
    number = row["number"]
    tags: list[str] = json.loads(row["tags"] or "[]")
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


def tag_map(api: GrooveHelpdeskApi, tenant_id: int, rows: Iterable[sqlite3.Row]) -> dict[str, int]:
    names = sorted({name for r in rows for name in json.loads(r["tags"] or "[]")})
    if not names:
        return {}
    marks = ", ".join("?" * len(names))
    found = api.ctx.store.all(
        f"SELECT id, name FROM gh_tags WHERE tenant_id = ? AND name IN ({marks})", (tenant_id, *names)
    )
    return {r["name"]: int(r["id"]) for r in found}


def render_rows(api: GrooveHelpdeskApi, tenant_id: int, base: str, rows: Sequence[sqlite3.Row]) -> list[dict[str, Any]]:
    ids = tag_map(api, tenant_id, rows)
    return [render_ticket(base, r, ids) for r in rows]


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


def find_group(api: GrooveHelpdeskApi, tenant_id: int, ref: Any) -> sqlite3.Row | None:
    """A group by id or by name (any case): the docs allow either."""
    key = str(ref).strip() if ref is not None else ""
    if not key:
        return None
    store = api.ctx.store
    row = store.one("SELECT * FROM gh_groups WHERE tenant_id = ? AND id = ?", (tenant_id, key))
    if row is None:
        row = store.one(
            "SELECT * FROM gh_groups WHERE tenant_id = ? AND gh_fold(name) = ? ORDER BY id LIMIT 1",
            (tenant_id, common.fold(key)),
        )
    return row


# -- validation helpers ----------------------------------------------------------------------
def blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def normalize_state(value: Any) -> tuple[str | None, str | None]:
    """(state, problem): states compare case-insensitively; near misses such as "open" get a hint."""
    if blank(value):
        return None, "can't be blank"
    text = str(value).strip().lower()
    if text in TICKET_STATES:
        return text, None
    allowed = ", ".join(TICKET_STATES)
    hint = STATE_HINTS.get(text) or next((s for s in TICKET_STATES if len(text) >= 3 and s.startswith(text)), None)
    suggestion = f'; did you mean "{hint}"?' if hint else ""
    return None, f'"{value}" is not a valid state (allowed: {allowed}){suggestion}'


def parse_flag(p: dict[str, Any], name: str, problems: Problems, default: bool = False) -> bool:
    if name not in p or p[name] is None:
        return default
    value = parse_bool(p[name])
    if value is None:
        problems.add(name, f"must be true or false (got {p[name]!r})")
        return default
    return value


def parse_tags(value: Any, problems: Problems, field: str = "tags", allow_empty: bool = False) -> list[str]:
    """A list of tag names; a comma-separated string is accepted too (form and CSV sources)."""
    if value is None or value == "":
        items: list[Any] = []
    elif isinstance(value, str):
        items = value.split(",")
    elif isinstance(value, list):
        items = value
    else:
        problems.add(field, "must be an array of tag names")
        return []
    names: list[str] = []
    seen: set[str] = set()
    for item in items:
        if not isinstance(item, str | int) or not str(item).strip():
            if isinstance(value, list):
                problems.add(field, "must be an array of non-empty tag names")
                return []
            continue
        name = str(item).strip()
        if common.fold(name) not in seen:
            seen.add(common.fold(name))
            names.append(name)
    if not names and not allow_empty:
        problems.add(field, "can't be blank")
    return names


def parse_time(p: dict[str, Any], problems: Problems, name: str = "sent_at") -> float | None:
    if blank(p.get(name)):
        return None
    at = parse_sent_at(p[name])
    if at is None:
        problems.add(
            name,
            f"is not a valid date (got {p[name]!r}; RFC-822 preferred, e.g. 'Tue, 17 Jul 2012 13:41:01 +0000')",
        )
    elif not 0 <= at <= LAST_INSTANT:
        problems.add(name, f"is out of range (got {p[name]!r}; between 1970 and 9999)")
        return None
    return at


def agent_param(
    api: GrooveHelpdeskApi, tenant_id: int, value: Any, field: str, problems: Problems
) -> sqlite3.Row | None:
    """An assignable agent named by email or id, or a problem naming ``field``."""
    agent = people.find_agent(api, tenant_id, value)
    if agent is None:
        problems.add(field, f"is not an agent of this account (got {value!r}; use an agent email or id)")
    elif agent["state"] == "archived":
        problems.add(field, f"is an archived agent ({agent['email']})")
        return None
    return agent


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
            r["number"]
            for r in store.page(
                f"SELECT t.number FROM gh_tickets t {hint} WHERE {sql_where} {{after}} ORDER BY t.number",
                args,
                [("t.number", "number")],
                per_page,
                common.offset(page, per_page),
            )
        ]
    )
    rows = (
        []
        if not numbers
        else store.all(
            f"{TICKET_SELECT} WHERE t.tenant_id = ? AND t.number IN ({', '.join('?' * len(numbers))}) "
            "ORDER BY t.number",
            (tid, *numbers),
        )
    )
    base = common.api_base(request)
    return JSONResponse(
        {
            "tickets": render_rows(api, tid, base, rows),
            "meta": common.pagination(request, page, per_page, total),
        }
    )


async def create_ticket(request: Request) -> Response:
    api, tid, base = common.api_of(request), common.tenant_id(request), common.api_base(request)
    p = await common.params(request)
    problems = Problems()
    text = p.get("body")
    if blank(text) or not isinstance(text, str):
        problems.add("body", "can't be blank")
    note = parse_flag(p, "note", problems)
    parse_flag(p, "send_copy_to_customer", problems)  # no mail leaves the sandbox; validated all the same
    parse_flag(p, "skip_notifications", problems)
    starred = parse_flag(p, "starred", problems)
    state = DEFAULT_STATE
    if not blank(p.get("state")):
        parsed_state, problem = normalize_state(p.get("state"))
        if problem:
            problems.add("state", problem)
        state = parsed_state or DEFAULT_STATE
    mailbox = None
    if not blank(p.get("mailbox")):
        mailbox = inbox.find_mailbox(api, tid, p["mailbox"])
        if mailbox is None:
            problems.add("mailbox", f"is not a mailbox of this account (got {p['mailbox']!r}; use its email or id)")
    assignee = agent_param(api, tid, p["assignee"], "assignee", problems) if not blank(p.get("assignee")) else None
    group = None
    if not blank(p.get("assigned_group")):
        group = find_group(api, tid, p["assigned_group"])
        if group is None:
            problems.add("assigned_group", f"is not a group of this account (got {p['assigned_group']!r})")
    sent_at = parse_time(p, problems)
    subject = p.get("subject")
    if subject is not None and not isinstance(subject, str):
        problems.add("subject", "must be a string")
        subject = None
    tags = parse_tags(p.get("tags"), problems, allow_empty=True)

    # Who wrote it: an agent writing to a customer, or a customer writing to a mailbox (or agent).
    sender, to = p.get("from"), p.get("to")
    author_agent: sqlite3.Row | None = None
    recipient_agent: sqlite3.Row | None = None
    customer: tuple[str, dict[str, Any]] | None = None
    sender_agent = people.find_agent(api, tid, sender) if isinstance(sender, str) and "@" in sender else None
    if sender_agent is not None:
        author_agent = sender_agent
        if sender_agent["state"] == "archived":
            problems.add("from", f"is an archived agent ({sender_agent['email']})")
        if blank(to):
            problems.add("to", "can't be blank (the customer an agent's ticket is addressed to)")
        elif isinstance(to, str) and (people.find_agent(api, tid, to) or inbox.find_mailbox(api, tid, to)):
            problems.add("to", "must be a customer when from is an agent")
        else:
            customer = people.parse_customer(to, "to", problems)
    else:
        customer = people.parse_customer(sender, "from", problems)
        if blank(to):
            if blank(p.get("mailbox")):
                problems.add("to", "can't be blank (give the mailbox email, or the mailbox parameter)")
        elif isinstance(to, str) and is_email(to):
            addressed = inbox.find_mailbox(api, tid, to)
            if addressed is not None and mailbox is None:
                mailbox = addressed
            recipient_agent = people.find_agent(api, tid, to)
        elif isinstance(to, str):
            problems.add("to", f"is not a valid email address (got {to!r})")
        else:
            problems.add("to", "must be the email of a mailbox or agent when from is a customer")
    problems.raise_if_any()
    assert isinstance(text, str) and customer is not None

    store = api.ctx.store
    with store.tx():
        customer_row, _ = people.upsert_customer(api, tid, customer[0], customer[1], base)
        mailbox = mailbox or inbox.primary_mailbox(api, tid)
        at = sent_at if sent_at is not None else api.now()
        number = api.next_value(tid, "ticket_number")
        ticket_id = api.new_id(tid, "ticket")
        names = ensure_tags(api, tid, tags)
        body_html, plain = messages.to_html(text)
        closed_by = None
        if state == "closed":
            closer = assignee or author_agent
            closed_by = closer["id"] if closer is not None else None
        store.execute(
            "INSERT INTO gh_tickets (tenant_id, number, id, state, title, priority, assignee_id,"
            " assigned_group_id,"
            " customer_id, mailbox_id, starred, tags, summary, message_count, closed_by_id, resolution_time,"
            " deleted, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, NULL, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, 0, ?, ?)",
            (
                tid,
                number,
                ticket_id,
                state,
                subject.strip() if subject and subject.strip() else None,
                assignee["id"] if assignee else None,
                group["id"] if group else None,
                customer_row["id"],
                mailbox["id"] if mailbox else None,
                int(starred),
                json.dumps(names),
                messages.summarize(plain),
                closed_by,
                0 if state == "closed" else None,
                at,
                at,
            ),
        )
        if author_agent is not None:
            messages.insert_message(
                api,
                tid,
                number,
                "agent",
                author_agent["id"],
                None if note else "customer",
                None if note else customer_row["id"],
                note,
                body_html,
                plain,
                at,
            )
        else:
            to_agent = recipient_agent or assignee
            messages.insert_message(
                api,
                tid,
                number,
                "customer",
                customer_row["id"],
                "agent" if to_agent else "mailbox",
                to_agent["id"] if to_agent else (mailbox["id"] if mailbox else None),
                False,
                body_html,
                plain,
                at,
            )
        payload = ticket_json(api, tid, number, base)
        api.emit(tid, "ticket_started", payload)
    return common.created({"ticket": payload}, f"{base}/tickets/{number}")


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
    subjects = [(t[0], t[3]) for t in messages.FIRST_MESSAGES]
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


def _ids(store: Store, sql: str, tenant_id: int) -> list[str]:
    return [r[0] for r in store.all(sql, (tenant_id,))]


def bulk_insert(store: Store, table: str, sql: str, rows: list[tuple[Any, ...]]) -> None:
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


def samples(api: GrooveHelpdeskApi, tenant: Tenant) -> dict[str, Any]:
    rows = api.ctx.store.all(
        "SELECT number FROM gh_tickets WHERE tenant_id = ? AND deleted = 0 ORDER BY number LIMIT 3",
        (tenant.id,),
    )
    return {"ticket_numbers": [r["number"] for r in rows]}
