"""Source streams: what an API connector declares so the sync engine can pull it.

A stream yields pages; each page carries the records and the cursor state *after* it, so the store
can commit both in one transaction and a killed pull resumes exactly where it stopped.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from .http import ApiClient

#: Column types the store understands (DuckDB names). Instants are ``TIMESTAMPTZ`` (``TIMESTAMP``, naive
#: UTC, is still read); besides these, a column may be a list ``T[]`` or a struct
#: ``STRUCT(name T, ...)`` (or a list of structs) of the scalar types, where the API's schema fixes the
#: shape; ``JSON`` is for free-form values only.
COLUMN_TYPES = frozenset({"VARCHAR", "BIGINT", "DOUBLE", "BOOLEAN", "TIMESTAMP", "TIMESTAMPTZ", "JSON"})
#: The scalar types a list or struct may hold.
NESTED_SCALARS = frozenset({"VARCHAR", "BIGINT", "DOUBLE", "BOOLEAN"})


#: A column type's shape: a type name, ``[shape]`` for a list, ``{field: shape}`` for a struct (the
#: structure DuckDB's ``json_transform`` takes).
Shape = str | list[Any] | dict[str, Any]


def parse_type(type_: str) -> Shape:
    """The shape of a declared column type; ``ValueError`` names what is wrong.

    ``"timestamptz"`` -> ``"TIMESTAMPTZ"``, ``"VARCHAR[]"`` -> ``["VARCHAR"]``,
    ``"STRUCT(id VARCHAR, name VARCHAR)[]"`` -> ``[{"id": "VARCHAR", "name": "VARCHAR"}]``.
    """
    text = type_.strip()
    if text.endswith("[]"):
        inner = parse_type(text[:-2])
        if isinstance(inner, list) or (isinstance(inner, str) and inner not in NESTED_SCALARS):
            raise ValueError(f"a list holds {', '.join(sorted(NESTED_SCALARS))} or a STRUCT, not {text[:-2]!r}")
        return [inner]
    if text.upper().startswith("STRUCT(") and text.endswith(")"):
        fields: dict[str, Any] = {}
        for part in _split_fields(text[7:-1]):
            name, _, field_type = part.strip().partition(" ")
            name = name.strip('"')
            if not name or not field_type.strip():
                raise ValueError(f"struct field {part.strip()!r} needs a name and a type")
            shape = parse_type(field_type)
            if isinstance(shape, dict) or (isinstance(shape, str) and shape not in NESTED_SCALARS):
                raise ValueError(f"struct field {name!r}: a struct holds scalars or lists, not {field_type.strip()!r}")
            fields[name] = shape
        if not fields:
            raise ValueError("a STRUCT needs at least one field")
        return fields
    if text.upper() in COLUMN_TYPES:
        return text.upper()
    raise ValueError(f"unsupported type {type_!r}")


def _split_fields(text: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for i, char in enumerate(text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts


def type_name(shape: Shape) -> str:
    """The DuckDB type of a shape (struct field names quoted, so their case is kept)."""
    if isinstance(shape, list):
        return type_name(shape[0]) + "[]"
    if isinstance(shape, dict):
        inner = ", ".join('"' + k.replace('"', '""') + '" ' + type_name(v) for k, v in shape.items())
        return f"STRUCT({inner})"
    return shape


def is_column_type(type_: str) -> bool:
    """Whether the store can hold a column of ``type_`` (a name of ``COLUMN_TYPES``, a list or a struct)."""
    try:
        parse_type(type_)
    except ValueError:
        return False
    return True


@dataclass
class Page:
    records: list[dict[str, Any]]
    #: Cursor state to resume from after this page; ``None`` means the stream is complete.
    state: dict[str, Any] | None
    #: Requests spent on this page (for progress).
    requests: int = 1


@dataclass(frozen=True)
class StreamSpec:
    name: str
    primary_key: tuple[str, ...]
    #: column -> DuckDB type; records may carry more fields (kept in a ``_raw`` JSON column).
    columns: dict[str, str]
    description: str = ""
    #: The stream this one iterates per record of (e.g. messages per ticket), if any.
    parent: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    #: column -> what it means (``COMMENT ON COLUMN`` in the store, ``streams NAME --columns``).
    docs: dict[str, str] = field(default_factory=dict)


class Stream(Protocol):
    """A source stream. Optional hooks the pull engine looks for:

    - ``restart_state(last) -> state | None``: where the next pass starts after a complete one;
    - ``pages_of_parents(client, state, keys) -> Iterator[Page]`` (child streams): the pages of the
      given parent keys only (sorted; those written since the child's last pass), so an incremental
      pull fetches children of changed parents alone.
    """

    spec: StreamSpec

    def pages(self, client: ApiClient, state: dict[str, Any] | None) -> Iterator[Page]:
        """Pages from ``state`` (``None``: from the beginning) to the end of the stream."""
        ...
