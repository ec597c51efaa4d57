"""Groove helpdesk destination actions: one per Nexla template (seed 002) plus tags and mailbox moves.

Records go through ``ActionSpec.prepare`` (drop empty values, then ``normalize``: Nexla's vocabulary
and CSV strings to Groove's types), ``validate`` (the emulator's rules, same field names) and
``build``. Creates carry a ``reconcile`` that looks the resource up after an unknown outcome and
returns it in the create response's envelope (``{"ticket": {...}}``), so ``id_path`` reads both.

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

from collections.abc import Callable, Iterable
from typing import Any

from ....client.actions import ActionSpec, FieldSpec, Normalizer, Problem
from ....client.http import ApiClient
from ....client.paginate import follow_next_page
from ..contract import TICKET_STATES, is_email, parse_sent_at, strict_bool, unwrap
from ..contract.fields import ARTICLE_STATES, NAME_MAX, TITLE_MAX, is_http_url, is_webhook_url
from ..contract.settings import BOOL, KNOWLEDGE_BASE, WIDGET, flatten
from ..contract.webhooks import WEBHOOK_EVENTS, canonical_event, canonical_events
from . import rules
from .client import GrooveHelpdesk

Record = dict[str, Any]

#: Nexla's template vocabulary -> Groove's.
STATE_SYNONYMS = {"open": "opened"}


# -- normalizers -----------------------------------------------------------------------------------
def _normalizer(
    *,
    flags: Iterable[str] = (),
    strict_flags: Iterable[str] = (),
    lists: Iterable[str] = (),
    renames: dict[str, str] | None = None,
    lower: Iterable[str] = (),
    synonyms: dict[str, dict[str, str]] | None = None,
) -> Normalizer:
    """CSV strings to Groove types: flags to booleans, comma lists to arrays, aliases to Groove names."""
    flags, strict_flags, lists, lower = tuple(flags), tuple(strict_flags), tuple(lists), tuple(lower)

    def normalize(record: Record) -> Record:
        out = dict(record)
        for alias, name in (renames or {}).items():
            if alias in out and name not in out:
                out[name] = out.pop(alias)
        for name in flags:
            if isinstance(out.get(name), str | int) and (value := rules.flag(out[name])) is not None:
                out[name] = value
        for name in strict_flags:
            if isinstance(out.get(name), str) and (value := strict_bool(out[name])) is not None:
                out[name] = value
        for name in lists:
            if isinstance(out.get(name), str):
                out[name] = [part.strip() for part in out[name].split(",") if part.strip()]
        for name in lower:
            if isinstance(out.get(name), str):
                value = out[name].strip().lower()
                out[name] = (synonyms or {}).get(name, {}).get(value, value)
        return out

    return normalize


# -- field specs -----------------------------------------------------------------------------------
def f(
    name: str,
    description: str,
    type: str = "string",
    required: bool = False,
    path: bool = False,
    enum: tuple[str, ...] | None = None,
) -> FieldSpec:
    return FieldSpec(name=name, description=description, required=required, type=type, enum=enum, path=path)


NUMBER = f("number", "Ticket number (URL path); shown in the Groove inbox and ticket URL", "integer", True, True)
SKIP = f("skip_notifications", "Skip agent notifications", "boolean")
TICKET_FLAGS = ("note", "send_copy_to_customer", "skip_notifications", "starred")


# -- reconcilers -----------------------------------------------------------------------------------
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


# -- validators ------------------------------------------------------------------------------------
def _ticket_create(record: Record) -> list[Problem]:
    problems: list[Problem] = []
    if not isinstance(record.get("body"), str) or rules.blank(record.get("body")):
        problems.append(("body", "can't be blank"))
    problems += rules.customer_problems(record.get("from"), "from")
    to = record.get("to")
    if rules.blank(to):
        if rules.blank(record.get("mailbox")):
            problems.append(("to", "can't be blank (give the mailbox email, or the mailbox parameter)"))
    elif isinstance(to, str) and not is_email(to):
        problems.append(("to", f"is not a valid email address (got {to!r})"))
    elif isinstance(to, dict):
        problems += rules.customer_problems(to, "to")
    if "subject" in record and not isinstance(record["subject"], str):
        problems.append(("subject", "must be a string"))
    problems += rules.sent_at_problems(record)
    problems += rules.tag_list_problems(record.get("tags"))
    return problems


def _message_create(record: Record) -> list[Problem]:
    problems: list[Problem] = []
    if not isinstance(record.get("body"), str) or rules.blank(record.get("body")):
        problems.append(("body", "can't be blank"))
    return problems + rules.sent_at_problems(record)


def _webhook(record: Record) -> list[Problem]:
    problems: list[Problem] = []
    url_field = "url" if "url" in record or "webhook_url" not in record else "webhook_url"
    url = record.get(url_field)
    if rules.blank(url):
        problems.append((url_field, "can't be blank"))
    elif not is_webhook_url(url):
        problems.append((url_field, f"must be an http(s) URL (got {url!r})"))
    if "event" not in record and "event_types" in record:
        items = record["event_types"]
        if not isinstance(items, list) or not items:
            problems.append(("event_types", "can't be blank (an array of event names)"))
        elif any(not canonical_events(e) for e in items):
            bad = ", ".join(repr(e) for e in items if not canonical_events(e))
            problems.append(
                ("event_types", f"contains unknown event(s) {bad}; known events: {', '.join(WEBHOOK_EVENTS)}")
            )
    elif rules.blank(record.get("event")):
        problems.append(("event", "can't be blank"))
    elif canonical_event(record["event"]) is None:
        problems.append(
            ("event", f"is not a webhook event: {record['event']!r}; known events: {', '.join(WEBHOOK_EVENTS)}")
        )
    return problems


def _group(creating: bool) -> Callable[[Record], list[Problem]]:
    def validate(record: Record) -> list[Problem]:
        problems = rules.text_problems(record, "name", NAME_MAX, required=creating or "name" in record)
        if "description" in record and record["description"] is not None and not isinstance(record["description"], str):
            problems.append(("description", "must be a string"))
        if "agents" in record and "agent_ids" in record:
            problems.append(("agent_ids", "can't be given together with agents"))
        for key in ("agents", "agent_ids"):
            problems += rules.id_list_problems(record.get(key), key, "agent emails or ids")
        return problems

    return validate


def _kb(creating: bool) -> Callable[[Record], list[Problem]]:
    return lambda record: rules.kb_field_problems(record, creating)


def _kb_settings(record: Record) -> list[Problem]:
    body = unwrap({k: v for k, v in record.items() if k != "id"}, "settings")
    return rules.settings_problems(body, KNOWLEDGE_BASE, strict=True) + rules.kb_settings_consistency(body)


def _article(creating: bool) -> Callable[[Record], list[Problem]]:
    def validate(record: Record) -> list[Problem]:
        body = unwrap(record, "article")
        problems = rules.text_problems(body, "title", TITLE_MAX, required=creating or "title" in body)
        if "body" in body and body["body"] is not None and not isinstance(body["body"], str):
            problems.append(("body", "must be a string"))
        if isinstance(body.get("tags"), list) and not all(isinstance(t, str) for t in body["tags"]):
            problems.append(("tags", "must be an array of tag names"))
        problems += rules.id_list_problems(body.get("related_ids"), "related_ids")
        for key in ("og_image_url",):
            if body.get(key) not in (None, "") and not is_http_url(body[key]):
                problems.append((key, "must be an http(s) URL"))
        return problems

    return validate


def _widget_settings(record: Record) -> list[Problem]:
    body = flatten(unwrap({k: v for k, v in record.items() if k != "id"}, "settings"), WIDGET.kinds)
    return rules.settings_problems(body, WIDGET, strict=True)


def _widget(record: Record) -> list[Problem]:
    return rules.text_problems(record, "name", NAME_MAX, required="name" in record)


def _tags(record: Record) -> list[Problem]:
    return rules.tag_list_problems(record.get("tags"))


# -- the actions -----------------------------------------------------------------------------------
def actions() -> dict[str, ActionSpec]:
    """Every Groove helpdesk destination action by name."""
    state_norm = {"state": STATE_SYNONYMS}
    ticket_fields = (
        f("body", "Content of the first message (HTML or plain text)", required=True),
        f(
            "from",
            "Customer email (or hash of customer attributes) who sent it; an agent email for agent tickets",
            "any",
            True,
        ),
        f("to", "Mailbox or agent email the ticket is addressed to; the customer when from is an agent", "any"),
        f("mailbox", "Mailbox email or id to create the ticket in (required unless to is given)"),
        f("subject", "Email subject"),
        f("assignee", "Agent email or id to assign"),
        f("assigned_group", "Group name or id to assign"),
        f("sent_at", "Created/updated time in the past (RFC-822 preferred, ISO-8601 accepted)"),
        f("note", "Agent tickets: add the body as a private note", "boolean"),
        f("send_copy_to_customer", "Agent tickets: email the message to the customer", "boolean"),
        f("state", "Initial state (Nexla's open means opened)", enum=TICKET_STATES),
        f("tags", "Tag names (a list, or comma-separated)", "array"),
        f("starred", "Star the ticket", "boolean"),
        SKIP,
    )
    specs = [
        ActionSpec(
            "create_ticket",
            "Create a Ticket",
            "POST",
            "tickets",
            ticket_fields,
            "Opens a new ticket from a customer (body, from, and mailbox or to).",
            creates=True,
            validate_extra=_ticket_create,
            reconcile=reconcile_ticket,
            id_path="ticket.number",
            normalize=_normalizer(flags=TICKET_FLAGS, lists=("tags",), lower=("state",), synonyms=state_norm),
        ),
        ActionSpec(
            "update_ticket_state",
            "Update Ticket State",
            "PUT",
            "tickets/{number}/state",
            (
                NUMBER,
                f(
                    "state",
                    "New state: unread, opened (Nexla: open), pending, closed or spam",
                    required=True,
                    enum=TICKET_STATES,
                ),
            ),
            "Opens, closes or sets a ticket pending.",
            normalize=_normalizer(lower=("state",), synonyms=state_norm),
        ),
        ActionSpec(
            "update_ticket_assignee",
            "Update Ticket Assignee",
            "PUT",
            "tickets/{number}/assignee",
            (NUMBER, f("assignee", "Agent email or id (List Agents); agent_id is accepted too", required=True), SKIP),
            "Assigns a ticket to an agent.",
            normalize=_normalizer(flags=("skip_notifications",), renames={"agent_id": "assignee", "agent": "assignee"}),
        ),
        ActionSpec(
            "update_ticket_assigned_group",
            "Update Ticket Assigned Group",
            "PUT",
            "tickets/{number}/assigned_group",
            (NUMBER, f("group", "Group id or name (List Groups); group_id is accepted too", required=True), SKIP),
            "Routes a ticket to an agent group.",
            normalize=_normalizer(
                flags=("skip_notifications",), renames={"group_id": "group", "assigned_group": "group"}
            ),
        ),
        ActionSpec(
            "create_message",
            "Create Message",
            "POST",
            "tickets/{number}/messages",
            (
                NUMBER,
                f("body", "Message text (HTML or plain)", required=True),
                f("note", "true for a private agent note instead of a reply", "boolean"),
                f("author", "Agent email or id (or the ticket's customer) writing it; default: the assignee"),
                f("send_copy_to_customer", "Email the reply to the customer", "boolean"),
                f("sent_at", "Time in the past (RFC-822 preferred)"),
            ),
            "Adds a reply or a private note to a ticket.",
            creates=True,
            validate_extra=_message_create,
            reconcile=reconcile_message,
            id_path="message.id",
            normalize=_normalizer(flags=("note", "send_copy_to_customer")),
        ),
        ActionSpec(
            "create_webhook",
            "Create Webhook",
            "POST",
            "webhooks",
            (
                f("event", "Groove event name (ticket_started...); or use event_types"),
                f("url", "Receiver URL (with event); or use webhook_url"),
                f("webhook_url", "Nexla: receiver URL"),
                f("event_types", "Nexla: event names (ticket.created, ticket_closed...); one webhook each", "array"),
            ),
            "Registers a webhook: {event, url} (Groove) or {webhook_url, event_types} (Nexla).",
            creates=True,
            validate_extra=_webhook,
            reconcile=reconcile_webhook,
            id_path="webhook.id",
            normalize=_normalizer(lists=("event_types",)),
        ),
        ActionSpec(
            "create_group",
            "Create Group",
            "POST",
            "groups",
            (
                f("name", "Group name (unique)", required=True),
                f("description", "Description"),
                f("agent_ids", "Member agent ids or emails (Nexla)", "array"),
                f("agents", "Member agent emails or ids (Groove)", "array"),
            ),
            "Creates an agent group.",
            creates=True,
            validate_extra=_group(True),
            reconcile=reconcile_group,
            id_path="group.id",
            normalize=_normalizer(lists=("agent_ids", "agents")),
        ),
        ActionSpec(
            "update_group",
            "Update Group",
            "PUT",
            "groups/{id}",
            (
                f("id", "Group id (List Groups)", required=True, path=True),
                f("name", "Group name"),
                f("description", "Description"),
                f("agent_ids", "Members: agent ids or emails (replaces)", "array"),
                f("agents", "Members: agent emails or ids (replaces)", "array"),
            ),
            "Renames a group or replaces its members.",
            validate_extra=_group(False),
            id_path="group.id",
            normalize=_normalizer(lists=("agent_ids", "agents")),
        ),
        ActionSpec(
            "create_knowledge_base",
            "Create Knowledge Base",
            "POST",
            "kb",
            (
                f("title", "Knowledge base name (name is accepted too)"),
                f("name", "Alias of title"),
                f("subdomain", "groove.help subdomain (3-63 lowercase letters, digits, hyphens)"),
                f("custom_domain", "Own host name, e.g. help.example.com"),
                f("language", "RFC 5646 code, e.g. en or pt-BR"),
                f("settings", "Initial display settings (see update_knowledge_base_settings)", "object"),
            ),
            "Creates a knowledge base.",
            creates=True,
            validate_extra=_kb(True),
            reconcile=reconcile_knowledge_base,
            id_path="knowledge_base.id",
        ),
        ActionSpec(
            "update_knowledge_base",
            "Update Knowledge Base",
            "PUT",
            "kb/{id}",
            (
                f("id", "Knowledge base id (List Knowledge Bases)", required=True, path=True),
                f("title", "Name"),
                f("name", "Alias of title"),
                f("subdomain", "groove.help subdomain"),
                f("custom_domain", "Own host name"),
                f("language", "RFC 5646 language code"),
                f("settings", "Display settings to change", "object"),
            ),
            "Updates a knowledge base's name, addresses or language.",
            validate_extra=_kb(False),
            id_path="knowledge_base.id",
        ),
        ActionSpec(
            "update_knowledge_base_settings",
            "Update Knowledge Base Settings",
            "PUT",
            "kb/{id}/settings",
            (
                f("id", "Knowledge base id", required=True, path=True),
                *(f(k, f"Setting {k}", "any") for k in KNOWLEDGE_BASE.kinds),
            ),
            "Updates branding, layout, visibility and SEO settings; every other column is a setting.",
            validate_extra=_kb_settings,
            normalize=_normalizer(
                strict_flags=[k for k, v in KNOWLEDGE_BASE.kinds.items() if v == BOOL], lists=("ip_addresses",)
            ),
        ),
        ActionSpec(
            "create_article",
            "Create Article",
            "POST",
            "kb/{kb_id}/articles",
            (
                f("kb_id", "Knowledge base id (URL path)", required=True, path=True),
                f("title", "Article title", required=True),
                f("body", "Article body (HTML)"),
                f("state", "published or draft (default draft)", enum=ARTICLE_STATES),
                f("category_id", "Category id in this knowledge base"),
                f("description", "Short description"),
                f("tags", "Tag names", "array"),
                f("featured", "Feature the article", "boolean"),
                f("slug", "URL slug (default: from the title)"),
                f("related_ids", "Related article ids", "array"),
                f("author_id", "Agent id or email (default: the account owner)"),
            ),
            "Creates an article in a knowledge base.",
            creates=True,
            validate_extra=_article(True),
            reconcile=reconcile_article,
            id_path="article.id",
            normalize=_normalizer(strict_flags=("featured",), lists=("tags", "related_ids"), lower=("state",)),
        ),
        ActionSpec(
            "update_article",
            "Update Article",
            "PUT",
            "kb/{kb_id}/articles/{article_id}",
            (
                f("kb_id", "Knowledge base id", required=True, path=True),
                f("article_id", "Article id (Search Articles)", required=True, path=True),
                f("title", "Article title"),
                f("body", "Article body (HTML)"),
                f("state", "published or draft", enum=ARTICLE_STATES),
                f("category_id", "Category id"),
                f("description", "Short description"),
                f("tags", "Tag names", "array"),
                f("featured", "Feature the article", "boolean"),
                f("slug", "URL slug"),
                f("related_ids", "Related article ids", "array"),
            ),
            "Updates an article.",
            validate_extra=_article(False),
            id_path="article.id",
            normalize=_normalizer(strict_flags=("featured",), lists=("tags", "related_ids"), lower=("state",)),
        ),
        ActionSpec(
            "update_widget",
            "Update Widget",
            "PUT",
            "widgets/{id}",
            (
                f("id", "Widget id (List Widgets)", required=True, path=True),
                f("name", "Widget name"),
                f("enabled", "Live on/off switch", "boolean"),
            ),
            "Renames a widget or switches it on or off.",
            validate_extra=_widget,
            id_path="widget.id",
            normalize=_normalizer(strict_flags=("enabled",)),
        ),
        ActionSpec(
            "update_widget_settings",
            "Update Widget Settings",
            "PUT",
            "widgets/{id}/settings",
            (f("id", "Widget id", required=True, path=True), *(f(k, f"Setting {k}", "any") for k in WIDGET.kinds)),
            "Updates appearance, behaviour and KB settings; every other column is a setting "
            "(published=true publishes them).",
            validate_extra=_widget_settings,
            normalize=_normalizer(strict_flags=[k for k, v in WIDGET.kinds.items() if v == BOOL]),
        ),
        ActionSpec(
            "add_tags",
            "Add Tags",
            "POST",
            "tickets/{number}/tags",
            (NUMBER, f("tags", "Tag names to add (a list, or comma-separated)", "array", True)),
            "Adds labels to a ticket.",
            validate_extra=_tags,
            id_path="ticket.number",
            normalize=_normalizer(lists=("tags",)),
            extra={"idempotent": True},
        ),
        ActionSpec(
            "replace_tags",
            "Replace Tags",
            "PUT",
            "tickets/{number}/tags",
            (NUMBER, f("tags", "The ticket's new labels (replaces all)", "array", True)),
            "Replaces every label of a ticket.",
            validate_extra=_tags,
            normalize=_normalizer(lists=("tags",)),
        ),
        ActionSpec(
            "change_mailbox",
            "Change Mailbox",
            "POST",
            "tickets/{number}/change_mailbox/{mailbox_id}",
            (NUMBER, f("mailbox_id", "Mailbox id or email to move the ticket to (URL path)", required=True, path=True)),
            "Moves a ticket to another mailbox.",
            extra={"idempotent": True},
        ),
    ]
    return {spec.name: spec for spec in specs}
