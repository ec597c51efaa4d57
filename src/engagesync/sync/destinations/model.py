"""A destination's saved configuration (seed 002's screens as data), with one-line errors naming the field.

The configuration is what ``create``/``edit`` build from options or a YAML file, what the store keeps
(one version per change) and what ``show`` prints. Checks that need no connector live here (a batch
setting's companions, header syntax, a JSON batch shape); checks against the connection's API (the
template exists, batching fits it) are in ``engine.check_against``.
"""

from __future__ import annotations

import re
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ...errors import UserError

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
FORMATS = ("json", "form", "xml", "text")
GROUPINGS = ("fixed", "by_attribute", "max_bytes")
#: Nexla's default batch size.
DEFAULT_BATCH_SIZE = 100
#: Headers the connection's credential sets: a configuration cannot set them (no accidental override).
AUTH_HEADERS = frozenset({"authorization", "proxy-authorization"})
_HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,62}$")


class ConfigError(UserError):
    """A configuration that cannot work; the message names the field (``batching.group_by: ...``)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Manual(_Strict):
    """Seed 002's "Configure Manually" (the Advanced tab)."""

    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = "POST"
    #: Relative to the connection's base URL, or absolute on its host; ``{field}`` placeholders.
    url: str
    format: Literal["json", "form", "xml", "text"] = "json"
    headers: dict[str, str] = Field(default_factory=dict)

    @field_validator("method", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("format", mode="before")
    @classmethod
    def _format(cls, value: Any) -> Any:
        aliases = {"form-urlencoded": "form", "x-www-form-urlencoded": "form", "plain": "text", "plain text": "text"}
        return aliases.get(value.lower(), value.lower()) if isinstance(value, str) else value

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value.strip()

    @field_validator("headers")
    @classmethod
    def _headers(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            if not _HEADER_NAME.match(name):
                raise ValueError(f"{name!r} is not a valid header name")
            if name.lower() in AUTH_HEADERS:
                raise ValueError(f"{name} is sent by the connection's credential and cannot be set here")
            if name.lower() in ("content-type", "content-length", "host"):
                raise ValueError(f"{name} follows from the format and URL and cannot be set here")
        return value


class Endpoint(_Strict):
    """Either a template (an action of the connection's API) or a manual configuration."""

    template: str | None = None
    manual: Manual | None = None

    @model_validator(mode="after")
    def _one(self) -> Endpoint:
        if (self.template is None) == (self.manual is None):
            raise ValueError("give either a template or a manual configuration (method and URL), not both or neither")
        return self


class Batching(_Strict):
    enabled: bool = False
    size: int = Field(default=DEFAULT_BATCH_SIZE, ge=1, le=10_000)
    grouping: Literal["fixed", "by_attribute", "max_bytes"] = "fixed"
    #: ``by_attribute``: records sharing this attribute's value share a request.
    group_by: str | None = None
    #: ``max_bytes``: a request body never exceeds this many bytes.
    max_bytes: int | None = Field(default=None, ge=16)
    #: Manual JSON/XML batches: the key (XML: root element) the records are wrapped under; none = a bare array.
    wrap: str | None = None

    @model_validator(mode="after")
    def _companions(self) -> Batching:
        if self.grouping == "by_attribute" and not self.group_by:
            raise ValueError("group_by: the by_attribute grouping needs the attribute (--group-by)")
        if self.grouping == "max_bytes" and not self.max_bytes:
            raise ValueError("max_bytes: the max_bytes grouping needs the byte budget (--max-bytes)")
        if self.group_by and self.grouping != "by_attribute":
            raise ValueError("group_by: only the by_attribute grouping uses it")
        if self.max_bytes and self.grouping != "max_bytes":
            raise ValueError("max_bytes: only the max_bytes grouping uses it")
        return self


class Responses(_Strict):
    """Seed 002's response webhook: each API response kept as the source ``<destination>.responses``."""

    enabled: bool = False
    #: Response headers kept with each response (lower-case names).
    headers: list[str] = Field(default_factory=lambda: ["content-type", "location"])
    #: Each response is also POSTed here, signed (Standard Webhooks).
    webhook_url: str | None = None

    @field_validator("headers")
    @classmethod
    def _lower(cls, value: list[str]) -> list[str]:
        names = [h.strip().lower() for h in value if h.strip()]
        for name in names:
            if not _HEADER_NAME.match(name):
                raise ValueError(f"header name {name!r} is not valid (give names only, e.g. content-type,location)")
        return names

    @field_validator("webhook_url")
    @classmethod
    def _http(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^/\s]+", value):
            raise ValueError("must be an http(s) URL")
        return value

    @model_validator(mode="after")
    def _needs(self) -> Responses:
        if self.webhook_url and not self.enabled:
            raise ValueError("webhook_url: turn the responses on (--responses) to forward them")
        return self


class DestinationConfig(_Strict):
    connection: str
    #: ``duckdb::schema.table`` (a table or view of the store), ``sql:SELECT ...``, or a CSV/JSONL file.
    source: str
    endpoint: Endpoint
    #: ``TO=FROM`` rules (``push --map``), applied before exclusion.
    map: list[str] = Field(default_factory=list)
    #: The column identifying a record across runs (``push --key``); default: a hash of the source row.
    key: str | None = None
    exclude: list[str] = Field(default_factory=list)
    batching: Batching = Field(default_factory=lambda: Batching())
    responses: Responses = Field(default_factory=lambda: Responses())

    @field_validator("connection", "source")
    @classmethod
    def _given(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value.strip()

    @model_validator(mode="after")
    def _fits(self) -> DestinationConfig:
        manual, batching = self.endpoint.manual, self.batching
        if manual is not None and batching.enabled:
            if manual.method == "GET":
                raise ValueError("batching: a GET sends no body to batch records in; turn batching off")
            if manual.format in ("form", "text") and batching.size > 1:
                raise ValueError(
                    f"batching: the {manual.format} format carries one record per request; use json or xml to batch"
                )
        if batching.wrap is not None and (manual is None or manual.format not in ("json", "xml")):
            raise ValueError("batching.wrap: only manual json or xml batches are wrapped under a key")
        if batching.enabled and batching.group_by and batching.group_by in self.exclude and manual is None:
            raise ValueError("batching.group_by: a template groups the records it sends; do not exclude that attribute")
        return self

    # -- YAML ----------------------------------------------------------------------------------------
    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_data(redact=True), sort_keys=False, allow_unicode=True)

    def to_data(self, *, redact: bool = False) -> dict[str, Any]:
        """Plain data to save (``redact=False``) or to show: shown, a header whose name looks like a
        credential has its value replaced (``show``, ``--json``, the console)."""
        data = self.model_dump(mode="json", exclude_none=True)
        endpoint = data["endpoint"]
        if "manual" in endpoint:
            endpoint["manual"] = {k: v for k, v in endpoint["manual"].items() if v != {}}
            if redact and "headers" in endpoint["manual"]:
                endpoint["manual"]["headers"] = shown_headers(endpoint["manual"]["headers"])
        return data


def parse(data: Any, where: str = "configuration") -> DestinationConfig:
    """A configuration from plain data; the first problem as one line naming its field."""
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping of settings, got {type(data).__name__}")
    try:
        return DestinationConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{where}: {first_error(exc)}") from None


def from_yaml(text: str, where: str = "configuration") -> DestinationConfig:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f", line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{where}{line}: not valid YAML ({getattr(exc, 'problem', None) or exc})") from None
    return parse(data, where)


def first_error(exc: ValidationError) -> str:
    """``batching.size: Input should be greater than or equal to 1`` (the field, then pydantic's reason)."""
    error = exc.errors()[0]
    loc = ".".join(str(p) for p in error["loc"] if not str(p).startswith("function-"))
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = "unknown setting"
    # a model-level check names its field at the start of its own message ("group_by: ...")
    if ":" in message.split(" ", 1)[0] and loc:
        return f"{loc}.{message}"
    return f"{loc}: {message}" if loc else message


def valid_name(name: str) -> str:
    if not _NAME.match(name):
        raise ConfigError(
            f"destination name {name!r}: use a letter, then letters, digits, '-' or '_' (at most 63 characters)"
        )
    return name


#: A header whose value is never shown, in a page, ``show``, ``--json`` or a test result: its name looks
#: like a credential. (The connection's own credential is redacted by value besides.)
SECRET_HEADER = re.compile(r"auth|token|key|secret|passw|signature|cookie|session", re.I)
REDACTED = "[redacted]"


def shown_header(name: str, value: str) -> str:
    return REDACTED if SECRET_HEADER.search(name) else value


def shown_headers(headers: dict[str, str]) -> dict[str, str]:
    return {name: shown_header(name, value) for name, value in headers.items()}


def restore_redacted(config: DestinationConfig, current: DestinationConfig | None) -> DestinationConfig:
    """``config`` with each header shown as ``[redacted]`` (by ``show`` or the console) given back its
    saved value, so a shown configuration can be edited and saved as it is."""
    manual = config.endpoint.manual
    if manual is None or REDACTED not in manual.headers.values():
        return config
    kept = current.endpoint.manual.headers if current is not None and current.endpoint.manual else {}
    headers = {}
    for name, value in manual.headers.items():
        if value == REDACTED and name not in kept:
            raise ConfigError(f"header {name}: {REDACTED} stands for a saved value, and none is saved; give the value")
        headers[name] = kept[name] if value == REDACTED else value
    endpoint = config.endpoint.model_copy(update={"manual": manual.model_copy(update={"headers": headers})})
    return config.model_copy(update={"endpoint": endpoint})


def parse_headers(specs: list[str]) -> dict[str, str]:
    """Nexla's ``header1:value1,header2:value2`` (and repeated ``--header H:V``) -> a dict.

    A comma followed by ``name:`` starts a new header; any other comma stays in the value, so
    ``Accept:text/html, application/json`` is one header."""
    headers: dict[str, str] = {}
    for spec in specs:
        for part in re.split(r",\s*(?=[!#$%&'*+\-.^_`|~0-9A-Za-z]+:)", spec):
            if not part.strip():
                continue
            name, sep, value = part.partition(":")
            if not sep or not name.strip():
                raise ConfigError(f"--header {part!r}: expected NAME:VALUE (e.g. X-Source:nexla)")
            headers[name.strip()] = value.strip()
    return headers
