"""What both sides agree on about GrowthGenius's integrations API v1: fields, types, rules, time format.

The emulator enforces these rules on requests; the connector checks records against the same rules
before sending, so a bad row is rejected locally with the reason the server would give.
"""

from __future__ import annotations

import calendar
import math
import re
import sys
import time
from typing import Any

from ...timefmt import parse_datetime

Problem = tuple[str, str]  # (field, reason)

#: Every field of a contact in the documented example, with its type ("id", "created_at" and
#: "updated_at" are the server's). "string" also takes numbers (stored as sent); "any" is free JSON.
CONTACT_FIELDS: dict[str, str] = {
    "annual_revenue": "number",
    "bad_data_reason": "string",
    "city": "string",
    "company_address": "string",
    "company_city": "string",
    "company_country": "string",
    "company_linkedin_url": "string",
    "company_name": "string",
    "company_name_informal": "string",
    "company_state": "string",
    "contact_account": "account",
    "contact_account_id": "integer",
    "corporate_phone": "string",
    "country": "string",
    **{f"custom{i}": "string" for i in range(1, 10)},
    "email": "email",
    "email_confidence": "integer",
    "email_status": "string",
    "employee_count": "integer",
    "facebook_url": "string",
    "first_name": "string",
    "first_phone": "string",
    "full_name": "string",
    "home_phone": "string",
    "industry": "string",
    "keywords": "string",
    "label_names": "any",
    "last_name": "string",
    "linkedin_url": "string",
    "linkedin_username": "string",
    "lists": "any",
    "mobile_phone": "string",
    "name": "string",
    "other_phone": "string",
    "prospect_id": "integer",
    "seo_description": "string",
    "stage": "string",
    "state": "string",
    "status": "string",
    "technologies": "string",
    "title": "string",
    "twitter_url": "string",
    "unstructured_data": "any",
    "upload_identifier": "string",
    "user_id": "integer",
    "website": "string",
    "work_phone": "string",
}
#: Fields a contact create must carry (the documented request shows first_name, last_name and email;
#: only the email is required: prospects are often known by address alone).
CONTACT_REQUIRED = ("email",)

MESSAGE_FIELDS: dict[str, str] = {
    "contact_id": "integer",
    "message_type": "string",
    "rendered_copy": "string",
    "rendered_subject": "string",
    "sent_at": "datetime",
    "team_id": "integer",
    "user_id": "integer",
}
MESSAGE_REQUIRED = ("contact_id", "message_type")


#: Contact search (``POST /contacts/search``): sort fields and paging, Apollo-style.
SORT_FIELDS = ("contact_last_activity_date", "contact_created_at", "contact_updated_at", "contact_name")
DEFAULT_SORT = "contact_last_activity_date"
SEARCH_PER_PAGE = 25
SEARCH_MAX_PER_PAGE = 100
PARTIAL_RESULTS_LIMIT = 10000

#: Most records one ``from``/``to`` list answers with (oldest first; the rest is silently left out).
WINDOW_LIMIT = 200

#: Ids and integer fields are stored as SQLite/Rails ``bigint``: a larger number is out of range.
INT_MIN, INT_MAX = -(2**63), 2**63 - 1
_FLOAT_MAX = int(sys.float_info.max)
_WHOLE = re.compile(r"^\s*-?[0-9]+\s*$")

_EMAIL = re.compile(r"^[^@\s<>(),;:\"\[\]]+@[^@\s<>(),;:\"\[\]]+\.[^@\s<>(),;:\"\[\]]+$")


def is_email(value: Any) -> bool:
    return isinstance(value, str) and bool(_EMAIL.match(value.strip()))


