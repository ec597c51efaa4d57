"""Groove's request rules as the connector checks them locally, mirroring the emulator's.

Most rules come from ``contract`` (states, emails, booleans, dates). The few that still live only in
the emulator (webhook event names, widget and knowledge-base setting kinds, message HTML handling)
are restated here; ``tests/groove_helpdesk/test_connector*.py`` sends the same bad rows to the
emulator and checks both sides name the same fields, so the two copies cannot drift unnoticed.
"""

from __future__ import annotations

import html
import ipaddress
import re
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from ..contract import WEBHOOK_EVENTS, is_email, parse_bool, parse_sent_at

Problem = tuple[str, str]

#: Event names integrations use for a documented one (Nexla writes ``ticket.created``).
EVENT_ALIASES = {"ticket_created": "ticket_started", "ticket_new": "ticket_started"}
ARTICLE_STATES = ("draft", "published")
NAME_MAX = 255
TITLE_MAX = 255

BOOL, TEXT, REF, URL, COLOR, RGB, ZINDEX, IPS, ROBOTS, THEME = (
    "bool", "text", "ref", "url", "color", "rgb", "zindex", "ips", "robots", "theme")
WIDGET_SETTINGS: dict[str, str | tuple[str, ...]] = {
    "branding_disabled": BOOL, "enabled": BOOL, "published": BOOL,
    "contact.article_suggestions_enabled": BOOL, "contact.attachments_enabled": BOOL,
    "contact.consent_enabled": BOOL, "contact.consent_optin_enabled": BOOL, "contact.consent_optin_selected": BOOL,
    "contact.enabled": BOOL, "contact.id": REF, "contact.name_field_enabled": BOOL,
    "contact.subject_field_enabled": BOOL, "icon": TEXT, "icon_display": ("icon", "text", "both"),
    "icon_position": ("left", "right"), "icon_style": TEXT, "icon_text": TEXT, "widget_style": TEXT,
    "z_index": ZINDEX, "kb.enabled": BOOL, "kb.id": REF, "kb.url": URL, "kb.featured_enabled": BOOL,
    "kb.ratings_enabled": BOOL, "kb.ratings_count_enabled": BOOL, "kb.ratings_negative_action_enabled": BOOL,
    "kb.ratings_negative_action_kb_enabled": BOOL, "kb.ratings_negative_action_contact_enabled": BOOL,
    "primary_color": COLOR, "primary_color_rgb": RGB, "logo_image_url": URL,
}
KB_SETTINGS: dict[str, str | tuple[str, ...]] = {
    "enabled": BOOL, "password_enabled": BOOL, "password": TEXT, "ip_addresses_enabled": BOOL, "ip_addresses": IPS,
    "redirect_legacy": BOOL, "theme_id": THEME, "ratings_enabled": BOOL, "ratings_type": ("emoji", "upvote"),
    "primary_color": COLOR, "logo_url": URL, "favicon_url": URL, "branding_disabled": BOOL, "custom_css": TEXT,
    "custom_scripts_enabled": BOOL, "ga_code": TEXT, "ga_anonymized": BOOL, "meta_description": TEXT,
    "meta_robots": ROBOTS, "page_title": TEXT, "og_title": TEXT, "og_description": TEXT, "og_image_url": URL,
}
ROBOTS_TOKENS = ("INDEX", "NOINDEX", "FOLLOW", "NOFOLLOW", "NOARCHIVE", "NOSNIPPET", "NOIMAGEINDEX", "NONE", "ALL")
SUBDOMAIN = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
HOSTNAME = re.compile(r"^(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
LANGUAGE = re.compile(r"^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8})*$")
_HEX = re.compile(r"^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
_RGB = re.compile(r"^\s*(\d{1,3})\s*,\s*(\d{1,3})\s*,\s*(\d{1,3})\s*$")

# How Groove turns a message body into plain text (HTML if it has one of these tags).
_HTML_TAG = re.compile(
    r"<\s*/?\s*(br|p|div|span|a|b|i|u|strong|em|ul|ol|li|table|tr|td|img|h[1-6]|blockquote|pre|"
    r"code|hr|html|body)\b[^>]*>", re.IGNORECASE)
_BREAK = re.compile(r"<\s*br\s*/?\s*>|<\s*/\s*(p|div|li|h[1-6]|tr|blockquote|pre)\s*>", re.IGNORECASE)
_ANY_TAG = re.compile(r"<[^>]+>")
SUMMARY_LENGTH = 100


def blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def plain_text(text: str) -> str:
    """The ``plain_text_body`` Groove stores for a body (HTML stripped; plain text kept as is)."""
    text = text.replace("\r\n", "\n")
    if not _HTML_TAG.search(text):
        return text
    plain = html.unescape(_ANY_TAG.sub("", _BREAK.sub("\n", text)))
    return re.sub(r"\n{3,}", "\n\n", plain).strip()


def compact(text: str) -> str:
    """Text with every whitespace removed: compares bodies across HTML/plain and line-ending changes."""
    return "".join(text.split())


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
    if not isinstance(iso, str) or not iso:
        return None
    try:
        return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def canonical_event(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    name = value.strip().lower().replace(".", "_").replace("-", "_")
    name = EVENT_ALIASES.get(name, name)
    return name if name in WEBHOOK_EVENTS else None


def http_url(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        parts = urlsplit(value.strip())
        return (parts.scheme in ("http", "https") and bool(parts.hostname) and parts.port != 0
                and " " not in value.strip())
    except ValueError:
        return False


def strict_bool(value: Any) -> bool | None:
    """Settings accept JSON booleans and "true"/"false" only (stricter than ticket flags)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


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
    return [(field, f"is not a valid date (got {record[field]!r}; RFC-822 preferred, "
                    "e.g. 'Tue, 17 Jul 2012 13:41:01 +0000')")]


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


def flatten(body: dict[str, Any], known: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"contact": {"enabled": true}}`` -> ``{"contact.enabled": true}`` (dotted keys pass through)."""
    out: dict[str, Any] = {}
    for key, value in body.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and name not in known:
            out.update(flatten(value, known, f"{name}."))
        else:
            out[name] = value
    return out


def unwrap(body: dict[str, Any], envelope: str) -> dict[str, Any]:
    inner = body.get(envelope)
    if isinstance(inner, dict) and all(k == envelope for k in body):
        return inner
    return body


def setting_problem(kind: str | tuple[str, ...], key: str, value: Any, color_hint: str) -> Problem | None:
    """Why one widget/KB setting value would be refused, or ``None`` (id references are not looked up)."""
    if isinstance(kind, tuple):
        ok = isinstance(value, str) and value.strip().lower() in kind
        return None if ok else (key, f"must be one of {', '.join(kind)}")
    if kind == BOOL:
        return None if strict_bool(value) is not None else (key, "must be true or false")
    if kind == TEXT:
        return None if value is None or isinstance(value, str) else (key, "must be a string")
    if kind == URL:
        return None if value in (None, "") or http_url(value) else (key, "must be an http(s) URL")
    if kind == COLOR:
        ok = isinstance(value, str) and bool(_HEX.match(value.strip()))
        return None if ok else (key, f"must be a hex color like {color_hint}")
    if kind == RGB:
        match = _RGB.match(value) if isinstance(value, str) else None
        ok = bool(match) and all(int(g) <= 255 for g in match.groups()) if match else False
        return None if ok else (key, 'must be "r, g, b" with each part 0-255')
    if kind == ZINDEX:
        text = str(value).strip() if isinstance(value, str | int) and not isinstance(value, bool) else ""
        ok = text.isdigit() and int(text) <= 2_147_483_647
        return None if ok else (key, "must be a whole number between 0 and 2147483647 (sent as a string)")
    if kind == ROBOTS:
        tokens = [t.strip().upper() for t in value.split(",") if t.strip()] if isinstance(value, str) else None
        ok = value in (None, "") or (bool(tokens) and all(t in ROBOTS_TOKENS for t in tokens or []))
        return None if ok else (key, f"must be comma-separated values from {', '.join(ROBOTS_TOKENS)}")
    if kind == IPS:
        items = value.split(",") if isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            return (key, "must be an array of IP addresses or CIDR ranges")
        try:
            for item in items:
                if item.strip():
                    ipaddress.ip_network(item.strip(), strict=False)
        except ValueError as exc:
            return (key, f"contain an invalid address: {exc}")
    return None


def settings_problems(body: dict[str, Any], kinds: dict[str, str | tuple[str, ...]], *, strict: bool,
                      unknown: str, color_hint: str) -> list[Problem]:
    problems: list[Problem] = []
    for key, value in body.items():
        if key not in kinds:
            if strict:
                problems.append((key, unknown))
            continue
        problem = setting_problem(kinds[key], key, value, color_hint)
        if problem:
            problems.append(problem)
    return problems


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
    problems += text_problems(record, key, TITLE_MAX, required=creating or key in record)
    subdomain = record.get("subdomain")
    if subdomain is not None and not isinstance(subdomain, str):
        problems.append(("subdomain", "must be a string"))
    elif isinstance(subdomain, str) and subdomain.strip() and not SUBDOMAIN.match(subdomain.strip().lower()):
        problems.append(("subdomain", "must be 3-63 lowercase letters, digits or hyphens, not starting or "
                                      "ending with a hyphen"))
    domain = record.get("custom_domain")
    if isinstance(domain, str) and domain.strip() and not HOSTNAME.match(domain.strip().lower()):
        problems.append(("custom_domain", "must be a host name like help.example.com"))
    language = record.get("language")
    if "language" in record and not (isinstance(language, str) and LANGUAGE.match(language.strip())):
        problems.append(("language", "must be an RFC 5646 language code like en or pt-BR"))
    top = {k: v for k, v in record.items() if k in KB_SETTINGS}
    nested = record.get("settings") if isinstance(record.get("settings"), dict) else {}
    problems += settings_problems({**top, **(nested or {})}, KB_SETTINGS, strict="settings" in record,
                                  unknown="is not a knowledge base setting", color_hint="#2f80ed")
    return problems
