"""Groove helpdesk messages (the replies and notes on a ticket) and their attachments.

How a message is stored and rendered lives in ``message_store``; the ticket it belongs to in
``ticket_store``, so this module and ``tickets`` never import each other.
"""

from __future__ import annotations

import random
import sqlite3
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from ....sandbox.clock import iso8601
from . import common, people, ticket_store
from .common import Invalid, Problems
from .message_store import (
    FIRST_MESSAGES,
    MESSAGE_SELECT,
    NewMessage,
    insert_message,
    load_message,
    render_message,
    to_html,
)
from .ticket_input import blank, parse_flag, parse_time

if TYPE_CHECKING:
    from ....sandbox.api import Tenant
    from . import GrooveHelpdeskApi

DDL = ""
TABLES: tuple[str, ...] = ()


# -- handlers --------------------------------------------------------------------------------
async def ticket_messages(request: Request) -> Response:
    api, tid = common.api_of(request), common.tenant_id(request)
    number = ticket_store.ticket_number(request)
    if request.method == "POST":
        return await create_message(request, api, tid, number)
    ticket_store.raw_ticket(api, tid, number)
    page, per_page = common.page_window(request)
    store = api.ctx.store
    total = store.counted("SELECT COUNT(*) FROM gh_messages WHERE tenant_id = ? AND ticket_number = ?", (tid, number))
    rows = store.page(
        MESSAGE_SELECT + " WHERE m.tenant_id = ? AND m.ticket_number = ? {after} ORDER BY m.created_at, m.id",
        (tid, number),
        [("m.created_at", "created_at"), ("m.id", "id")],
        per_page,
        common.offset(page, per_page),
    )
    base = common.api_base(request)
    return JSONResponse(
        {
            "messages": [render_message(base, r) for r in rows],
            "meta": common.pagination(request, page, per_page, total),
        }
    )


async def create_message(request: Request, api: GrooveHelpdeskApi, tid: int, number: int) -> Response:
    """A reply or note. With no ``author`` the ticket's assignee (else the account owner) writes it."""
    base = common.api_base(request)
    p = await common.params(request)
    ticket = ticket_store.raw_ticket(api, tid, number)
    problems = Problems()
    text = p.get("body")
    if blank(text) or not isinstance(text, str):
        problems.add("body", "can't be blank")
    note = parse_flag(p, "note", problems)
    parse_flag(p, "send_copy_to_customer", problems)
    sent_at = parse_time(p, problems)
    agent: sqlite3.Row | None = None
    customer: sqlite3.Row | None = None
    if not blank(p.get("author")):
        agent = people.find_agent(api, tid, p["author"])
        if agent is None:
            customer = people.find_customer(api, tid, p["author"])
            if customer is None or customer["id"] != ticket["customer_id"]:
                problems.add("author", f"must be an agent or this ticket's customer (got {p['author']!r})")
                customer = None
        elif agent["state"] == "archived":
            problems.add("author", f"is an archived agent ({agent['email']})")
    else:
        if ticket["assignee_id"]:
            agent = people.find_agent(api, tid, ticket["assignee_id"])
        if agent is None or agent["state"] == "archived":
            agent = people.owner_agent(api, tid)
        if agent is None:
            customer = people.find_customer(api, tid, ticket["customer_id"]) if ticket["customer_id"] else None
    if note and agent is None and not problems.items:
        problems.add("note", "can only be added by an agent")
    problems.raise_if_any()
    assert isinstance(text, str)
    text_html = to_html(text)
    store = api.ctx.store
    with store.tx():
        at = sent_at if sent_at is not None else api.now()
        if agent is not None:
            msg = NewMessage.by_agent(number, agent["id"], ticket["customer_id"], text_html, at, note=note)
            event = "note_added" if note else "agent_replied"
            new_state = "opened" if not note and ticket["state"] == "unread" else None
        else:
            to_agent = ticket["assignee_id"]
            msg = NewMessage.by_customer(
                number, customer["id"] if customer else None, to_agent, ticket["mailbox_id"], text_html, at
            )
            event = "customer_replied"
            new_state = "opened" if ticket["state"] in ("pending", "closed") else None
        message_id = insert_message(api, tid, msg)
        ticket_store.update_ticket(api, tid, number, message_count=ticket["message_count"] + 1)
        payload = render_message(base, load_message(api, tid, message_id))
        api.emit(tid, event, payload)
        if new_state:
            events = ticket_store.change_state(api, tid, ticket_store.raw_ticket(api, tid, number), new_state)
            ticket_store.emit_ticket(api, tid, number, base, events)
    return common.created({"message": payload}, payload["href"])


