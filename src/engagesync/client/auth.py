"""Credentials as ``httpx.Auth`` objects, each able to list its secrets for redaction.

OAuth 2.0 (token holder with refresh) plugs in here as another ``Credential``.
"""

from __future__ import annotations

from collections.abc import Generator

import httpx


class Credential(httpx.Auth):
    def secrets(self) -> list[str]:
        return []

    def __repr__(self) -> str:  # never print a secret, even by accident
        return f"{type(self).__name__}(***)"


class BearerToken(Credential):
    """``Authorization: Bearer <token>`` (Groove helpdesk, Volt)."""

    def __init__(self, token: str) -> None:
        self._token = token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self._token}"
        yield request

    def secrets(self) -> list[str]:
        return [self._token]


class HeaderKey(Credential):
    """A key in a header (optionally with a prefix) plus fixed query parameters.

    GrowthGenius sends ``Authorization: <key>`` with no "Bearer" and a ``user_id`` on every request.
    """

    def __init__(
        self, key: str, header: str = "Authorization", prefix: str = "", query: dict[str, str] | None = None
    ) -> None:
        self._key = key
        self._header = header
        self._prefix = prefix
        self._query = dict(query or {})

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers[self._header] = f"{self._prefix}{self._key}"
        if self._query:
            request.url = request.url.copy_merge_params(self._query)
        yield request

    def secrets(self) -> list[str]:
        return [self._key]
