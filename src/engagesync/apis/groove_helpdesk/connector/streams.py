"""Groove helpdesk source streams: schemas, primary keys and resumable page iteration.

State is always what to resume from *after* the page it comes with, and ``None`` on the last page:
- paged lists (customers): ``{"page": n}``; every Groove list is in a stable order (tickets by
  number, customers by id, KB documents by position) where new rows land at the end.
- tickets: ``{"page": n, "after_number": last}``; a resume re-reads page ``n`` but keeps only
  numbers after ``last``, stepping back a page when deletions shifted the list forward.
- messages (per ticket): ``{"tickets_page": tp, "number": t, "page": p}``: continue with the first
  ticket numbered ``>= t``; when it is ticket ``t`` itself, from its messages page ``p``. After one
  complete pass, the engine asks only for the tickets the tickets stream wrote since (new, or changed:
  ``updated_at`` and ``message_count`` are part of a ticket's content), via ``pages_of_parents``.
- KB categories/articles (per knowledge base): ``{"kb_id": id, "kb_index": i, "page": p}``.
- small unpaged lists (agents, groups, mailboxes, folders, webhooks, widgets, KBs): one page.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from ....client.errors import NotFoundError
from ....client.http import ApiClient
from ....client.paginate import DEFAULT_PER_PAGE, follow_next_page, page_of
from ....client.streams import Page, Stream, StreamSpec

V, B, BOOL, TS, J = "VARCHAR", "BIGINT", "BOOLEAN", "TIMESTAMPTZ", "JSON"
LIST = "VARCHAR[]"  # ids and tags: lists of strings

TICKET_COLUMNS = {
    "number": B,
    "id": V,
    "title": V,
    "state": V,
    "priority": V,
    "assignee": V,
    "assigned_group": V,
    "assigned_group_id": V,
    "customer_id": V,
    "mailbox": V,
    "mailbox_id": V,
    "starred": BOOL,
    "tags": LIST,
    "tag_ids": LIST,
    "message_count": B,
    "summary": V,
    "closed_by": V,
    "resolution_time": B,
    "created_at": TS,
    "updated_at": TS,
    "href": V,
    "links": J,
}
MESSAGE_COLUMNS = {
    "id": V,
    "ticket_number": B,
    "note": BOOL,
    "body": V,
    "plain_text_body": V,
    "created_at": TS,
    "updated_at": TS,
    "href": V,
    "links": J,
}
CUSTOMER_COLUMNS = {
    "id": V,
    "email": V,
    "name": V,
    "first_name": V,
    "last_name": V,
    "about": V,
    "twitter_username": V,
    "title": V,
    "company_name": V,
    "phone_number": V,
    "location": V,
    "website_url": V,
    "linkedin_username": V,
    "custom": J,
    "created_at": TS,
    "updated_at": TS,
    "href": V,
    "links": J,
}
AGENT_COLUMNS = {"id": V, "email": V, "first_name": V, "last_name": V, "role": V, "state": V, "href": V, "links": J}
GROUP_COLUMNS = {"id": V, "name": V, "description": V, "agent_ids": LIST, "href": V, "links": J}
MAILBOX_COLUMNS = {
    "id": V,
    "name": V,
    "email": V,
    "primary": BOOL,
    "created_at": TS,
    "updated_at": TS,
    "href": V,
    "links": J,
}
FOLDER_COLUMNS = {"id": V, "name": V, "mailbox_id": V, "links": J}
WEBHOOK_COLUMNS = {"id": V, "event": V, "url": V, "state": V, "created_at": TS, "href": V}
WIDGET_COLUMNS = {
    "id": V,
    "name": V,
    "uuid": V,
    "enabled": BOOL,
    "published_settings": J,
    "created_at": TS,
    "updated_at": TS,
    "href": V,
}
KB_COLUMNS = {
    "id": V,
    "title": V,
    "subdomain": V,
    "custom_domain": V,
    "language": V,
    "primary": BOOL,
    "site_url": V,
    "subdomain_url": V,
    "created_at": TS,
    "updated_at": TS,
    "href": V,
    "links": J,
}
_DOCUMENT = {
    "id": V,
    "knowledge_base_id": V,
    "title": V,
    "slug": V,
    "state": V,
    "description": V,
    "featured": BOOL,
    "position": B,
    "author_id": V,
    "meta_description": V,
    "meta_robots": V,
    "og_description": V,
    "og_image_url": V,
    "og_title": V,
    "page_title": V,
    "published_at": TS,
    "created_at": TS,
    "updated_at": TS,
}
CATEGORY_COLUMNS = {**_DOCUMENT, "articles_count": B, "article_ids": LIST, "cover_image_url": V}
ARTICLE_COLUMNS = {
    **_DOCUMENT,
    "category_id": V,
    "body": V,
    "tags": LIST,
    "related_ids": LIST,
    "ratings": J,
    "deleted_at": TS,
}


#: What a column means, wherever a Groove helpdesk stream has it (table and column comments in the store).
DOCS = {
    "id": "Groove's id of the record",
    "number": "The ticket's number, shown to agents and customers (the key of a ticket)",
    "title": "Title (a ticket's subject)",
    "state": "State: for a ticket unread, opened, pending, closed or spam",
    "priority": "Priority: low, medium, high or urgent",
    "assignee": "Email of the assigned agent",
    "assigned_group": "Name of the assigned group",
    "customer_id": "Id of the customer the ticket is with",
    "mailbox": "Name of the mailbox the ticket is in",
    "starred": "Whether an agent starred it",
    "tags": "Tag names",
    "tag_ids": "Tag ids, in the order of tags",
    "message_count": "Messages and notes on the ticket; a new one changes it (messages are pulled for such tickets)",
    "summary": "Groove's summary of the conversation",
    "closed_by": "Email of the agent who closed the ticket",
    "resolution_time": "Seconds from opening to closing",
    "ticket_number": "Number of the ticket this message is on",
    "note": "Whether the message is a private note (not sent to the customer)",
    "body": "Body as HTML",
    "plain_text_body": "Body as plain text",
    "email": "Email address",
    "name": "Name",
    "agent_ids": "Ids of the member agents",
    "knowledge_base_id": "Id of the knowledge base",
    "category_id": "Id of the article's category",
    "created_at": "When it was created (UTC)",
    "updated_at": "When it last changed (UTC)",
    "published_at": "When it was published (UTC)",
    "deleted_at": "When it was deleted at the source (UTC)",
    "href": "The API URL of the record",
    "links": "Links to related records, as the API gives them (JSON)",
    "custom": "Custom fields, free-form (JSON)",
    "primary": "Whether it is the primary one (the primary mailbox is the default for new tickets)",
    "mailbox_id": "Id of the mailbox",
    "assigned_group_id": "Id of the assigned group",
    "first_name": "First name",
    "last_name": "Last name",
    "role": "The agent's role",
    "description": "Description (free text)",
    "about": "Some text about the customer",
    "twitter_username": "The customer's twitter user name",
    "company_name": "The customer's company name",
    "phone_number": "The customer's phone number",
    "location": "The customer's location",
    "website_url": "The customer's website URL",
    "linkedin_username": "The customer's linkedin username",
    "event": "The event the webhook is called for, e.g. ticket_started",
    "url": "The URL Groove calls with the event",
    "uuid": "The widget's public uuid",
    "enabled": "Whether the widget is enabled",
    "published_settings": "The widget's published settings, as the API gives them (JSON)",
    "subdomain": "Subdomain of the knowledge base's site",
    "custom_domain": "Custom domain of the knowledge base's site, if any",
    "language": "Language of the knowledge base",
    "site_url": "URL of the knowledge base's site",
    "subdomain_url": "URL of the knowledge base's site on its subdomain",
    "slug": "URL slug",
    "featured": "Whether it is featured",
    "position": "Position in its list (the list's order)",
    "author_id": "Id of its author",
    "meta_description": "Meta description for search engines",
    "meta_robots": "Meta robots directive for search engines",
    "og_description": "Open Graph description (link previews)",
    "og_image_url": "Open Graph image URL (link previews)",
    "og_title": "Open Graph title (link previews)",
    "page_title": "Title of its web page",
    "articles_count": "Number of articles in the category",
    "article_ids": "Ids of the category's articles",
    "cover_image_url": "URL of the category's cover image",
    "related_ids": "Ids of related articles",
    "ratings": "Readers' ratings, as the API gives them (JSON)",
}


def _items(body: Any, key: str) -> list[dict[str, Any]]:
    raw = body.get(key) if isinstance(body, dict) else None
    return [i for i in raw if isinstance(i, dict)] if isinstance(raw, list) else []


@dataclass
class ListStream:
    """An unpaged list endpoint: one request, one page."""

    spec: StreamSpec
    path: str
    items_key: str

    def pages(self, client: ApiClient, state: dict[str, Any] | None) -> Iterator[Page]:
        yield Page(_items(client.get_json(self.path), self.items_key), None)


@dataclass
class PagedStream:
    """A ``page``/``per_page`` list following ``next_page``; state ``{"page": n}``."""

    spec: StreamSpec
    path: str
    items_key: str
    per_page: int = DEFAULT_PER_PAGE

    def pages(self, client: ApiClient, state: dict[str, Any] | None) -> Iterator[Page]:
        start = int((state or {}).get("page") or 1)
        params = {"page": start, "per_page": self.per_page}
        for items, next_url in follow_next_page(client, self.path, params, self.items_key):
            yield Page(items, {"page": page_of(next_url)} if next_url else None)


def _ticket_record(ticket: dict[str, Any]) -> dict[str, Any]:
    customer = (ticket.get("links") or {}).get("customer") or {}
    return {**ticket, "customer_id": ticket.get("customer_id", customer.get("id"))}


def _ticket_page_holding(client: ApiClient, page: int, number: int, per_page: int) -> tuple[int, int]:
    """(page, requests): the tickets page to resume from so that ticket ``number`` is not skipped.

    Pages are offsets; if tickets before ``number`` were deleted since the state was saved, the page
    now starts after it, so step back until the page starts at or before ``number``.
    """
    requests = 0
    while page > 1:
        body = client.get_json("tickets", {"page": page, "per_page": per_page})
        requests += 1
        items = _items(body, "tickets")
        if items and int(items[0]["number"]) <= number:
            break
        page -= 1
    return page, requests


@dataclass
class TicketsStream:
    spec: StreamSpec
    per_page: int = DEFAULT_PER_PAGE

    def pages(self, client: ApiClient, state: dict[str, Any] | None) -> Iterator[Page]:
        state = state or {}
        after = int(state.get("after_number") or 0)
        start, extra = int(state.get("page") or 1), 0
        if after and start > 1:
            start, extra = _ticket_page_holding(client, start, after + 1, self.per_page)
        params = {"page": start, "per_page": self.per_page}
        for items, next_url in follow_next_page(client, "tickets", params, "tickets"):
            records = [_ticket_record(t) for t in items if int(t["number"]) > after]
            if records:
                after = max(after, max(int(r["number"]) for r in records))
            next_state = {"page": page_of(next_url), "after_number": after} if next_url else None
            yield Page(records, next_state, requests=1 + extra)
            extra = 0


@dataclass
class MessagesStream:
    """Messages of every ticket, ticket by ticket in number order."""

    spec: StreamSpec
    per_page: int = DEFAULT_PER_PAGE
    tickets_per_page: int = DEFAULT_PER_PAGE

    def pages(self, client: ApiClient, state: dict[str, Any] | None) -> Iterator[Page]:
        state = state or {}
        first = int(state.get("number") or 1)
        first_page = int(state.get("page") or 1)
        tickets_page, spent = _ticket_page_holding(
            client, int(state.get("tickets_page") or 1), first, self.tickets_per_page
        )
        params = {"page": tickets_page, "per_page": self.tickets_per_page}
        for tickets, tickets_next in follow_next_page(client, "tickets", params, "tickets"):
            spent += 1
            next_tickets_page = page_of(tickets_next)
            numbers = [int(t["number"]) for t in tickets if int(t["number"]) >= first]
            for i, number in enumerate(numbers):
                after_ticket: dict[str, Any] | None = None
                if i + 1 < len(numbers):
                    after_ticket = {"tickets_page": tickets_page, "number": numbers[i + 1], "page": 1}
                elif next_tickets_page is not None:
                    after_ticket = {"tickets_page": next_tickets_page, "number": number + 1, "page": 1}
                start = first_page if number == first else 1
                first_page = 1  # only the ticket the state names resumes mid-way
                params = {"page": start, "per_page": self.per_page}
                try:
                    for messages, next_url in follow_next_page(
                        client, f"tickets/{number}/messages", params, "messages"
                    ):
                        records = [{**m, "ticket_number": number} for m in messages]
                        next_state = (
                            {"tickets_page": tickets_page, "number": number, "page": page_of(next_url)}
                            if next_url
                            else after_ticket
                        )
                        yield Page(records, next_state, requests=1 + spent)
                        spent = 0
                except NotFoundError:  # the ticket was deleted while we were paging: nothing to pull
                    yield Page([], after_ticket, requests=1 + spent)
                    spent = 0
            if not numbers and next_tickets_page is None:
                yield Page([], None, requests=spent)
            if next_tickets_page is not None:
                tickets_page = next_tickets_page
            first = max(first, numbers[-1] + 1) if numbers else first

    def pages_of_parents(self, client: ApiClient, state: dict[str, Any] | None, keys: Sequence[Any]) -> Iterator[Page]:
        """Messages of the given tickets only (the changed ones); state ``{"number": t, "page": p}``:
        continue with the first of ``keys`` numbered ``>= t``, ticket ``t`` itself from page ``p``."""
        state = state or {}
        first = int(state.get("number") or 0)
        first_page = int(state.get("page") or 1)
        numbers = sorted(int(k) for k in keys if int(k) >= first)
        if not numbers:
            yield Page([], None, requests=0)
            return
        for i, number in enumerate(numbers):
            after: dict[str, Any] | None = {"number": numbers[i + 1], "page": 1} if i + 1 < len(numbers) else None
            params = {"page": first_page if number == first else 1, "per_page": self.per_page}
            try:
                for messages, next_url in follow_next_page(client, f"tickets/{number}/messages", params, "messages"):
                    next_state = {"number": number, "page": page_of(next_url)} if next_url else after
                    yield Page([{**m, "ticket_number": number} for m in messages], next_state)
            except NotFoundError:  # deleted since the tickets pull: nothing to fetch
                yield Page([], after)


@dataclass
class KbChildStream:
    """Categories or articles of every knowledge base, one knowledge base after another."""

    spec: StreamSpec
    child: str  # "categories" | "articles"
    per_page: int = DEFAULT_PER_PAGE

    def pages(self, client: ApiClient, state: dict[str, Any] | None) -> Iterator[Page]:
        state = state or {}
        kbs = _items(client.get_json("kb"), "knowledge_bases")
        ids = [str(k["id"]) for k in kbs]
        index = 0
        if state.get("kb_id") is not None:
            kb_id = str(state["kb_id"])
            index = ids.index(kb_id) if kb_id in ids else int(state.get("kb_index") or 0)
        page = int(state.get("page") or 1) if state.get("kb_id") in ids else 1
        spent = 1
        if index >= len(ids):
            yield Page([], None, requests=spent)
            return
        for i in range(index, len(ids)):
            kb_id = ids[i]
            params = {"page": page if i == index else 1, "per_page": self.per_page}
            try:
                for items, next_url in follow_next_page(client, f"kb/{kb_id}/{self.child}", params, self.child):
                    if next_url:
                        next_state: dict[str, Any] | None = {"kb_id": kb_id, "kb_index": i, "page": page_of(next_url)}
                    elif i + 1 < len(ids):
                        next_state = {"kb_id": ids[i + 1], "kb_index": i + 1, "page": 1}
                    else:
                        next_state = None
                    yield Page(items, next_state, requests=1 + spent)
                    spent = 0
            except NotFoundError:
                nxt = {"kb_id": ids[i + 1], "kb_index": i + 1, "page": 1} if i + 1 < len(ids) else None
                yield Page([], nxt, requests=1 + spent)
                spent = 0


def streams(per_page: int = DEFAULT_PER_PAGE) -> dict[str, Stream]:
    """Every Groove helpdesk stream by name, in pull order (parents before their children)."""

    def spec(name: str, pk: str, columns: dict[str, str], description: str, parent: str | None = None) -> StreamSpec:
        docs = {c: DOCS[c] for c in columns if c in DOCS}
        return StreamSpec(
            name=name, primary_key=(pk,), columns=columns, description=description, parent=parent, docs=docs
        )

    out: list[Stream] = [
        ListStream(
            spec("mailboxes", "id", MAILBOX_COLUMNS, "Mailboxes (inboxes), primary first"), "mailboxes", "mailboxes"
        ),
        ListStream(spec("folders", "id", FOLDER_COLUMNS, "Folders (saved ticket views)"), "folders", "folders"),
        ListStream(spec("agents", "id", AGENT_COLUMNS, "Agents of the account, archived included"), "agents", "agents"),
        ListStream(spec("groups", "id", GROUP_COLUMNS, "Agent groups with their member ids"), "groups", "groups"),
        PagedStream(spec("customers", "id", CUSTOMER_COLUMNS, "Customers, by id"), "customers", "customers", per_page),
        TicketsStream(spec("tickets", "number", TICKET_COLUMNS, "Tickets, by number"), per_page),
        MessagesStream(
            spec("messages", "id", MESSAGE_COLUMNS, "Messages and notes of every ticket", "tickets"), per_page, per_page
        ),
        ListStream(spec("webhooks", "id", WEBHOOK_COLUMNS, "Registered webhooks"), "webhooks", "webhooks"),
        ListStream(spec("widgets", "id", WIDGET_COLUMNS, "Embeddable widgets"), "widgets", "widgets"),
        ListStream(spec("knowledge_bases", "id", KB_COLUMNS, "Knowledge bases"), "kb", "knowledge_bases"),
        KbChildStream(
            spec("kb_categories", "id", CATEGORY_COLUMNS, "Categories of every knowledge base", "knowledge_bases"),
            "categories",
            per_page,
        ),
        KbChildStream(
            spec("kb_articles", "id", ARTICLE_COLUMNS, "Articles of every knowledge base", "knowledge_bases"),
            "articles",
            per_page,
        ),
    ]
    return {s.spec.name: s for s in out}