async def get_message(request: Request) -> Response:
    api, tid = common.api_of(request), common.tenant_id(request)
    row = load_message(api, tid, request.path_params["id"])
    return JSONResponse({"message": render_message(common.api_base(request), row)})


def render_attachment(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "filename": row["filename"],
        "size": row["size"],
        "url": row["url"],
        "content_type": row["content_type"],
        "created_at": iso8601(row["created_at"]),
    }


async def list_attachments(request: Request) -> Response:
    api, tid = common.api_of(request), common.tenant_id(request)
    ref = (request.query_params.get("message") or "").strip()
    if not ref:
        raise Invalid([("message", "can't be blank (the id of the message to list attachments for)")])
    load_message(api, tid, ref)
    rows = api.ctx.store.all(
        "SELECT * FROM gh_attachments WHERE tenant_id = ? AND message_id = ? ORDER BY id", (tid, ref)
    )
    return JSONResponse({"attachments": [render_attachment(r) for r in rows]})


def routes() -> list[BaseRoute]:
    return [
        Route("/tickets/{number:int}/messages", ticket_messages, methods=["GET", "POST"]),
        Route("/messages/{id}", get_message, methods=["GET"]),
        Route("/attachments", list_attachments, methods=["GET"]),
    ]


# -- seeding ---------------------------------------------------------------------------------
def _rendered(texts: tuple[str, ...]) -> list[tuple[str, str]]:
    return [to_html(t) for t in texts]


AGENT_REPLIES = _rendered(
    (
        "Thanks for reaching out! I'm looking into this now and will get back to you shortly.",
        "Sorry about the trouble.\nCould you send a screenshot of what you see?",
        "Good news: this is fixed on our side. Could you try again and let us know?",
        "I've passed this to our engineering team. We'll update you as soon as we hear back.",
        "Done! You should see the change within a few minutes.",
    )
)
CUSTOMER_REPLIES = _rendered(
    (
        "Thanks, that worked!",
        "Still not working for me, unfortunately.",
        "Here is the screenshot you asked for.",
        "Any update on this?",
        "Great, thank you for the quick help.",
    )
)
NOTES = _rendered(
    (
        "Customer is on the enterprise plan, prioritise.",
        "Looks like the same issue as last week's outage.",
        "Escalated to engineering.",
    )
)
ATTACHMENTS = (
    ("screenshot.png", "image/png"),
    ("invoice.pdf", "application/pdf"),
    ("log.txt", "text/plain"),
    ("photo.jpg", "image/jpeg"),
    ("export.csv", "text/csv"),
)
ATTACHMENT_HOST = "https://attachments.groove-sandbox.invalid"


