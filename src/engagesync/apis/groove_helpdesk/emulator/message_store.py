"""Messages as stored and rendered: what the ticket and message endpoints both need.

A message body is stored twice, as Groove returns it: ``body`` is HTML (plain text gets its newlines
turned into ``<br />``) and ``plain_text_body`` is text (HTML input gets its tags stripped).
"""

from __future__ import annotations

import html
import sqlite3
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ....sandbox.clock import iso8601
from ..contract.text import is_html, plain_text, summarize
from . import people
from .common import NotFound

if TYPE_CHECKING:
    from . import GrooveHelpdeskApi


def to_html(text: str) -> tuple[str, str]:
    """(body, plain_text_body) for what a client sent, whether it was HTML or plain text."""
    text = text.replace("\r\n", "\n")
    if is_html(text):
        return text, plain_text(text)
    return html.escape(text, quote=False).replace("\n", "<br />"), text


MESSAGE_SELECT = """
SELECT m.*, aa.email AS author_agent_email, ac.email AS author_customer_email,
       ra.email AS recipient_agent_email, rc.email AS recipient_customer_email
FROM gh_messages m
JOIN gh_tickets t ON t.tenant_id = m.tenant_id AND t.number = m.ticket_number AND t.deleted = 0
LEFT JOIN gh_agents aa ON m.author_type = 'agent' AND aa.tenant_id = m.tenant_id AND aa.id = m.author_id
LEFT JOIN gh_customers ac ON m.author_type = 'customer' AND ac.tenant_id = m.tenant_id AND ac.id = m.author_id
LEFT JOIN gh_agents ra ON m.recipient_type = 'agent' AND ra.tenant_id = m.tenant_id AND ra.id = m.recipient_id
LEFT JOIN gh_customers rc ON m.recipient_type = 'customer' AND rc.tenant_id = m.tenant_id
    AND rc.id = m.recipient_id
"""


def _party_href(
    base: str, kind: str | None, ref: str | None, agent_email: str | None, customer_email: str | None
) -> str | None:
    if kind == "agent" and agent_email:
        return people.agent_href(base, agent_email)
    if kind == "customer" and customer_email:
        return people.customer_href(base, customer_email)
    if kind == "mailbox" and ref:
        return people.url(base, "mailboxes", ref)
    return None


def render_message(base: str, row: sqlite3.Row) -> dict[str, Any]:
    """The documented message shape plus ``id``; ``row`` comes from ``MESSAGE_SELECT``."""
    links: dict[str, Any] = {}
    author = _party_href(
        base, row["author_type"], row["author_id"], row["author_agent_email"], row["author_customer_email"]
    )
    if author:
        links["author"] = {"href": author}
    recipient = _party_href(
        base,
        row["recipient_type"],
        row["recipient_id"],
        row["recipient_agent_email"],
        row["recipient_customer_email"],
    )
    if recipient:
        links["recipient"] = {"href": recipient}
    links["ticket"] = {"href": f"{base}/tickets/{row['ticket_number']}"}
    links["attachments"] = {"href": f"{base}/attachments?message={row['id']}"}
    return {
        "id": row["id"],
        "created_at": iso8601(row["created_at"]),
        "updated_at": iso8601(row["updated_at"]),
        "note": bool(row["note"]),
        "body": row["body"],
        "plain_text_body": row["plain_text_body"],
        "href": f"{base}/messages/{row['id']}",
        "links": links,
    }


def load_message(api: GrooveHelpdeskApi, tenant_id: int, message_id: str) -> sqlite3.Row:
    row = api.ctx.store.one(MESSAGE_SELECT + " WHERE m.tenant_id = ? AND m.id = ?", (tenant_id, message_id))
    if row is None:
        raise NotFound("Message")
    return row


@dataclass(frozen=True)
class NewMessage:
    """One message to store: who wrote it to whom, its two bodies and when."""

    number: int
    author_type: str
    author_id: str | None
    recipient_type: str | None
    recipient_id: str | None
    body: str
    plain: str
    at: float
    note: bool = False

    @classmethod
    def by_agent(
        cls, number: int, agent_id: str, customer_id: str | None, text: tuple[str, str], at: float, *, note: bool
    ) -> NewMessage:
        """A reply to the customer, or (``note``) a private note addressed to nobody."""
        if note:
            return cls(number, "agent", agent_id, None, None, text[0], text[1], at, note=True)
        return cls(number, "agent", agent_id, "customer", customer_id, text[0], text[1], at)

    @classmethod
    def by_customer(
        cls,
        number: int,
        customer_id: str | None,
        to_agent: str | None,
        mailbox_id: str | None,
        text: tuple[str, str],
        at: float,
    ) -> NewMessage:
        """A customer's message: to the assigned agent when there is one, else to the mailbox."""
        kind, to = ("agent", to_agent) if to_agent else ("mailbox", mailbox_id)
        return cls(number, "customer", customer_id, kind, to, text[0], text[1], at)


def insert_message(api: GrooveHelpdeskApi, tenant_id: int, msg: NewMessage) -> str:
    message_id = api.new_id(tenant_id, "message")
    api.ctx.store.execute(
        "INSERT INTO gh_messages (tenant_id, id, ticket_number, author_type, author_id, recipient_type,"
        " recipient_id, note, body, plain_text_body, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            tenant_id,
            message_id,
            msg.number,
            msg.author_type,
            msg.author_id,
            msg.recipient_type if msg.recipient_id else None,
            msg.recipient_id,
            int(msg.note),
            msg.body,
            msg.plain,
            msg.at,
            msg.at,
        ),
    )
    return message_id


# -- seeded texts: the first message of a seeded ticket also gives the ticket its subject ------------
_FIRST = (
    (
        "Can't log in",
        "Hi,\nI can't log in since this morning. The page says my password is wrong but I reset it "
        "twice already.\nCan you help?",
    ),
    (
        "Refund for order",
        "Hello,\nI was charged twice for my last order. Could you refund the duplicate charge?\nThanks",
    ),
    (
        "Where is my package?",
        "Hi there,\nMy order shipped a week ago and the tracking page has not moved since. Is it lost?",
    ),
    (
        "Feature request: dark mode",
        "Love the product! Any plans for a dark mode? My team works late and the white screens are harsh.",
    ),
    (
        "API returns 500",
        "Our integration gets HTTP 500 from the export endpoint since yesterday.\nRequest id is in the attached log.",
    ),
    (
        "Invoice address",
        "Please change the billing address on our invoices to our new office.\nThe old one is closed.",
    ),
    (
        "Upgrade question",
        "We are on the starter plan. If we upgrade mid-month, how is the difference billed?",
    ),
    (
        "Bug in the mobile app",
        "The mobile app crashes when I open a conversation with an attachment.\nPhone: Android 14.",
    ),
    (
        "Cancel my subscription",
        "Hi, please cancel my subscription at the end of this billing period. Thanks for everything.",
    ),
    ("Onboarding call", "Could we schedule an onboarding call for our new team members next week?"),
)
#: (subject, body html, plain text, summary) for the first message of seeded tickets.
FIRST_MESSAGES: tuple[tuple[str, str, str, str], ...] = tuple(
    (subject, *to_html(text), summarize(to_html(text)[1])) for subject, text in _FIRST
)
