"""Destination actions ("endpoint templates"): how a record becomes one API request.

An action declares its fields (required or not, which ones fill the URL path), validates a record
locally with the same rules the API applies, builds the exact request, and, for creates, knows how to
look up whether a create whose outcome was unknown actually happened.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Problem = tuple[str, str]  # (field, reason)


@dataclass(frozen=True)
class FieldSpec:
    name: str
    description: str = ""
    required: bool = False
    #: "string" | "integer" | "boolean" | "email" | "array" | "object" | "any"
    type: str = "any"
    enum: tuple[str, ...] | None = None
    #: Filled into the URL path rather than sent in the body.
    path: bool = False


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    json: Any = None
    #: A body already encoded (form, XML, text: a destination's manual configuration), sent instead of ``json``.
    content: bytes | None = None
    #: Extra request headers (``Content-Type`` of ``content``, a destination's own headers).
    headers: dict[str, str] | None = None

    def describe(self, base_url: str) -> dict[str, Any]:
        url = self.path if "://" in self.path else f"{base_url.rstrip('/')}/{self.path.lstrip('/')}"
        body = self.json if self.content is None else self.content.decode("utf-8", "replace")
        described = {"method": self.method, "url": url, "body": body}
        if self.headers:
            described["headers"] = dict(self.headers)
        return described


Validator = Callable[[dict[str, Any]], list[Problem]]
Normalizer = Callable[[dict[str, Any]], dict[str, Any]]
#: ``reconcile(client, record, since=epoch_or_None)`` -> the created resource (as the create response
#: would wrap it) or ``None``; ``since`` is when the push began, in the server's time.
Reconciler = Callable[..., Any]
#: ``resolve(client, record) -> Request``: for upserts, look the record's target up on the server and
#: return the request to send (an update of the match, or the create).
Resolver = Callable[..., "Request"]
#: ``send_batch(client, records, retry=bool) -> outcomes``: several records in ONE request (e.g. GraphQL
#: aliases). One outcome per record, in order: ``Sent`` (accepted), an ``ApiError`` (refused: a reject),
#: ``OutcomeUnknown`` (reconcile before resending) or another ``TransportError``.
BatchSender = Callable[..., "list[Any]"]


@dataclass(frozen=True)
class Sent:
    """One record's success inside a batched request: its part of the response."""

    body: Any
    status: int = 200


@dataclass(frozen=True)
class ActionSpec:
    name: str
    title: str
    method: str
    #: Path template relative to the API base, e.g. ``tickets/{number}/state``.
    path: str
    fields: tuple[FieldSpec, ...]
    description: str = ""
    #: True for non-idempotent creates: never retried blindly, reconciled through ``reconcile``.
    creates: bool = False
    #: Extra checks beyond the field specs (cross-field rules, enums the API enforces).
    validate_extra: Validator | None = None
    #: Vocabulary fixes applied before validation (e.g. Nexla's "open" -> Groove's "opened").
    normalize: Normalizer | None = None
    #: For creates: find the resource a record would have created (``None`` if absent).
    reconcile: Reconciler | None = None
    #: Where the created resource's id lives in the response (dotted path), for the ledger.
    id_path: str | None = None
    #: Send the body wrapped as ``{envelope: {...}}`` (Rails-style APIs document it so).
    envelope: str | None = None
    #: For upserts: chooses, with a lookup, between updating a match and creating (``build`` shows the create).
    resolve: Resolver | None = None
    #: Sends a whole batch of records in one request instead of one request per record (``Pusher``).
    send_batch: BatchSender | None = None
    #: Builds the request of one record when it is not REST-shaped (a GraphQL operation): previews, ledger.
    request_builder: Callable[[dict[str, Any]], Request] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def path_fields(self) -> list[str]:
        return [name for _, name, _, _ in string.Formatter().parse(self.path) if name]

    def prepare(self, record: dict[str, Any]) -> dict[str, Any]:
        """Drop nulls/empty strings the source had for absent values, coerce text from CSV files to the
        declared types ("true" -> True, "42" -> 42), then apply the action's vocabulary fixes."""
        clean = {k: v for k, v in record.items() if v is not None and v != ""}
        for spec in self.fields:
            if spec.name in clean:
                clean[spec.name] = _coerce(spec, clean[spec.name])
        return self.normalize(clean) if self.normalize else clean

    def validate(self, record: dict[str, Any]) -> list[Problem]:
        problems: list[Problem] = []
        for spec in self.fields:
            value = record.get(spec.name)
            if value is None:
                if spec.required:
                    problems.append((spec.name, "can't be blank"))
                continue
            problem = _check_type(spec, value)
            if problem:
                problems.append((spec.name, problem))
        if self.validate_extra:
            seen = {name for name, _ in problems}
            problems.extend(p for p in self.validate_extra(record) if p[0] not in seen)
        return problems

    def build(self, record: dict[str, Any]) -> Request:
        if self.request_builder is not None:
            return self.request_builder(record)
        path_values = {name: _path_segment(record[name]) for name in self.path_fields}
        body: dict[str, Any] | None = {k: v for k, v in record.items() if k not in path_values}
        if self.method == "GET" or (self.method == "DELETE" and not body):
            body = None
        elif self.envelope:
            body = {self.envelope: body}
        return Request(self.method, self.path.format(**path_values), body)


def _coerce(spec: FieldSpec, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    text = value.strip()
    if spec.type == "boolean" and text.lower() in ("true", "false"):
        return text.lower() == "true"
    if spec.type == "integer" and text.lstrip("-").isdigit():
        return int(text)
    return value


def dig(data: Any, path: str) -> Any:
    """``dig({"webhooks": [{"id": 1}]}, "webhooks.0.id") == 1``; ``None`` when absent."""
    for part in path.split("."):
        if isinstance(data, dict):
            data = data.get(part)
        elif isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        else:
            return None
    return data


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _check_type(spec: FieldSpec, value: Any) -> str | None:
    kind = spec.type
    if spec.enum is not None and value not in spec.enum:
        return f"must be one of {', '.join(spec.enum)} (got {value!r})"
    if kind == "string" and not isinstance(value, str | int | float):
        return f"must be text (got {type(value).__name__})"
    if kind == "integer" and (isinstance(value, bool) or not _is_int(value)):
        return f"must be a whole number (got {value!r})"
    if kind == "boolean" and not isinstance(value, bool):
        return f"must be true or false (got {value!r})"
    if kind == "email" and not (isinstance(value, str) and _EMAIL.match(value.strip())):
        return f"must be an email address (got {value!r})"
    if kind == "array" and not isinstance(value, list):
        return f"must be a list (got {type(value).__name__})"
    if kind == "object" and not isinstance(value, dict):
        return f"must be an object (got {type(value).__name__})"
    return None


def _is_int(value: Any) -> bool:
    if isinstance(value, int):
        return True
    return isinstance(value, str) and value.strip().lstrip("-").isdigit()


def _path_segment(value: Any) -> str:
    from urllib.parse import quote

    return quote(str(value).strip(), safe="@")