def seed(api: GrooveHelpdeskApi, tenant: Tenant, rng: random.Random, counts: dict[str, int]) -> None:
    """Messages for every seeded ticket, consistent with it: the first is the customer's, written when
    the ticket was created (its text gave the ticket its summary), the last when it was last updated."""
    tid = tenant.id
    store = api.ctx.store
    with store.lock:  # plain tuples: 100,000 sqlite3.Row objects cost more than the query
        cursor = store.conn.cursor()
        cursor.row_factory = None
        rows = cursor.execute(
            "SELECT number, customer_id, assignee_id, mailbox_id, message_count, created_at, updated_at"
            " FROM gh_tickets WHERE tenant_id = ? AND deleted = 0 ORDER BY number",
            (tid,),
        ).fetchall()
    if not rows:
        return
    owner = people.owner_agent(api, tid)
    owner_id = owner["id"] if owner is not None else None
    total = sum(r[4] for r in rows)
    next_id = api.reserve(tid, "id:message", total, start=4_000_000_001)
    rnd = rng.random
    nf, na, nc, nn = len(FIRST_MESSAGES), len(AGENT_REPLIES), len(CUSTOMER_REPLIES), len(NOTES)
    out: list[tuple[Any, ...]] = []
    append = out.append
    attached: list[tuple[str, float]] = []
    for number, customer, assignee, mailbox, count, created, updated in rows:
        _, first_body, first_plain, _ = FIRST_MESSAGES[(number + tenant.seed) % nf]
        # The customer writes to the assignee (else the mailbox); agents write to the customer.
        c_to, c_to_id = ("agent", assignee) if assignee else ("mailbox", mailbox)
        a_to = "customer" if customer else None
        agent = assignee or owner_id
        mid = str(next_id)
        append(
            (
                tid,
                mid,
                number,
                "customer",
                customer,
                c_to,
                c_to_id,
                0,
                first_body,
                first_plain,
                created,
                created,
            )
        )
        if rnd() < 0.04:
            attached.append((mid, created))
        span = updated - created
        between = sorted(rnd() for _ in range(count - 2)) if count > 2 else []
        for k in range(1, count):
            mid = str(next_id + k)
            at = updated if k == count - 1 else created + between[k - 1] * span
            if k % 2 == 1 and agent is not None:
                if rnd() < 0.15:
                    body, plain = NOTES[int(rnd() * nn)]
                    append((tid, mid, number, "agent", agent, None, None, 1, body, plain, at, at))
                else:
                    body, plain = AGENT_REPLIES[int(rnd() * na)]
                    append((tid, mid, number, "agent", agent, a_to, customer, 0, body, plain, at, at))
            else:
                body, plain = CUSTOMER_REPLIES[int(rnd() * nc)]
                append((tid, mid, number, "customer", customer, c_to, c_to_id, 0, body, plain, at, at))
            if rnd() < 0.04:
                attached.append((mid, at))
        next_id += count
    ticket_store.bulk_insert(
        store,
        "gh_messages",
        "INSERT INTO gh_messages (tenant_id, id, ticket_number, author_type, author_id, recipient_type,"
        " recipient_id, note, body, plain_text_body, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        out,
    )
    if attached:
        first_att = api.reserve(tid, "id:attachment", len(attached), start=4_000_000_001)
        att_rows = []
        for i, (mid, at) in enumerate(attached):
            filename, ctype = ATTACHMENTS[int(rnd() * len(ATTACHMENTS))]
            att_id = str(first_att + i)
            size = 2_000 + int(rnd() * 2_000_000)
            att_rows.append((tid, att_id, mid, filename, size, ctype, f"{ATTACHMENT_HOST}/{att_id}/{filename}", at))
        store.executemany(
            "INSERT INTO gh_attachments (tenant_id, id, message_id, filename, size, content_type, url,"
            " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            att_rows,
        )


def samples(api: GrooveHelpdeskApi, tenant: Tenant) -> dict[str, Any]:
    store = api.ctx.store
    rows = store.all("SELECT id FROM gh_messages WHERE tenant_id = ? ORDER BY id LIMIT 3", (tenant.id,))
    att = store.all("SELECT message_id FROM gh_attachments WHERE tenant_id = ? ORDER BY id LIMIT 3", (tenant.id,))
    return {
        "message_ids": [r["id"] for r in rows],
        "message_ids_with_attachments": [r["message_id"] for r in att],
    }
