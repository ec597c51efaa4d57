"""Reading ticket requests: parameter checks shared by the ticket and message endpoints, and the
parse step of ticket creation (``NewTicket``), which collects every problem before anything is written."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..contract import DEFAULT_STATE, TICKET_STATES, is_email, parse_bool, parse_sent_at
from . import common, inbox, people
from .common import Problems

if TYPE_CHECKING:
    from . import GrooveHelpdeskApi

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
#: 9999-12-31T23:59:59Z: the last instant an ISO-8601 timestamp with a four-digit year can show.
LAST_INSTANT = 253_402_300_799.0


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


# -- creating a ticket: the parse step ---------------------------------------------------------------
@dataclass(frozen=True)
class NewTicket:
    """A checked ``POST /tickets``: every reference resolved, nothing written yet.

    Either an agent (``author_agent``) writes to a customer, or a customer writes to a mailbox
    (``recipient_agent`` when it was addressed to an agent's email).
    """

    text: str
    customer: tuple[str, dict[str, Any]]
    state: str
    note: bool
    starred: bool
    subject: str | None
    tags: list[str]
    sent_at: float | None
    mailbox: sqlite3.Row | None
    assignee: sqlite3.Row | None
    group: sqlite3.Row | None
    author_agent: sqlite3.Row | None
    recipient_agent: sqlite3.Row | None

    @property
    def closed_by(self) -> str | None:
        """Who closed a ticket created closed: its assignee, else the agent who wrote it."""
        if self.state != "closed":
            return None
        closer = self.assignee or self.author_agent
        return None if closer is None else str(closer["id"])


def parse_new_ticket(api: GrooveHelpdeskApi, tid: int, p: dict[str, Any]) -> NewTicket:
    """The ticket ``p`` asks for, or 422 naming every problem."""
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
    author_agent, recipient_agent, customer, addressed = _parties(api, tid, p, problems)
    problems.raise_if_any()
    assert isinstance(text, str) and customer is not None
    return NewTicket(
        text=text,
        customer=customer,
        state=state,
        note=note,
        starred=starred,
        subject=subject.strip() if subject and subject.strip() else None,
        tags=tags,
        sent_at=sent_at,
        mailbox=mailbox or addressed,
        assignee=assignee,
        group=group,
        author_agent=author_agent,
        recipient_agent=recipient_agent,
    )


Parties = tuple[sqlite3.Row | None, sqlite3.Row | None, tuple[str, dict[str, Any]] | None, sqlite3.Row | None]


def _parties(api: GrooveHelpdeskApi, tid: int, p: dict[str, Any], problems: Problems) -> Parties:
    """Who wrote it: an agent writing to a customer, or a customer writing to a mailbox (or agent).

    (author agent, recipient agent, customer (email, attributes), mailbox named by ``to``).
    """
    sender, to = p.get("from"), p.get("to")
    author_agent: sqlite3.Row | None = None
    recipient_agent: sqlite3.Row | None = None
    addressed: sqlite3.Row | None = None
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
            recipient_agent = people.find_agent(api, tid, to)
        elif isinstance(to, str):
            problems.add("to", f"is not a valid email address (got {to!r})")
        else:
            problems.add("to", "must be the email of a mailbox or agent when from is a customer")
    return author_agent, recipient_agent, customer, addressed
