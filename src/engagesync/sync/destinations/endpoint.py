"""A manual configuration as requests: URL placeholders, content formats, headers, exclusions.

``ManualEndpoint.request(records)`` renders one request for one record or a batch, exactly as it is
sent (the preview shows the same object). Bodies are encoded here, not by httpx, so the byte count a
``max_bytes`` grouping relies on is the count of the bytes that go out: a batch body is
``prefix + separator.join(records) + suffix`` by construction.
"""

from __future__ import annotations

import json
import re
import string
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode, urlsplit
from xml.sax.saxutils import escape

from ...client.actions import Problem, Request
from .model import Batching, ConfigError, Manual

CONTENT_TYPES = {
    "json": "application/json",
    "form": "application/x-www-form-urlencoded",
    "xml": "application/xml",
    "text": "text/plain; charset=utf-8",
}
_XML_NAME = re.compile(r"[^A-Za-z0-9_.-]")
_PROLOG = '<?xml version="1.0" encoding="UTF-8"?>'


def placeholders(template: str) -> list[str]:
    return [name for _, name, _, _ in string.Formatter().parse(template) if name]


def fill_url(template: str, record: dict[str, Any]) -> str:
    """``tickets/{ticket_number}/state`` with the record's value, URL-encoded (``/`` included)."""
    return template.format(**{name: quote(_text(record[name]).strip(), safe="@") for name in placeholders(template)})


def fill_header(template: str, record: dict[str, Any]) -> str:
    """A header value with ``{field}`` filled; line breaks cannot enter a header."""
    value = template.format(**{name: _text(record.get(name, "")) for name in placeholders(template)})
    return " ".join(value.splitlines())


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return str(value)


# -- formats ---------------------------------------------------------------------------------------
def encode_record(record: dict[str, Any], fmt: str) -> bytes:
    """One record's body in ``fmt`` (also one element of a JSON or XML batch)."""
    if fmt == "json":
        return json.dumps(record, separators=(",", ":"), ensure_ascii=False, default=str).encode()
    if fmt == "form":
        return urlencode(list(_form_pairs(record))).encode()
    if fmt == "xml":
        return _xml_element("record", record).encode()
    if fmt == "text":
        if len(record) == 1:
            return _text(next(iter(record.values()))).encode()
        return json.dumps(record, ensure_ascii=False, default=str).encode()
    raise ValueError(f"unknown format {fmt!r}")


def batch_frame(fmt: str, wrap: str | None) -> tuple[bytes, bytes, bytes]:
    """``(prefix, separator, suffix)`` of a batch body in ``fmt`` (JSON array or wrapped; XML root)."""
    if fmt == "json":
        if wrap:
            return b"{" + json.dumps(wrap).encode() + b":[", b",", b"]}"
        return b"[", b",", b"]"
    if fmt == "xml":
        root = _xml_name(wrap or "records")
        return f"{_PROLOG}<{root}>".encode(), b"", f"</{root}>".encode()
    raise ValueError(f"the {fmt} format carries one record per request")


def _form_pairs(value: Any, prefix: str = "") -> Any:
    """Rails-style form fields: ``from[email]=...``, ``tags[]=a&tags[]=b``."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _form_pairs(item, f"{prefix}[{key}]" if prefix else str(key))
    elif isinstance(value, list):
        for item in value:
            yield from _form_pairs(item, f"{prefix}[]")
    else:
        yield prefix, _text(value)


def _xml_name(name: str) -> str:
    clean = _XML_NAME.sub("_", str(name)) or "_"
    return clean if re.match(r"[A-Za-z_]", clean) else f"_{clean}"


def _xml_element(name: str, value: Any) -> str:
    tag = _xml_name(name)
    if isinstance(value, dict):
        inner = "".join(_xml_element(k, v) for k, v in value.items())
    elif isinstance(value, list):
        inner = "".join(_xml_element("item", v) for v in value)
    else:
        inner = escape(_text(value))
    return f"<{tag}>{inner}</{tag}>"


# -- the endpoint ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class ManualEndpoint:
    manual: Manual
    exclude: tuple[str, ...]
    batching: Batching
    base_url: str

    def __post_init__(self) -> None:
        url = self.manual.url
        if "://" in url:
            given, base = urlsplit(url), urlsplit(self.base_url)
            if (given.scheme, given.netloc) != (base.scheme, base.netloc):
                raise ConfigError(
                    f"endpoint.manual.url: {given.scheme}://{given.netloc} is not the connection's host "
                    f"({base.scheme}://{base.netloc}); give a path relative to {self.base_url} or a URL on that host"
                )
        elif url.startswith("//"):
            raise ConfigError("endpoint.manual.url: give a path relative to the connection's base URL or a full URL")

    @property
    def batched(self) -> bool:
        return self.batching.enabled

    def fields_needed(self) -> list[str]:
        """Attributes every record must have: the URL's placeholders (header ones may be empty)."""
        return placeholders(self.manual.url)

    def body_of(self, record: dict[str, Any]) -> dict[str, Any]:
        """What of a record goes in the body: all but the excluded attributes."""
        return {k: v for k, v in record.items() if k not in self.exclude}

    def record_bytes(self, record: dict[str, Any]) -> int:
        return len(encode_record(self.body_of(record), self.manual.format))

    def frame(self) -> tuple[bytes, bytes, bytes]:
        return batch_frame(self.manual.format, self.batching.wrap)

    def check(self, record: dict[str, Any]) -> list[Problem]:
        """Local checks: the URL's placeholders are present; under ``max_bytes`` the record fits alone."""
        problems: list[Problem] = [
            (name, "can't be blank (the URL needs it)")
            for name in self.fields_needed()
            if record.get(name) is None or record.get(name) == ""
        ]
        if self.batched and self.batching.grouping == "max_bytes" and self.batching.max_bytes:
            prefix, _, suffix = self.frame()
            need = len(prefix) + len(suffix) + self.record_bytes(record)
            if need > self.batching.max_bytes:
                problems.append(
                    (
                        "record",
                        f"is {need} bytes as a request body, over the max_bytes budget of {self.batching.max_bytes}",
                    )
                )
        return problems

    def request(self, records: list[dict[str, Any]]) -> Request:
        """The request for one record (batching off) or a group of records (batching on)."""
        first = records[0]
        method, fmt = self.manual.method, self.manual.format
        headers = {name: fill_header(value, first) for name, value in self.manual.headers.items()}
        path = fill_url(self.manual.url, first)
        if method == "GET":
            return Request(method, path, headers=headers or None)
        if self.batched:
            prefix, separator, suffix = self.frame()
            content = prefix + separator.join(encode_record(self.body_of(r), fmt) for r in records) + suffix
        else:
            assert len(records) == 1, "batching is off: one record per request"
            body = self.body_of(first)
            content = encode_record(body, fmt)
            if fmt == "xml":
                content = _PROLOG.encode() + content
            if method == "DELETE" and not body:
                return Request(method, path, headers=headers or None)
        return Request(method, path, content=content, headers={"Content-Type": CONTENT_TYPES[fmt], **headers})
