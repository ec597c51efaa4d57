"""A running sandbox's admin API (``/_sandbox``), driven from outside: by the console's Sandbox screen
and by ``engagesync sandbox clock|faults|rate-limit``, through this one client.

The sandbox owns the rules (the clock only moves forward, the shape of a fault rule, a limit >= 1);
this client only carries a request there and turns a refusal or an absent sandbox into one line.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from ..errors import FAILED, USAGE, UserError


def parse_rules(text: str, where: str = "fault rules") -> list[dict[str, Any]]:
    """Fault rules from JSON text: a list of rules (``{"rules": [...]}`` too); empty text is none."""
    if not text.strip():
        return []
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserError(f"{where}: not JSON (line {exc.lineno}: {exc.msg})") from None
    rules = data.get("rules") if isinstance(data, dict) else data
    if not isinstance(rules, list) or not all(isinstance(r, dict) for r in rules):
        raise UserError(f'{where}: expected a JSON list of rules, e.g. [{{"match": {{...}}, "effect": {{...}}}}]')
    return rules


class SandboxAdmin:
    """Calls to one sandbox's admin API (it answers loopback clients only)."""

    def __init__(self, url: str, timeout: float = 10) -> None:
        self.url, self.timeout = url.rstrip("/"), timeout

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = httpx.request(method, f"{self.url}/_sandbox/{path}", timeout=self.timeout, **kwargs)
        except httpx.HTTPError as exc:
            raise UserError(
                f"the sandbox at {self.url} does not answer ({type(exc).__name__}); "
                "start one with `engagesync sandbox serve`",
                FAILED,
            ) from None
        if response.status_code >= 400:
            raise UserError(
                f"the sandbox refused {method} /_sandbox/{path}: {response.status_code} {response.text[:200]}", USAGE
            )
        return response.json() if response.content else None

    def clock(self) -> dict[str, Any]:
        return dict(self.call("GET", "clock"))

    def advance(self, seconds: float) -> dict[str, Any]:
        return dict(self.call("POST", "clock/advance", json={"seconds": seconds}))

    def freeze(self, frozen: bool = True) -> dict[str, Any]:
        return dict(self.call("POST", "clock/freeze" if frozen else "clock/unfreeze"))

    def faults(self) -> dict[str, Any]:
        return dict(self.call("GET", "faults"))

    def set_faults(self, rules: list[dict[str, Any]]) -> dict[str, Any]:
        """Replace the fault rules (none: clear them)."""
        return dict(self.call("PUT", "faults", json={"rules": rules}) if rules else self.call("DELETE", "faults"))

    def rate_limits(self) -> dict[str, Any]:
        return dict(self.call("GET", "rate-limits"))

    def set_rate_limit(self, api: str, limit: int | None, window_seconds: float = 60) -> dict[str, Any]:
        """Hold ``api``'s credentials to ``limit`` requests per window (``None``: no limit)."""
        if limit is None:
            return dict(self.call("DELETE", f"rate-limits/{api}"))
        return dict(self.call("PUT", f"rate-limits/{api}", json={"limit": limit, "window_seconds": window_seconds}))

    def journal(self, limit: int = 30) -> list[dict[str, Any]]:
        data = self.call("GET", "requests", params={"limit": limit})
        items = data.get("requests", data) if isinstance(data, dict) else data
        return list(items or [])[-limit:]
