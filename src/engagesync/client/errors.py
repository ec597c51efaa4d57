"""Typed errors: what went wrong, in the vendor's words, and never a secret.

Every message is built from the status, the vendor's own error text and a redacted URL; request
headers (where credentials live) never enter an error.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

#: Query parameters whose values are credentials.
SECRET_PARAMS = frozenset(
    {"access_token", "api_key", "apikey", "token", "key", "client_secret", "refresh_token", "code", "password"}
)


def redact_url(url: str, secrets: Iterable[str] = ()) -> str:
    parts = urlsplit(str(url))
    query = urlencode(
        [
            (k, "[redacted]" if k.lower() in SECRET_PARAMS else v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
        ]
    )
    out = urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))
    return redact_text(out, secrets)


def redact_text(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "[redacted]")
    return text


class EngageSyncError(Exception):
    """Base of every error engagesync raises on purpose."""


class ApiError(EngageSyncError):
    """The API answered with an error status."""

    def __init__(
        self,
        status: int,
        messages: list[str],
        method: str,
        url: str,
        body: Any = None,
        fields: list[str | None] | None = None,
    ) -> None:
        self.status = status
        self.messages = messages
        #: The field each message is about, when the connector knows it (same order as ``messages``).
        self.fields = fields or []
        self.method = method
        self.url = url
        self.body = body
        detail = "; ".join(messages) if messages else "(no message)"
        super().__init__(f"{method} {url} -> {status}: {detail}")

    @property
    def reason(self) -> str:
        return "; ".join(self.messages) if self.messages else f"HTTP {self.status}"


class AuthError(ApiError):
    """401/403: the credential is missing, wrong, expired or lacks permission."""


class NotFoundError(ApiError):
    """404."""


class RejectedError(ApiError):
    """400/409/422: the vendor refused the request's content; retrying the same request won't help."""


class RateLimitedError(ApiError):
    """429 that outlasted the retry policy."""


class ServerError(ApiError):
    """5xx that outlasted the retry policy."""


class TransportError(EngageSyncError):
    """No usable response: connection refused or dropped, or a timeout."""

    def __init__(self, message: str, method: str, url: str, maybe_sent: bool) -> None:
        self.method = method
        self.url = url
        #: True when the server may have received (and acted on) the request.
        self.maybe_sent = maybe_sent
        super().__init__(f"{method} {url}: {message}")


class OutcomeUnknown(TransportError):
    """A non-idempotent request may or may not have taken effect; look it up before sending it again."""


def error_for_status(status: int) -> type[ApiError]:
    if status in (401, 403):
        return AuthError
    if status == 404:
        return NotFoundError
    if status == 429:
        return RateLimitedError
    if status >= 500:
        return ServerError
    return RejectedError


class GraphQLError(EngageSyncError):
    """One entry of a GraphQL response's ``errors``: the vendor's message, where, and its code.

    Built only from the response's ``message``, ``path`` and ``extensions.code``, after redaction, so
    it never carries a credential.
    """

    def __init__(
        self,
        message: str,
        path: tuple[str | int, ...] = (),
        code: str | None = None,
        locations: tuple[tuple[int, int], ...] = (),
    ) -> None:
        self.message = message
        self.path = path
        self.code = code
        self.locations = locations
        where = f" at {'.'.join(str(p) for p in path)}" if path else ""
        super().__init__(f"{message}{where}{f' ({code})' if code else ''}")

    @property
    def reason(self) -> str:
        return self.message


class GraphQLRequestError(EngageSyncError):
    """A GraphQL request that produced no data at all: every error the server reported."""

    def __init__(self, errors: list[GraphQLError], operation: str | None = None) -> None:
        self.errors = errors
        self.operation = operation
        detail = "; ".join(str(e) for e in errors) or "(no message)"
        super().__init__(f"GraphQL {operation or 'request'} failed: {detail}")

    @property
    def reason(self) -> str:
        return "; ".join(e.message for e in self.errors) or "GraphQL request failed"


class InvalidQuery(EngageSyncError):
    """An operation the schema refuses, caught locally before any request is sent."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid GraphQL operation (not sent): " + "; ".join(problems))
