"""Widget and knowledge-base settings: which settings there are, the kind of each, and each kind's check.

A kind is a name (``BOOL``, ``COLOR``…) or a tuple of the allowed values. Every check returns
``(normalised value, None)`` or ``(None, why it is refused)``; the emulator stores the value, the
connector reports the reason. Reference kinds (``MAILBOX``, ``KB``, ``THEME``) name records of the
account, so only the server can check them: ``check_settings`` hands them to its ``reference``
callback, and without one they pass as sent.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from . import strict_bool
from .fields import is_http_url

Kind = str | tuple[str, ...]
#: (normalised value, None) or (None, why the value is refused).
Checked = tuple[Any, str | None]
Problem = tuple[str, str]

BOOL, TEXT, URL, COLOR, RGB, ZINDEX, IPS, ROBOTS = "bool", "text", "url", "color", "rgb", "zindex", "ips", "robots"
MAILBOX, KB, THEME = "mailbox", "kb", "theme"
REFERENCES = (MAILBOX, KB, THEME)

ROBOTS_TOKENS = ("INDEX", "NOINDEX", "FOLLOW", "NOFOLLOW", "NOARCHIVE", "NOSNIPPET", "NOIMAGEINDEX", "ALL", "NONE")
DEFAULT_ROBOTS = "INDEX,FOLLOW"
Z_INDEX_MAX = 2_147_483_647

_HEX = re.compile(r"^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
_RGB = re.compile(r"^\s*(\d{1,3})\s*,\s*(\d{1,3})\s*,\s*(\d{1,3})\s*$")


# -- one check a kind ------------------------------------------------------------------------------
def check_choice(choices: tuple[str, ...], value: Any) -> Checked:
    if isinstance(value, str) and value.strip().lower() in choices:
        return value.strip().lower(), None
    return None, f"must be one of {', '.join(choices)}"


def check_bool(value: Any) -> Checked:
    flag = strict_bool(value)
    return (flag, None) if flag is not None else (None, "must be true or false")


def check_text(value: Any, *, max_len: int, nullable: bool = True) -> Checked:
    if value is None and nullable:
        return None, None
    if not isinstance(value, str):
        return None, "must be a string"
    if len(value) > max_len:
        return None, f"is too long (maximum is {max_len} characters)"
    return value, None


def check_url(value: Any, *, keep_blank: bool = False) -> Checked:
    """An http(s) URL; null or "" clears it (kept as sent with ``keep_blank``, else stored as null)."""
    if value is None or value == "":
        return (value if keep_blank else None), None
    if is_http_url(value):
        return value.strip(), None
    return None, "must be an http(s) URL"


def parse_color(value: Any) -> str | None:
    """``#rgb``/``#rrggbb`` (the ``#`` optional) normalised to lowercase ``#rrggbb``; ``None`` if invalid."""
    if not isinstance(value, str):
        return None
    match = _HEX.match(value.strip())
    if not match:
        return None
    digits = match.group(1).lower()
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    return f"#{digits}"


def color_rgb(color: str) -> str:
    """``"#1e2825"`` -> ``"30, 40, 37"``, the form the docs show for ``primary_color_rgb``."""
    return ", ".join(str(int(color[i : i + 2], 16)) for i in (1, 3, 5))


def check_color(value: Any, hint: str) -> Checked:
    color = parse_color(value)
    return (color, None) if color is not None else (None, f"must be a hex color like {hint}")


def check_rgb(value: Any) -> Checked:
    match = _RGB.match(value) if isinstance(value, str) else None
    if match and all(int(g) <= 255 for g in match.groups()):
        return ", ".join(str(int(g)) for g in match.groups()), None
    return None, 'must be "r, g, b" with each part 0-255'


def check_zindex(value: Any) -> Checked:
    text = str(value).strip() if isinstance(value, str | int) and not isinstance(value, bool) else ""
    if text.isdigit() and int(text) <= Z_INDEX_MAX:
        return str(int(text)), None
    return None, f"must be a whole number between 0 and {Z_INDEX_MAX} (sent as a string)"


def robots_value(value: Any) -> str | None:
    """``"index, follow"`` -> ``"INDEX,FOLLOW"``; ``None`` unless every token is a robots token."""
    if not isinstance(value, str):
        return None
    tokens = [t.strip().upper() for t in value.split(",") if t.strip()]
    if not tokens or any(t not in ROBOTS_TOKENS for t in tokens):
        return None
    return ",".join(tokens)


def check_robots(value: Any) -> Checked:
    """``meta_robots``: null or "" means the default, ``INDEX,FOLLOW``."""
    if value is None or value == "":
        return DEFAULT_ROBOTS, None
    robots = robots_value(value)
    if robots is None:
        return None, f"must be comma-separated values from {', '.join(ROBOTS_TOKENS)}"
    return robots, None


def check_ips(value: Any) -> Checked:
    """IP addresses or CIDR ranges, as an array or one comma-separated string; normalised networks."""
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        return None, "must be an array of IP addresses or CIDR ranges"
    try:
        return [str(ipaddress.ip_network(i.strip(), strict=False)) for i in items if i.strip()], None
    except ValueError as exc:
        return None, f"contain an invalid address: {exc}"


