"""Coercing record values to their column types, and the bulk path's checks: which values DuckDB can
cast itself (the page then goes in as raw JSON, parsed once) and how each column is extracted."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from ...client.streams import Shape
from ...timefmt import parse_datetime
from .base import StoreError, _dumps

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_TRUE = frozenset({"true", "t", "1", "yes", "y"})
_FALSE = frozenset({"false", "f", "0", "no", "n"})


class CoercionError(StoreError, ValueError):
    """A record value that does not fit its column's type."""

    def __init__(self, stream: str, key: Any, field: str, value: Any, type_: str, reason: str) -> None:
        self.stream, self.key, self.field, self.value, self.type, self.reason = stream, key, field, value, type_, reason
        shown = repr(value)
        if len(shown) > 200:
            shown = shown[:200] + "..."
        super().__init__(f"stream {stream!r}, record {key}: field {field!r} = {shown} is not a valid {type_}: {reason}")


def _to_varchar(value: Any) -> Any:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, dict | list):
        return _dumps(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def _to_bigint(value: Any) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        result = value
    elif isinstance(value, float):
        if not value.is_integer():
            raise ValueError("has a fractional part")
        result = int(value)
    elif isinstance(value, str):
        text = value.strip()
        try:
            result = int(text)
        except ValueError:
            as_float = float(text)  # "12.0" is fine, "12.5" and "abc" are not
            if not as_float.is_integer():
                raise ValueError("has a fractional part") from None
            result = int(as_float)
    else:
        raise ValueError(f"a {type(value).__name__} is not a number")
    if not _INT64_MIN <= result <= _INT64_MAX:
        raise ValueError("out of the 64-bit range")
    return result


def _to_double(value: Any) -> float:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        result = float(value)
    elif isinstance(value, str):
        result = float(value.strip())
    else:
        raise ValueError(f"a {type(value).__name__} is not a number")
    if not math.isfinite(result):
        raise ValueError("not a finite number")
    return result


def _to_boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise ValueError("expected true/false")


_ISO_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


def _to_timestamp(value: Any) -> str:
    """ISO text (``Z`` or offsets allowed), ``datetime``/``date`` or epoch seconds -> naive UTC ISO text."""
    if isinstance(value, str) and len(value) == 20 and _ISO_UTC.fullmatch(value):
        return f"{value[:10]} {value[11:19]}"  # the common case (whole-second UTC), without datetime parsing
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        seconds = value / 1000 if abs(value) > 1e11 else value  # epoch milliseconds are common too
        moment = datetime.fromtimestamp(seconds, UTC)
    elif isinstance(value, str):
        moment = parse_datetime(value)
    else:
        raise ValueError(f"a {type(value).__name__} is not a timestamp")
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.isoformat(sep=" ")


def _to_timestamptz(value: Any) -> str:
    """As ``_to_timestamp``, with the zone written out (``+00:00``): DuckDB reads it as that instant."""
    return _to_timestamp(value) + "+00:00"


def _to_json(value: Any) -> Any:
    return value  # serialised with the page; JSON columns keep the value's JSON form


#: ISO 8601 instants with an explicit zone (``Z`` or ``±HH:MM``), seconds, optional fraction: the forms
#: DuckDB's TIMESTAMPTZ cast reads exactly as ``_to_timestamp`` does.
_ISO_INSTANT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?(Z|[+-]\d\d:\d\d)")
#: Values that need no coercion, by column type: for these DuckDB's cast of the JSON text gives
#: exactly what the coercer would (a timestamp only in its whole-second UTC form).
_FAST_CHECK: dict[str, Callable[[Any], bool]] = {
    "VARCHAR": lambda v: type(v) is str or (type(v) is int and _INT64_MIN <= v <= _INT64_MAX),
    "BIGINT": lambda v: type(v) is int and _INT64_MIN <= v <= _INT64_MAX,
    "DOUBLE": lambda v: (type(v) is float and math.isfinite(v)) or (type(v) is int and abs(v) < 2**53),
    "BOOLEAN": lambda v: type(v) is bool,
    "TIMESTAMP": lambda v: type(v) is str and _ISO_INSTANT.fullmatch(v) is not None,
    "TIMESTAMPTZ": lambda v: type(v) is str and _ISO_INSTANT.fullmatch(v) is not None,
    "JSON": lambda v: True,
}
#: How the bulk path reads each column from the record parsed once by ``json_transform`` (as ``u``):
#: the JSON type it is read as, and the expression that finishes it.
#: Per column type, the Python type whose values need no check at all (the common case, kept cheap).
_PLAIN_TYPE: dict[str, type] = {"VARCHAR": str, "BOOLEAN": bool}
_FAST_EXTRACT: dict[str, tuple[str, str]] = {
    "VARCHAR": ("VARCHAR", "{field}"),
    "BIGINT": ("BIGINT", "{field}"),
    "DOUBLE": ("DOUBLE", "{field}"),
    "BOOLEAN": ("BOOLEAN", "{field}"),
    # the instant in UTC, whatever the session's time zone (epoch microseconds carry no zone)
    "TIMESTAMP": ("VARCHAR", "make_timestamp(epoch_us(CAST({field} AS TIMESTAMPTZ)))"),
    "TIMESTAMPTZ": ("VARCHAR", "CAST({field} AS TIMESTAMPTZ)"),
    "JSON": ("JSON", "CASE WHEN json_type({field}) = 'NULL' THEN NULL ELSE {field} END"),
}

COERCERS: dict[str, Callable[[Any], Any]] = {
    "VARCHAR": _to_varchar,
    "BIGINT": _to_bigint,
    "DOUBLE": _to_double,
    "BOOLEAN": _to_boolean,
    "TIMESTAMP": _to_timestamp,
    "TIMESTAMPTZ": _to_timestamptz,
    "JSON": _to_json,
}


# -- lists and structs ------------------------------------------------------------------------------
def coercer(shape: Shape) -> Callable[[Any], Any]:
    """The coercer of a column's shape: scalars as above; a list coerces each item, a struct each known
    field (fields the schema does not name are left out; the record keeps them in ``_raw``)."""
    if isinstance(shape, list):
        item = coercer(shape[0])

        def to_list(value: Any) -> list[Any]:
            if not isinstance(value, list):
                raise ValueError(f"expected a list, got a {type(value).__name__}")
            return [None if v is None else item(v) for v in value]

        return to_list
    if isinstance(shape, dict):
        fields = {name: coercer(sub) for name, sub in shape.items()}

        def to_struct(value: Any) -> dict[str, Any]:
            if not isinstance(value, dict):
                raise ValueError(f"expected an object, got a {type(value).__name__}")
            return {name: None if value.get(name) is None else f(value[name]) for name, f in fields.items()}

        return to_struct
    return COERCERS[shape]


def fast_check(shape: Shape) -> Callable[[Any], bool]:
    """Whether a value of a column's shape needs no coercion (``json_transform`` reads it as is)."""
    if isinstance(shape, list):
        item = fast_check(shape[0])
        return lambda v: type(v) is list and all(x is None or item(x) for x in v)
    if isinstance(shape, dict):
        fields = [(name, fast_check(sub)) for name, sub in shape.items()]
        return lambda v: type(v) is dict and all(v.get(n) is None or f(v[n]) for n, f in fields)
    return _FAST_CHECK[shape]


def fast_extract(shape: Shape) -> tuple[Any, str]:
    """How the bulk path reads a column: the ``json_transform`` structure and the finishing expression."""
    if isinstance(shape, str):
        return _FAST_EXTRACT[shape]
    return shape, "{field}"


def staged(shape: Shape) -> Any:
    """The ``from_json_strict`` structure of a coerced value of this shape (the coercing path)."""
    if isinstance(shape, list):
        return [staged(shape[0])]
    if isinstance(shape, dict):
        return {name: staged(sub) for name, sub in shape.items()}
    return shape
