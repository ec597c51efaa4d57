"""Groove's request rules as the connector checks them locally, before sending.

Every rule the emulator also enforces lives in ``contract`` and is imported here, so both sides run
the same code: states, emails, booleans and dates (``contract``), name/title lengths, article states,
URLs and knowledge-base addresses (``contract.fields``), the widget and knowledge-base setting tables
and the check for each kind (``contract.settings``), message HTML handling (``contract.text``) and
webhook event names and aliases (``contract.webhooks``). What stays here is connector-only: reading
a whole record into ``(field, message)`` problems without the account's data (id references are not
looked up), and comparing bodies for reconciliation. ``tests/groove_helpdesk/test_connector*.py``
still sends the same bad rows to the emulator and checks both sides name the same fields.
"""

from __future__ import annotations

from typing import Any

from ....timefmt import to_epoch
from ..contract import fields, is_email, parse_bool, parse_sent_at, strict_bool
from ..contract.settings import KNOWLEDGE_BASE, SettingTable, check_settings
from ..contract.text import SUMMARY_LENGTH, compact, plain_text

Problem = tuple[str, str]


def blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def same_body(sent: str, stored_plain: str) -> bool:
    return compact(plain_text(sent)) == compact(stored_plain)


def summary_matches(sent: str, summary: str) -> bool:
    """Is ``summary`` (the first 100 characters of the first message) the summary of body ``sent``?"""
    plain = plain_text(sent)
    want, got = compact(plain), compact(summary)
    if not got:
        return not want
    if len(" ".join(plain.split())) <= SUMMARY_LENGTH:
        return want == got
    return want.startswith(got)


def epoch(iso: Any) -> float | None:
    """A rendered time (``created_at``...) in epoch seconds; offset-less is UTC (``timefmt``)."""
    return to_epoch(iso)


def flag(value: Any) -> bool | None:
    """Ticket and message flags: ``contract.parse_bool`` (true/false, 1/0, yes/no)."""
    return parse_bool(value)


def customer_problems(value: Any, field: str) -> list[Problem]:
    """``from``/``to``: an email, or a hash of customer attributes with an ``email``."""
    if isinstance(value, str):
        if not value.strip():
            return [(field, "can't be blank")]
        return [] if is_email(value) else [(field, f"is not a valid email address (got {value!r})")]
    if isinstance(value, dict):
        email = value.get("email")
        if not isinstance(email, str) or not email.strip():
            return [(f"{field}[email]", "can't be blank")]
        return [] if is_email(email) else [(f"{field}[email]", f"is not a valid email address (got {email!r})")]
    return [(field, "must be an email address or a hash of customer attributes")]


def sent_at_problems(record: dict[str, Any], field: str = "sent_at") -> list[Problem]:
    if blank(record.get(field)) or parse_sent_at(record[field]) is not None:
        return []
    return [
        (
            field,
            f"is not a valid date (got {record[field]!r}; RFC-822 preferred, e.g. 'Tue, 17 Jul 2012 13:41:01 +0000')",
        )
    ]


def tag_list_problems(value: Any, field: str = "tags") -> list[Problem]:
    if isinstance(value, list) and any(not isinstance(i, str | int) or not str(i).strip() for i in value):
        return [(field, "must be an array of non-empty tag names")]
    return []


def id_list_problems(value: Any, field: str, what: str = "ids") -> list[Problem]:
    if not isinstance(value, list):
        return []
    for item in value:
        if isinstance(item, dict):
            item = item.get("id") or item.get("email")
        if isinstance(item, bool) or not isinstance(item, str | int) or not str(item).strip():
            return [(field, f"must be an array of {what}")]
    return []


def text_problems(record: dict[str, Any], field: str, max_len: int, required: bool = False) -> list[Problem]:
    if field not in record:
        return [(field, "can't be blank")] if required else []
    value = record[field]
    if value is not None and not isinstance(value, str):
        return [(field, "must be a string")]
    if required and blank(value):
        return [(field, "can't be blank")]
    if isinstance(value, str) and len(value.strip()) > max_len:
        return [(field, f"is too long (maximum is {max_len} characters)")]
    return []


def settings_problems(body: dict[str, Any], table: SettingTable, *, strict: bool) -> list[Problem]:
    """Why the setting values in ``body`` would be refused (references are the server's to check)."""
    return check_settings(table, body, strict=strict)[1]


def kb_settings_consistency(body: dict[str, Any]) -> list[Problem]:
    """What can be told without the stored settings: switching a gate on with nothing to gate by."""
    problems: list[Problem] = []
    if strict_bool(body.get("password_enabled")) and "password" in body and blank(body["password"]):
        problems.append(("password", "can't be blank when password_enabled is true"))
    if strict_bool(body.get("ip_addresses_enabled")) and "ip_addresses" in body and not body["ip_addresses"]:
        problems.append(("ip_addresses", "can't be empty when ip_addresses_enabled is true"))
    return problems


def kb_field_problems(record: dict[str, Any], creating: bool) -> list[Problem]:
    problems: list[Problem] = []
    if "settings" in record and not isinstance(record["settings"], dict):
        problems.append(("settings", "must be an object of knowledge base settings"))
    key = "title" if "title" in record or "name" not in record else "name"
    problems += text_problems(record, key, fields.TITLE_MAX, required=creating or key in record)
    subdomain = record.get("subdomain")
    if subdomain is not None and not isinstance(subdomain, str):
        problems.append(("subdomain", "must be a string"))
    elif isinstance(subdomain, str) and subdomain.strip() and not fields.SUBDOMAIN.match(subdomain.strip().lower()):
        problems.append(("subdomain", fields.SUBDOMAIN_MESSAGE))
    domain = record.get("custom_domain")
    if isinstance(domain, str) and domain.strip() and not fields.HOSTNAME.match(domain.strip().lower()):
        problems.append(("custom_domain", fields.HOSTNAME_MESSAGE))
    language = record.get("language")
    if "language" in record and not (isinstance(language, str) and fields.LANGUAGE.match(language.strip())):
        problems.append(("language", fields.LANGUAGE_MESSAGE))
    top = {k: v for k, v in record.items() if k in KNOWLEDGE_BASE.kinds}
    nested = record.get("settings") if isinstance(record.get("settings"), dict) else {}
    problems += settings_problems({**top, **(nested or {})}, KNOWLEDGE_BASE, strict="settings" in record)
    return problems
