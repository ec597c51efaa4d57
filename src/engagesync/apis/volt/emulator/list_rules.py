"""A Volt list's query rules (``queryKey``/``queryOperator``/``queryValue`` over a contact's custom
fields) and the type a new custom field takes from its first value."""

from __future__ import annotations

import json
import re
from typing import Any

from ....timefmt import to_epoch
from .. import contract


def infer_type(value: str) -> str:
    """A new custom field's type, from its first value: number, date or string."""
    try:
        float(value)
        return "number"
    except ValueError:
        pass
    return "date" if _as_date(value) is not None else "string"


def _as_date(value: str) -> float | None:
    """A contact field value that starts with a date, in epoch seconds (``timefmt``: offset-less = UTC)."""
    return to_epoch(value) if re.match(r"\d{4}-\d{2}-\d{2}", value.strip()) else None


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def rule_value(raw: str) -> str:
    """``queryValue`` is JSON-serialized (``5``, ``"Canis"``); a bare string is taken as it is."""
    try:
        value = json.loads(raw)
    except ValueError:
        return raw
    return value if isinstance(value, str) else json.dumps(value)


def rule_matches(operator: str, have: str | None, want: str) -> bool:
    if operator in contract.NUMERIC_OPERATORS:
        a, b = _number(have), _number(want)
        if a is None or b is None:
            return False
        return {"gt": a > b, "gte": a >= b, "lt": a < b, "lte": a <= b, "eq": a == b, "neq": a != b}[operator]
    if operator in contract.DATE_OPERATORS:
        x, y = _as_date(have or ""), _as_date(want)
        if x is None or y is None:
            return False
        return x < y if operator == "bf" else x > y
    text, term = (have or "").casefold(), want.casefold()
    if operator == "is":
        return have is not None and text == term
    if operator == "has":
        return term in text
    return term not in text  # nc
