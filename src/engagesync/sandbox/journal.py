"""Request journal and counters (``GET /_sandbox/requests``, ``/_sandbox/stats``).

Kept in memory in a bounded ring: a long benchmark must not grow the sandbox without limit.
Secrets never enter it: the query string is stored with credential parameters redacted, and of the
request headers (kept so a client's own headers can be checked) the credential-bearing ones are
redacted. The first ``BODY_CAP`` bytes of each request body are kept as text, with the full size.
"""

from __future__ import annotations

import json
import re
import threading
from collections import Counter, deque
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

SECRET_PARAMS = {"access_token", "api_key", "token", "client_secret", "refresh_token", "code", "password"}
#: Headers whose values are credentials: shown as ``[redacted]``.
SECRET_HEADERS = {"authorization", "proxy-authorization", "cookie", "x-api-key", "api-key"}
#: Bytes of a request body the journal keeps (``body_bytes`` has the full size).
BODY_CAP = 8192


def redact_body(body: str | None, content_type: str | None) -> str | None:
    """A form or JSON body with credential fields (``client_secret``, ``refresh_token``...) redacted."""
    if not body:
        return body
    kind = (content_type or "").split(";")[0].strip().lower()
    if kind == "application/x-www-form-urlencoded":
        return redact_query(body)
    if kind.endswith("json") and any(name in body for name in SECRET_PARAMS):
        try:
            return json.dumps(_redact_json(json.loads(body)))
        except ValueError:  # cut at BODY_CAP, or not JSON after all: keep nothing that may hold a secret
            return "[redacted]"
    return body


def _redact_json(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: "[redacted]" if k.lower() in SECRET_PARAMS else _redact_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact_json(v) for v in value]
    return value


def redact_headers(raw: list[tuple[bytes, bytes]]) -> dict[str, str]:
    """Request headers by lower-case name, credentials redacted (repeated names joined with ", ")."""
    headers: dict[str, str] = {}
    for key, value in raw:
        name = key.decode("latin-1").lower()
        text = "[redacted]" if name in SECRET_HEADERS else value.decode("latin-1")
        headers[name] = f"{headers[name]}, {text}" if name in headers else text
    return headers


#: A query ``parse_qsl`` + ``urlencode`` give back unchanged: ``name=value`` pairs of unreserved characters.
_PLAIN_QUERY = re.compile(r"(?:[\w.~-]+=[\w.~-]*(?:&[\w.~-]+=[\w.~-]*)*)?", re.ASCII)


def redact_query(query: str) -> str:
    if _PLAIN_QUERY.fullmatch(query) and not any(
        name.lower() in SECRET_PARAMS for name in re.findall(r"([^&=]+)=", query)
    ):
        return query  # the common case (``page=2&per_page=50``), without a parse and re-encode
    pairs = parse_qsl(query, keep_blank_values=True)
    return urlencode([(k, "[redacted]" if k.lower() in SECRET_PARAMS else v) for k, v in pairs])


@dataclass
class JournalEntry:
    id: int
    at: float
    api: str
    method: str
    path: str
    query: str
    status: int = 0
    tenant_id: int | None = None
    duration_ms: float = 0.0
    rate_limited: bool = False
    fault: str | None = None
    operation: str | None = None
    headers: dict[str, str] | None = None
    body: str | None = None
    body_bytes: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Journal:
    def __init__(self, capacity: int = 10_000) -> None:
        self._entries: deque[JournalEntry] = deque(maxlen=capacity)
        self._lock = threading.Lock()
        self._next = 1
        self.counts: Counter[str] = Counter()

    def open(self, at: float, api: str, method: str, path: str, query: str) -> JournalEntry:
        with self._lock:
            entry = JournalEntry(self._next, at, api, method, path, redact_query(query))
            self._next += 1
            self._entries.append(entry)
            return entry

    def close(self, entry: JournalEntry, status: int, duration_ms: float) -> None:
        entry.body = redact_body(entry.body, (entry.headers or {}).get("content-type"))
        entry.status = status
        entry.duration_ms = round(duration_ms, 3)
        with self._lock:
            self.counts[f"{entry.api}:requests"] += 1
            self.counts[f"{entry.api}:status:{status}"] += 1
            if entry.rate_limited:
                self.counts[f"{entry.api}:rate_limited"] += 1
            if entry.fault:
                self.counts[f"{entry.api}:faults"] += 1

    def entries(
        self,
        api: str | None = None,
        method: str | None = None,
        status: int | None = None,
        tenant_id: int | None = None,
        limit: int = 100,
        since_id: int = 0,
    ) -> list[JournalEntry]:
        with self._lock:
            items = list(self._entries)
        out = [
            e
            for e in items
            if e.id > since_id
            and (api is None or e.api == api)
            and (method is None or e.method == method)
            and (status is None or e.status == status)
            and (tenant_id is None or e.tenant_id == tenant_id)
        ]
        return out[-limit:] if limit else out

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.counts.clear()

    def stats(self) -> dict[str, Any]:
        with self._lock:
            counts = dict(self.counts)
        per_api: dict[str, dict[str, Any]] = {}
        for key, value in counts.items():
            api, _, rest = key.partition(":")
            slot = per_api.setdefault(api, {"requests": 0, "rate_limited": 0, "faults": 0, "by_status": {}})
            if rest.startswith("status:"):
                slot["by_status"][rest.split(":", 1)[1]] = value
            else:
                slot[rest] = value
        return per_api