def whole_number(value: Any) -> int | None:
    """An int, or a string of ASCII digits (optional ``-``, surrounding spaces), within ``bigint``; else ``None``.

    ``str.isdigit`` is not enough: it takes ``"²"``, which ``int()`` refuses.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and _WHOLE.match(value):
        value = int(value)
    return value if isinstance(value, int) and INT_MIN <= value <= INT_MAX else None


def record_id(text: str) -> int | None:
    """An id as a path or ``user_id`` carries it: ASCII digits (surrounding spaces allowed) within ``bigint``."""
    return whole_number(text) if text.strip().isascii() and text.strip().isdigit() else None


# -- time: milliseconds, rendered in the team's zone (US Eastern, as every documented example) --------
def _second_sunday_march(year: int) -> int:
    first = calendar.weekday(year, 3, 1)  # Monday = 0
    day = 1 + (6 - first) % 7 + 7
    return calendar.timegm((year, 3, day, 7, 0, 0))  # 02:00 EST = 07:00 UTC


def _first_sunday_november(year: int) -> int:
    first = calendar.weekday(year, 11, 1)
    day = 1 + (6 - first) % 7
    return calendar.timegm((year, 11, day, 6, 0, 0))  # 02:00 EDT = 06:00 UTC


def eastern_offset(epoch: float) -> int:
    """UTC offset in seconds of US Eastern time at ``epoch`` (DST rules since 2007), without tz data."""
    year = time.gmtime(epoch).tm_year
    return -4 * 3600 if _second_sunday_march(year) <= epoch < _first_sunday_november(year) else -5 * 3600


def render_time(ms: int | None) -> str | None:
    """Epoch milliseconds -> ``2021-01-19T17:06:25.730-05:00`` (the documented form)."""
    if ms is None:
        return None
    offset = eastern_offset(ms / 1000)
    local_ms = ms + offset * 1000
    seconds, millis = divmod(local_ms, 1000)
    sign = "-" if offset < 0 else "+"
    hours, minutes = divmod(abs(offset) // 60, 60)
    local = time.gmtime(seconds)  # strftime's %Y does not pad years below 1000; the format wants four digits
    return f"{local.tm_year:04d}-{time.strftime('%m-%dT%H:%M:%S', local)}.{millis:03d}{sign}{hours:02d}:{minutes:02d}"


def parse_time(value: Any) -> float | None:
    """ISO-8601 date or date-time (offset or ``Z``; without one, US Eastern) -> epoch milliseconds.

    Fractions below a millisecond are kept (the caller decides how a bound rounds); ``None`` if invalid.
    """
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip().replace(" ", "T", 1) if "T" not in value else value.strip()
    if text[-1:] in ("Z", "z"):
        text = text[:-1] + "+00:00"
    try:
        return parse_datetime(text, zone=lambda wall: eastern_offset(wall + 5 * 3600)).timestamp() * 1000
    except (ValueError, OverflowError):  # not ISO-8601, or (with its offset) outside years 1..9999 UTC
        return None


#: The instants ``render_time`` can write with a four-digit year: 0001-01-01T00:00-05:00 to 9999-12-31T23:59:59.999Z.
RENDERABLE_MS = (-62_135_578_800_000, 253_402_300_799_999)


# -- validation shared by emulator and connector ---------------------------------------------------
def _check(kind: str, value: Any) -> str | None:
    """Why ``value`` does not fit ``kind`` (``None`` when it does; ``None`` values always fit)."""
    if value is None:
        return None
    if kind == "string":
        if not isinstance(value, str) and (isinstance(value, bool) or to_number(value) is None):
            return f"must be text (got {value!r})"  # a finite number is taken as its text
    elif kind == "email":
        if not is_email(value):
            return f"is not a valid email address (got {value!r})"
    elif kind == "integer":
        if whole_number(value) is None:
            whole = not isinstance(value, bool) and (
                isinstance(value, int) or (isinstance(value, str) and bool(_WHOLE.match(value)))
            )
            return f"is out of range (got {value!r})" if whole else f"must be a whole number (got {value!r})"
    elif kind == "number":
        if isinstance(value, bool) or to_number(value) is None:
            return f"must be a number (got {value!r})"
    elif kind == "datetime":
        moment = parse_time(value)
        if moment is None:
            return f"must be an ISO-8601 date-time such as 2019-08-09T07:10:41.275-04:00 (got {value!r})"
        if not RENDERABLE_MS[0] <= moment <= RENDERABLE_MS[1]:
            return f"must fall in the years 1 to 9999 (got {value!r})"
    elif kind == "account":
        if not isinstance(value, dict):
            return 'must be an object like {"id": 485499, "status": "cold"}'
        if value.get("id") is None:
            return "id can't be blank"
        for key, part in (("id", "integer"), ("status", "string")):
            problem = _check(part, value.get(key))
            if problem:
                return f"{key} {problem}"
    return None


def typed(kind: str, value: Any) -> Any:
    """A checked value as stored and returned: text fields hold text (Rails casts ``5`` to ``"5"``), integer
    fields integers, date-times epoch milliseconds."""
    if value is None:
        return None
    if kind == "string":
        return value if isinstance(value, str) else str(value)
    if kind == "integer":
        return whole_number(value)
    if kind == "number":
        return to_number(value)
    if kind == "email":
        return str(value).strip()
    if kind == "datetime":
        return int(parse_time(value) or 0)
    if kind == "account":
        return {"id": whole_number(value["id"]), "status": typed("string", value.get("status"))}
    return value


def merged(data: dict[str, Any], sent: dict[str, Any], fields: dict[str, str]) -> dict[str, Any]:
    """``data`` with every field of ``sent`` that ``fields`` names, typed as stored (unknown keys are ignored)."""
    return {**data, **{name: typed(kind, sent[name]) for name, kind in fields.items() if name in sent}}


def to_number(value: Any) -> float | int | None:
    """A finite number from a number or its text; ``None`` for anything else (or beyond a float's range)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if -_FLOAT_MAX <= value <= _FLOAT_MAX else None
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
        return (int(number) if number.is_integer() else number) if math.isfinite(number) else None
    return None


def check_fields(
    body: dict[str, Any], fields: dict[str, str], required: tuple[str, ...], creating: bool
) -> list[Problem]:
    """Every problem with a contact or message body; required fields only on create (an update may omit
    them, but may not blank them)."""
    problems: list[Problem] = []
    for name in required:
        value = body.get(name)
        blank = value is None or (isinstance(value, str) and not value.strip())
        if blank and (creating or name in body):
            problems.append((name, "can't be blank"))
    for name, kind in fields.items():
        if name in body and not any(p[0] == name for p in problems):
            problem = _check(kind, body[name])
            if problem:
                problems.append((name, problem))
    confidence = whole_number(body.get("email_confidence"))
    if fields is CONTACT_FIELDS and confidence is not None and not 0 <= confidence <= 100:
        problems.append(("email_confidence", f"must be between 0 and 100 (got {confidence})"))
    return problems


def check_contact(body: dict[str, Any], creating: bool) -> list[Problem]:
    return check_fields(body, CONTACT_FIELDS, CONTACT_REQUIRED, creating)


def check_message(body: dict[str, Any], creating: bool) -> list[Problem]:
    return check_fields(body, MESSAGE_FIELDS, MESSAGE_REQUIRED, creating)


def unwrap(body: dict[str, Any], envelope: str) -> dict[str, Any]:
    """``{"contact": {...}}`` or the flat object: both are accepted (mapping tools produce both)."""
    inner = body.get(envelope)
    if isinstance(inner, dict):
        return inner
    return body