# -- the two tables --------------------------------------------------------------------------------
@dataclass(frozen=True)
class SettingTable:
    """The settings of one resource and how their values are read."""

    kinds: Mapping[str, Kind]
    #: The problem for a key that is not one of ``kinds``.
    unknown: str
    #: The example in the hex-color message (the resource's default color).
    color_hint: str
    text_max: int
    #: Cleared values are stored as null (knowledge bases, as Groove v2's objects) rather than kept
    #: exactly as sent (widgets: the documented settings example holds "" and strings only).
    nulls: bool

    def check(self, key: str, value: Any) -> Checked:
        """One value of a known, non-reference setting ``key``."""
        kind = self.kinds[key]
        if isinstance(kind, tuple):
            return check_choice(kind, value)
        if kind == BOOL:
            return check_bool(value)
        if kind == TEXT:
            return check_text(value, max_len=self.text_max, nullable=self.nulls)
        if kind == URL:
            return check_url(value, keep_blank=not self.nulls)
        if kind == COLOR:
            return check_color(value, self.color_hint)
        if kind == RGB:
            return check_rgb(value)
        if kind == ZINDEX:
            return check_zindex(value)
        if kind == ROBOTS:
            return check_robots(value)
        if kind == IPS:
            return check_ips(value)
        raise ValueError(f"{key}: {kind!r} is not a value kind")


#: Every documented widget setting (flat, dotted keys, as the documented examples).
WIDGET = SettingTable(
    kinds={
        "branding_disabled": BOOL,
        "enabled": BOOL,
        "published": BOOL,
        "contact.article_suggestions_enabled": BOOL,
        "contact.attachments_enabled": BOOL,
        "contact.consent_enabled": BOOL,
        "contact.consent_optin_enabled": BOOL,
        "contact.consent_optin_selected": BOOL,
        "contact.enabled": BOOL,
        "contact.id": MAILBOX,
        "contact.name_field_enabled": BOOL,
        "contact.subject_field_enabled": BOOL,
        "icon": TEXT,
        "icon_display": ("icon", "text", "both"),
        "icon_position": ("left", "right"),
        "icon_style": TEXT,
        "icon_text": TEXT,
        "widget_style": TEXT,
        "z_index": ZINDEX,
        "kb.enabled": BOOL,
        "kb.id": KB,
        "kb.url": URL,
        "kb.featured_enabled": BOOL,
        "kb.ratings_enabled": BOOL,
        "kb.ratings_count_enabled": BOOL,
        "kb.ratings_negative_action_enabled": BOOL,
        "kb.ratings_negative_action_kb_enabled": BOOL,
        "kb.ratings_negative_action_contact_enabled": BOOL,
        "primary_color": COLOR,
        "primary_color_rgb": RGB,
        "logo_image_url": URL,
    },
    unknown="is not a known widget setting",
    color_hint="#1e2825",
    text_max=255,
    nulls=False,
)

#: Knowledge-base text fields and settings (descriptions, SEO text, CSS).
KB_TEXT_MAX = 5000

#: Knowledge-base display settings (branding, layout, visibility, SEO); names follow Groove v2's
#: KnowledgeBase where it has them.
KNOWLEDGE_BASE = SettingTable(
    kinds={
        "enabled": BOOL,
        "password_enabled": BOOL,
        "password": TEXT,
        "ip_addresses_enabled": BOOL,
        "ip_addresses": IPS,
        "redirect_legacy": BOOL,
        "theme_id": THEME,
        "ratings_enabled": BOOL,
        "ratings_type": ("emoji", "upvote"),
        "primary_color": COLOR,
        "logo_url": URL,
        "favicon_url": URL,
        "branding_disabled": BOOL,
        "custom_css": TEXT,
        "custom_scripts_enabled": BOOL,
        "ga_code": TEXT,
        "ga_anonymized": BOOL,
        "meta_description": TEXT,
        "meta_robots": ROBOTS,
        "page_title": TEXT,
        "og_title": TEXT,
        "og_description": TEXT,
        "og_image_url": URL,
    },
    unknown="is not a knowledge base setting",
    color_hint="#2f80ed",
    text_max=KB_TEXT_MAX,
    nulls=True,
)


def flatten(body: dict[str, Any], known: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"contact": {"enabled": true}}`` -> ``{"contact.enabled": true}`` (dotted keys pass through)."""
    out: dict[str, Any] = {}
    for key, value in body.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and name not in known:
            out.update(flatten(value, known, f"{name}."))
        else:
            out[name] = value
    return out


def check_settings(
    table: SettingTable,
    body: dict[str, Any],
    *,
    strict: bool,
    reference: Callable[[str, str, Any], Checked] | None = None,
) -> tuple[dict[str, Any], list[Problem]]:
    """(normalised values, problems), both in body order. ``strict`` reports keys that are not settings
    (else they are skipped); ``reference(kind, key, value)`` checks the reference kinds."""
    values: dict[str, Any] = {}
    problems: list[Problem] = []
    for key, value in body.items():
        if key not in table.kinds:
            if strict:
                problems.append((key, table.unknown))
            continue
        kind = table.kinds[key]
        if kind in REFERENCES:
            checked, why = reference(str(kind), key, value) if reference else (value, None)
        else:
            checked, why = table.check(key, value)
        if why is None:
            values[key] = checked
        else:
            problems.append((key, why))
    return values, problems
