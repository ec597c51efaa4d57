"""Groove helpdesk destination actions: one per Nexla template (seed 002) plus tags and mailbox moves.

Records go through ``ActionSpec.prepare`` (drop empty values, then ``normalize``: Nexla's vocabulary
and CSV strings to Groove's types), ``validate`` (the emulator's rules, same field names) and
``build``. Creates carry a ``reconcile`` that looks the resource up after an unknown outcome and
returns it in the create response's envelope (``{"ticket": {...}}``), so ``id_path`` reads both.
How each create is found again is in ``reconcile.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ....client.actions import ActionSpec, FieldSpec, Normalizer, Problem
from ..contract import TICKET_STATES, is_email, strict_bool, unwrap
from ..contract.fields import ARTICLE_STATES, NAME_MAX, TITLE_MAX, is_http_url, is_webhook_url
from ..contract.settings import BOOL, KNOWLEDGE_BASE, WIDGET, flatten
from ..contract.webhooks import WEBHOOK_EVENTS, canonical_event, canonical_events
from . import rules
from .reconcile import (
    reconcile_article,
    reconcile_group,
    reconcile_knowledge_base,
    reconcile_message,
    reconcile_ticket,
    reconcile_webhook,
)

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
