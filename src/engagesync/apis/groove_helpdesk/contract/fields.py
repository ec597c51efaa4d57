"""Field rules outside tickets and settings: lengths, article states, URLs, knowledge-base addresses."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import SplitResult, urlsplit

import httpx

#: Group and widget names.
NAME_MAX = 255
#: Knowledge base, category and article titles.
TITLE_MAX = 255
ARTICLE_STATES = ("draft", "published")

SUBDOMAIN = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
SUBDOMAIN_MESSAGE = "must be 3-63 lowercase letters, digits or hyphens, not starting or ending with a hyphen"
HOSTNAME = re.compile(r"^(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
HOSTNAME_MESSAGE = "must be a host name like help.example.com"
LANGUAGE = re.compile(r"^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8})*$")
LANGUAGE_MESSAGE = "must be an RFC 5646 language code like en or pt-BR"


def _http(value: Any) -> SplitResult | None:
    """The parts of an http(s) URL string; ``None`` for anything else."""
    if not isinstance(value, str):
        return None
    try:
        parts = urlsplit(value.strip())
    except ValueError:  # e.g. "http://[" (an unclosed IPv6 literal)
        return None
    return parts if parts.scheme in ("http", "https") else None


def is_http_url(value: Any) -> bool:
    """A link stored on a setting or page (``logo_url``, ``og_image_url``, ``kb.url``…)."""
    parts = _http(value)
    return parts is not None and bool(parts.netloc) and " " not in str(value).strip()


def is_webhook_url(value: Any) -> bool:
    """A webhook receiver: an http(s) URL with a host and a usable port, that an HTTP client can address.

    ``urlsplit`` takes almost anything; a host that is not valid IDNA (``https://\U0009d302zz``), a
    control character or a space would be stored and then fail every delivery attempt, so they are
    refused here, where the sender can still correct them."""
    parts = _http(value)
    try:
        if parts is None or not parts.hostname or parts.port == 0 or re.search(r"[\s\x00-\x1f\x7f]", value.strip()):
            return False
        httpx.URL(value.strip())
    except (ValueError, httpx.InvalidURL):  # a port out of range; a host httpx cannot encode
        return False
    return True
