"""GrowthGenius source streams: users (one list), contacts and messages (``updated_at`` windows).

Contacts and messages are incremental through ``client/windows.py``: a pass reads ``[since, now - lag]``
in windows that split when the API's answer is full, committing the cursor with every window; the
next pull starts where the last pass ended (``restart_state``). Deleted records vanish from the API's
windows, so a pull never removes rows from the store.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ....client.http import ApiClient
from ....client.streams import Page, Stream, StreamSpec
from ....client.windows import TimeWindows, restart_state
from ..contract import CONTACT_FIELDS, WINDOW_LIMIT, render_time
from .client import _items, server_now_ms, window_params

V, B, D, TS, J = "VARCHAR", "BIGINT", "DOUBLE", "TIMESTAMPTZ", "JSON"
_DUCK = {"string": V, "email": V, "integer": B, "number": D, "account": J, "any": J}

CONTACT_COLUMNS = {"id": B, **{k: _DUCK[t] for k, t in CONTACT_FIELDS.items()}, "created_at": TS, "updated_at": TS}
MESSAGE_COLUMNS = {
    "id": B,
    "contact_id": B,
    "message_type": V,
    "rendered_copy": V,
    "rendered_subject": V,
    "sent_at": TS,
    "team_id": B,
    "user_id": B,
    "created_at": TS,
    "updated_at": TS,
}
USER_COLUMNS = {
    "id": B,
    "team_id": B,
    "created_at": TS,
    "email": V,
    "email_bcc": V,
    "first_name": V,
    "full_name": V,
    "last_name": V,
    "reporting_email": V,
    "roles": J,
}

#: Seconds a pass stays behind the server's clock, so writes in flight at its end land in the next pass.
LAG_SECONDS = 2.0


@dataclass
class UsersStream:
    """The team's users with integrations enabled: one request, full refresh."""

    spec: StreamSpec

    def pages(self, client: ApiClient, state: dict[str, Any] | None) -> Iterator[Page]:
        yield Page(_items(client.get_json("users"), "users"), None)


@dataclass
class UpdatedWindowStream:
    """A ``from``/``to`` list on ``updated_at``, read in adaptive windows (see ``client/windows.py``)."""

    spec: StreamSpec
    path: str
    items_key: str
    #: Most records one window answers with (the sandbox's default; set it to the API's).
    limit: int = WINDOW_LIMIT
    lag_seconds: float = LAG_SECONDS

    def pages(self, client: ApiClient, state: dict[str, Any] | None) -> Iterator[Page]:
        def fetch(start: int, end: int) -> list[dict[str, Any]]:
            return _items(client.get_json(self.path, window_params(start, end)), self.items_key)

        def until() -> int:
            return server_now_ms(client) - int(self.lag_seconds * 1000)

        pager = TimeWindows(fetch, self.limit, label=lambda ms: str(render_time(ms)))
        for window in pager.pages(state, until):
            yield Page(window.records, window.state, requests=window.requests)

    def restart_state(self, last: dict[str, Any] | None) -> dict[str, Any] | None:
        return restart_state(last)


def streams(limit: int = WINDOW_LIMIT, lag_seconds: float = LAG_SECONDS) -> dict[str, Stream]:
    """Every GrowthGenius stream by name."""
    out: list[Stream] = [
        UsersStream(StreamSpec("users", ("id",), USER_COLUMNS, "Team members with integrations enabled")),
        UpdatedWindowStream(
            StreamSpec("contacts", ("id",), CONTACT_COLUMNS, "Contacts, incremental on updated_at"),
            "contacts",
            "contacts",
            limit,
            lag_seconds,
        ),
        UpdatedWindowStream(
            StreamSpec(
                "messages", ("id",), MESSAGE_COLUMNS, "Messages between users and contacts, incremental on updated_at"
            ),
            "messages",
            "messages",
            limit,
            lag_seconds,
        ),
    ]
    return {s.spec.name: s for s in out}
