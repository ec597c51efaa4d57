"""Who may use the console: the holder of its access token, from a page the console served.

As Jupyter does, the console prints its URL with a random token; ``?token=`` once sets an HttpOnly,
SameSite=Strict cookie, and every later request needs that cookie (a wrong token: a 403 page). Forms
and JSON posts carry a CSRF token (a second random value, rendered into the pages, never the access
token). The Host header must be the address served (a DNS-rebinding page cannot pass).
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass, field

from starlette.requests import Request

COOKIE = "engagesync_console"
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"
LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")


@dataclass
class Guard:
    token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    #: Host names the console answers to (its bind address, and loopback names).
    hosts: tuple[str, ...] = LOOPBACK

    def token_ok(self, given: str | None) -> bool:
        return bool(given) and hmac.compare_digest(given.encode(), self.token.encode())  # type: ignore[union-attr]

    def csrf_ok(self, given: str | None) -> bool:
        return bool(given) and hmac.compare_digest(given.encode(), self.csrf.encode())  # type: ignore[union-attr]

    def host_ok(self, request: Request) -> bool:
        host = request.headers.get("host", "")
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        return name in self.hosts or "*" in self.hosts

    def authorized(self, request: Request) -> bool:
        return self.token_ok(request.cookies.get(COOKIE))
