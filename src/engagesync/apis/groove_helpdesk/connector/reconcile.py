"""Finding a Groove helpdesk create again after its outcome was lost (a timeout, a crash after the
send): the push's ``reconcile`` for each create action, answering the resource in the create
response's envelope (``{"ticket": {...}}``) or ``None``.

Reconcile rules (each takes an optional ``since``: epoch seconds, server time, when the push began):
- ticket: the customer's tickets (``customer`` = ``from``, else ``to``: an agent's ticket belongs to
  its ``to``) whose title equals ``subject`` and whose summary is the body's first 100 characters
  (compared without whitespace, after Groove's HTML-to-text); created at ``sent_at`` if given, else
  at or after ``since``. The highest number wins (the latest identical ticket).
- message: the ticket's messages with the same text and ``note`` flag, after ``since``; the latest.
- webhook: the active webhook(s) for (event, url); Groove registers a pair only once anyway.
- group: the group with that name (names are unique, any case).
- knowledge base: by subdomain when given (unique), else the latest with that title.
- article: Search Articles by title; the latest article with exactly that title after ``since``.
"""

from __future__ import annotations

from typing import Any

from ....client.http import ApiClient
from ....client.paginate import follow_next_page
from ..contract import parse_sent_at
from ..contract.webhooks import canonical_events
from . import rules
from .client import GrooveHelpdesk

Record = dict[str, Any]


def _after(created_at: Any, since: float | None, sent_at: float | None = None) -> bool:
    created = rules.epoch(created_at)
    if created is None:
        return since is None and sent_at is None
    if sent_at is not None:
        return abs(created - sent_at) < 1.0
    return since is None or created >= since - 1.0  # the server's timestamps have whole seconds


def _party_email(value: Any) -> str | None:
    email = value.get("email") if isinstance(value, dict) else value
    return email.strip().lower() if isinstance(email, str) and email.strip() else None


def reconcile_ticket(client: ApiClient, record: Record, since: float | None = None) -> Record | None:
    api = GrooveHelpdesk(client)
    body = record.get("body")
    if not isinstance(body, str):
        return None
    subject = record["subject"].strip() if isinstance(record.get("subject"), str) else None
    sent_at = parse_sent_at(record.get("sent_at")) if not rules.blank(record.get("sent_at")) else None
    best: Record | None = None
    for email in dict.fromkeys(e for e in (_party_email(record.get("from")), _party_email(record.get("to"))) if e):
        for ticket in api.iter_tickets(customer=email):
            if (ticket.get("title") or None) != (subject or None):
                continue
            if not rules.summary_matches(body, ticket.get("summary") or ""):
                continue
            if not _after(ticket.get("created_at"), since, sent_at):
                continue
            if best is None or int(ticket["number"]) > int(best["number"]):
                best = ticket
        if best is not None:
            break
    return {"ticket": best} if best else None


def reconcile_message(client: ApiClient, record: Record, since: float | None = None) -> Record | None:
    body = record.get("body")
    if not isinstance(body, str) or rules.blank(record.get("number")):
        return None
    note = bool(record.get("note", False))
    sent_at = parse_sent_at(record.get("sent_at")) if not rules.blank(record.get("sent_at")) else None
    best: Record | None = None
    path = f"tickets/{int(record['number'])}/messages"
    for messages, _ in follow_next_page(client, path, {}, "messages"):
        for message in messages:
            if bool(message.get("note")) != note or not rules.same_body(body, message.get("plain_text_body") or ""):
                continue
            if _after(message.get("created_at"), since, sent_at):
                best = message  # listed oldest first: the last match is the latest
    return {"message": best} if best else None


def reconcile_webhook(client: ApiClient, record: Record, since: float | None = None) -> Record | None:
    hooks = GrooveHelpdesk(client).list_webhooks().get("webhooks", [])
    nexla = "event" not in record and "event_types" in record
    url_field = "url" if "url" in record or "webhook_url" not in record else "webhook_url"
    url = str(record.get(url_field) or "").strip()
    raw = record.get("event_types") if nexla else [record.get("event")]
    events = [e for i in (raw if isinstance(raw, list) else []) for e in canonical_events(i)]
    found = []
    for event in dict.fromkeys(events):
        hook = next(
            (h for h in hooks if h.get("event") == event and h.get("url") == url and h.get("state") == "active"), None
        )
        if hook is None:
            return None
        found.append(hook)
    if not found:
        return None
    return {"webhooks": found} if nexla else {"webhook": found[0]}


def reconcile_group(client: ApiClient, record: Record, since: float | None = None) -> Record | None:
    name = str(record.get("name") or "").strip().lower()
    groups = GrooveHelpdesk(client).list_groups().get("groups", [])
    match = next((g for g in groups if str(g.get("name") or "").strip().lower() == name), None)
    return {"group": match} if name and match else None


def reconcile_knowledge_base(client: ApiClient, record: Record, since: float | None = None) -> Record | None:
    kbs = GrooveHelpdesk(client).list_knowledge_bases().get("knowledge_bases", [])
    subdomain = str(record.get("subdomain") or "").strip().lower()
    if subdomain:
        match = next((k for k in kbs if k.get("subdomain") == subdomain), None)
    else:
        title = str(record.get("title") or record.get("name") or "").strip()
        matches = [k for k in kbs if k.get("title") == title and _after(k.get("created_at"), since)]
        match = matches[-1] if title and matches else None
    return {"knowledge_base": match} if match else None


def reconcile_article(client: ApiClient, record: Record, since: float | None = None) -> Record | None:
    title = str(record.get("title") or "").strip()
    if not title or rules.blank(record.get("kb_id")):
        return None
    best: Record | None = None
    for article in GrooveHelpdesk(client).iter_search_articles(str(record["kb_id"]), title):
        if str(article.get("title") or "").strip() != title or not _after(article.get("created_at"), since):
            continue
        if best is None or (rules.epoch(article.get("created_at")) or 0) >= (rules.epoch(best.get("created_at")) or 0):
            best = article
    return {"article": best} if best else None
