"""GrowthGenius client: ``make_client``, ``check``, server time, and one method per endpoint."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from typing import Any

from ....client.auth import HeaderKey
from ....client.budget import RateBudget
from ....client.http import ApiClient, default_error_parser
from ..contract import SEARCH_MAX_PER_PAGE, parse_time, render_time

#: GrowthGenius's limit is undocumented; the sandbox emulates 100 requests per 60 s window.
WINDOW_SECONDS = 60.0
#: Settings of a connection passed to ``make_client`` (besides its secrets).
CONNECTION_SETTINGS = ("user_id",)

Json = dict[str, Any]


def make_client(
    base_url: str, api_key: str | None = None, user_id: int | str | None = None, token: str | None = None, **kwargs: Any
) -> ApiClient:
    """An ``ApiClient`` sending ``Authorization: <api_key>`` and ``?user_id=`` on every request.

    ``token`` is accepted as the key (``engagesync connect --token``). ``window_seconds`` and ``on_wait``
    shape the rate budget unless a ``budget`` is given; other keywords go to ``ApiClient``.
    """
    key = api_key or token
    if not key:
        raise ValueError("a GrowthGenius connection needs its API key (--token, or api_key)")
    if user_id is None or not str(user_id).strip().isdigit():
        raise ValueError(
            "a GrowthGenius connection needs the numeric user_id of a team member with integrations "
            f"enabled (got {user_id!r}); e.g. engagesync connect --api growthgenius --setting user_id=42"
        )
    window = float(kwargs.pop("window_seconds", WINDOW_SECONDS))
    on_wait = kwargs.pop("on_wait", None)
    budget = kwargs.pop("budget", None) or RateBudget(window_seconds=window, on_wait=on_wait)
    kwargs.setdefault("error_parser", default_error_parser)  # {"error": "...", "errors": {field: [...]}}
    auth = HeaderKey(key, query={"user_id": str(user_id).strip()})
    return ApiClient(base_url, auth=auth, budget=budget, **kwargs)


def check(client: ApiClient) -> dict[str, Any]:
    """Test key and user_id with one cheap call (the current user); raises ``AuthError`` when refused."""
    user = client.get_json("users/").get("user") or {}
    return {
        "ok": True,
        "base_url": client.base_url,
        "user": user.get("email"),
        "user_id": user.get("id"),
        "team_id": user.get("team_id"),
    }


def server_now_ms(client: ApiClient) -> int:
    """A lower bound of the server's time now, from a fresh ``Date`` header (one cheap request).

    Always asked, never assumed: a local clock ahead of the server's would put a pass's upper bound
    in the server's future and lose the records written between its true "now" and that bound.
    """
    client.get("users")
    return int(client.budget.sync.earliest(time.time()) * 1000)


def _items(body: Any, key: str) -> list[Json]:
    raw = body.get(key) if isinstance(body, dict) else None
    return [i for i in raw if isinstance(i, dict)] if isinstance(raw, list) else []


class GrowthGenius:
    """Every GrowthGenius integrations v1 endpoint as a method; answers are the API's JSON."""

    def __init__(self, client: ApiClient) -> None:
        self.client = client

    def _send(self, method: str, path: str, body: Any = None, idempotent: bool | None = None) -> Json:
        response = self.client.request(method, path, json=body, idempotent=idempotent)
        data: Json = response.json() if response.content else {}
        return data

    # -- users -------------------------------------------------------------------------------------
    def users(self) -> list[Json]:
        return _items(self.client.get_json("users"), "users")

    def me(self) -> Json:
        user: Json = self.client.get_json("users/")["user"]
        return user

    # -- contacts ----------------------------------------------------------------------------------
    def create_contact(self, **fields: Any) -> Json:
        return self._send("POST", "contacts", {"contact": fields})

    def update_contact(self, contact_id: int, **fields: Any) -> Json:
        return self._send("PATCH", f"contacts/{int(contact_id)}", {"contact": fields}, idempotent=True)

    def search_contacts(
        self,
        q_keywords: str = "",
        *,
        sort_by_field: str | None = None,
        sort_ascending: bool | None = None,
        page: int = 1,
        per_page: int = SEARCH_MAX_PER_PAGE,
    ) -> Json:
        body: Json = {"q_keywords": q_keywords, "page": page, "per_page": per_page}
        if sort_by_field is not None:
            body["sort_by_field"] = sort_by_field
        if sort_ascending is not None:
            body["sort_ascending"] = sort_ascending
        return self._send("POST", "contacts/search", body, idempotent=True)  # a search changes nothing

    def iter_search(self, q_keywords: str = "", **options: Any) -> Iterator[Json]:
        """Every contact a search finds (unwrapped from ``{"contact": ...}``), page after page."""
        page = 1
        while True:
            body = self.search_contacts(q_keywords, page=page, **options)
            for item in _items(body, "contacts"):
                yield item.get("contact", item)
            total_pages = int((body.get("pagination") or {}).get("total_pages") or 0)
            if page >= total_pages or not body.get("contacts"):
                return
            page += 1

    def find_by_email(self, email: str) -> list[Json]:
        """Contacts whose email is exactly ``email`` (any case), oldest first: the API may hold several."""
        wanted = email.strip().lower()
        found = [
            c
            for c in self.iter_search(wanted, sort_by_field="contact_created_at", sort_ascending=True)
            if str(c.get("email") or "").strip().lower() == wanted
        ]
        return sorted(found, key=lambda c: int(c["id"]))

    # -- messages ----------------------------------------------------------------------------------
    def list_messages(self, start_ms: int | None = None, end_ms: int | None = None) -> list[Json]:
        return _items(self.client.get_json("messages", window_params(start_ms, end_ms)), "messages")

    def get_message(self, message_id: int) -> Json:
        message: Json = self.client.get_json(f"messages/{int(message_id)}")["message"]
        return message

    def create_message(self, **fields: Any) -> Json:
        return self._send("POST", "messages", {"message": fields})

    def update_message(self, message_id: int, **fields: Any) -> Json:
        return self._send("PATCH", f"messages/{int(message_id)}", {"message": fields}, idempotent=True)


def updated_tick(record: Json) -> int | None:
    """A record's ``updated_at`` in whole milliseconds, the windows' ticks (``None`` if unreadable)."""
    ms = parse_time(record.get("updated_at"))
    return math.floor(ms) if ms is not None else None


def window_params(start_ms: int | None, end_ms: int | None) -> Json:
    """``from``/``to`` at millisecond precision with the team's offset, as the API renders its own times."""
    params: Json = {}
    if start_ms is not None:
        params["from"] = render_time(int(start_ms))
    if end_ms is not None:
        params["to"] = render_time(int(end_ms))
    return params
