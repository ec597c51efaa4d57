"""The HTTP client every connector uses: pooling, auth, rate budget, retries and typed errors.

Retry rules (peers retry blindly; creates then duplicate):
- 429: always retried, after the budget's wait (the server refused before doing anything).
- connection refused: always retried (nothing was sent).
- 5xx, timeouts, dropped connections: retried with jittered backoff for idempotent requests only
  (a timeout at most ``timeout_attempts`` times in all: each one already waited the full timeout);
  for a create the outcome is unknown, so ``OutcomeUnknown`` is raised for the caller's ledger to
  reconcile instead of risking a duplicate.
- other 4xx: never retried; raised as a typed error carrying the vendor's message.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from .auth import Credential
from .budget import RateBudget
from .errors import ApiError, OutcomeUnknown, TransportError, error_for_status, redact_text, redact_url

IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
#: Seconds to wait to connect, to send, and for each response (``--timeout`` / ``ENGAGESYNC_TIMEOUT``).
DEFAULT_TIMEOUT = 30.0
ErrorParser = Callable[[httpx.Response], list[str]]
EventListener = Callable[[str, dict[str, Any]], None]


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5
    #: Attempts in all when they time out: a server that accepts and never answers costs at most
    #: ``timeout_attempts * timeout`` (plus backoff), not ``attempts * timeout``.
    timeout_attempts: int = 3
    base_delay: float = 0.25
    max_delay: float = 30.0

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Full jitter: uniform in [0, min(max, base * 2**attempt)] (attempt counts from 1)."""
        return rng.uniform(0, min(self.max_delay, self.base_delay * 2 ** (attempt - 1)))


def default_error_parser(response: httpx.Response) -> list[str]:
    """Vendor messages from common JSON error shapes; the raw text otherwise."""
    try:
        body = response.json()
    except (ValueError, UnicodeDecodeError):
        text = response.text.strip()
        return [text[:500]] if text else []
    messages: list[str] = []
    if isinstance(body, dict):
        errors = body.get("errors", body.get("error"))
        if isinstance(errors, list):
            for item in errors:
                messages.append(item.get("message", json.dumps(item)) if isinstance(item, dict) else str(item))
        elif isinstance(errors, dict):
            for field, problems in errors.items():
                for problem in problems if isinstance(problems, list) else [problems]:
                    messages.append(f"{field} {problem}")
        elif isinstance(errors, str):
            messages.append(errors)
        elif isinstance(body.get("message"), str):
            messages.append(body["message"])
    return messages or [json.dumps(body)[:500]]


class ApiClient:
    """Synchronous, thread-safe client for one API credential."""

    def __init__(
        self,
        base_url: str,
        auth: Credential | None = None,
        budget: RateBudget | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
        error_parser: ErrorParser = default_error_parser,
        on_event: EventListener | None = None,
        rng: random.Random | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.auth = auth
        self.budget = budget if budget is not None else RateBudget()
        self.retry = retry or RetryPolicy()
        self.error_parser = error_parser
        self.on_event = on_event
        self._rng = rng or random.Random()
        self._sleep = sleep
        limits = httpx.Limits(max_connections=16, max_keepalive_connections=16)
        self.http = httpx.Client(
            base_url=self.base_url + "/",
            auth=auth,
            timeout=timeout,
            transport=transport,
            limits=limits,
            headers={"User-Agent": "engagesync"},
        )
        self.stats = {"requests": 0, "retries": 0, "rate_limited": 0}

    # -- plumbing --------------------------------------------------------------------------------
    def _secrets(self) -> list[str]:
        return self.auth.secrets() if self.auth else []

    def safe_url(self, url: str | httpx.URL) -> str:
        return redact_url(str(url), self._secrets())

    def _emit(self, kind: str, **data: Any) -> None:
        if self.on_event is not None:
            self.on_event(kind, data)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- requests --------------------------------------------------------------------------------
    def request(
        self,
        method: str,
        url: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        idempotent: bool | None = None,
        retry: bool = True,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """Send with the budget and retry policy; return a 2xx/3xx response or raise a typed error."""
        method = method.upper()
        safe_to_repeat = method in IDEMPOTENT if idempotent is None else idempotent
        attempts = self.retry.attempts if retry else 1
        attempt = 0
        while True:
            attempt += 1
            ticket = self.budget.acquire()
            sent = self.budget.clock()
            try:
                # an absolute URL: httpx parses it once (a relative one is parsed, then merged and parsed again)
                response = self.http.request(
                    method, self._full(url), params=params, json=json, content=content, headers=headers
                )
            except httpx.ConnectError as exc:
                self.budget.forget(ticket)
                if attempt < attempts:
                    self._backoff(attempt, method, url, "connection refused")
                    continue
                raise TransportError(
                    f"cannot connect ({redact_text(str(exc), self._secrets())})",
                    method,
                    self.safe_url(self._full(url)),
                    maybe_sent=False,
                ) from exc
            except httpx.TransportError as exc:  # timeouts, dropped connections
                self.budget.release({}, sent, self.budget.clock(), 0, ticket)
                kind = type(exc).__name__
                limit = (
                    min(attempts, self.retry.timeout_attempts) if isinstance(exc, httpx.TimeoutException) else attempts
                )
                if safe_to_repeat and attempt < limit:
                    self._backoff(attempt, method, url, kind)
                    continue
                cls = TransportError if safe_to_repeat else OutcomeUnknown
                raise cls(
                    f"{kind}: the request may have reached the server",
                    method,
                    self.safe_url(self._full(url)),
                    maybe_sent=True,
                ) from exc
            self.budget.release(response.headers, sent, self.budget.clock(), response.status_code, ticket)
            self.stats["requests"] += 1
            status = response.status_code
            if status == 429:
                self.stats["rate_limited"] += 1
                if attempt < attempts:
                    self._emit("rate_limited", url=self.safe_url(response.request.url))
                    continue  # the budget already knows how long to wait
            elif status >= 500 and attempt < attempts and safe_to_repeat:
                self._backoff(attempt, method, url, f"HTTP {status}")
                continue
            if status >= 500 and not safe_to_repeat:
                raise OutcomeUnknown(
                    f"HTTP {status} after sending: the create may or may not have happened",
                    method,
                    self.safe_url(response.request.url),
                    maybe_sent=True,
                )
            if status >= 400:
                raise self._error(response)
            return response

    def _full(self, url: str) -> str:
        return url if "://" in url else f"{self.base_url}/{url.lstrip('/')}"

    def _backoff(self, attempt: int, method: str, url: str, why: str) -> None:
        self.stats["retries"] += 1
        delay = self.retry.delay(attempt, self._rng)
        self._emit("retry", method=method, url=self.safe_url(self._full(url)), why=why, delay=delay, attempt=attempt)
        self._sleep(delay)

    def _error(self, response: httpx.Response) -> ApiError:
        messages = [redact_text(m, self._secrets()) for m in self.error_parser(response)]
        try:
            body: Any = response.json()
        except (ValueError, UnicodeDecodeError):
            body = response.text[:2000]
        cls = error_for_status(response.status_code)
        return cls(response.status_code, messages, response.request.method, self.safe_url(response.request.url), body)

    def get(self, url: str, params: dict[str, Any] | None = None) -> httpx.Response:
        return self.request("GET", url, params=params)

    def get_json(self, url: str, params: dict[str, Any] | None = None) -> Any:
        return self.request("GET", url, params=params).json()
