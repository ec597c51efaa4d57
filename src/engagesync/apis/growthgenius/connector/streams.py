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
from .client import _items, server_now_ms, updated_tick, window_params

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

#: What each column means (``COMMENT ON COLUMN``, ``streams NAME --columns``). The API document gives
#: examples, not definitions; where it is silent the text says what the field holds, nothing more.
_TIMES = {"created_at": "When it was created (UTC)", "updated_at": "When it last changed (UTC)"}
USER_DOCS = {
    "id": "GrowthGenius id of the user (a member of a team)",
    "team_id": "Id of the user's team",
    "created_at": _TIMES["created_at"],
    "email": "Email address of the user",
    "email_bcc": "The user's BCC email address",
    "first_name": "First name",
    "full_name": "Full name",
    "last_name": "Last name",
    "reporting_email": "The user's reporting email address",
    "roles": "Role names, e.g. superadmin, admin (JSON list)",
}
CONTACT_DOCS = {
    "id": "GrowthGenius id of the contact (a person the team added: prospected, by hand or by the API)",
    "annual_revenue": "Annual revenue (a number)",
    "bad_data_reason": "Reason the contact's data is bad, if any",
    "city": "City of the contact",
    "company_address": "Company address",
    "company_city": "Company city",
    "company_country": "Company country",
    "company_linkedin_url": "Company LinkedIn URL",
    "company_name": "Company name",
    "company_name_informal": "Informal (short) company name",
    "company_state": "Company state or region",
    "contact_account": "The contact's account as the API gives it, e.g. id and status (JSON)",
    "contact_account_id": "Id of the contact's account",
    "corporate_phone": "Corporate phone number",
    "country": "Country of the contact",
    **{f"custom{i}": f"Custom field {i} (free text)" for i in range(1, 10)},
    "email": "Email address (a create does not deduplicate on it)",
    "email_confidence": "Confidence in the email address (a number; 100 in the example)",
    "email_status": "Status of the email address",
    "employee_count": "Employee count",
    "facebook_url": "Facebook URL",
    "first_name": "First name",
    "first_phone": "First phone number",
    "full_name": "Full name",
    "home_phone": "Home phone number",
    "industry": "Industry",
    "keywords": "Keywords, comma-separated",
    "label_names": "Label names, as the API gives them (JSON)",
    "last_name": "Last name",
    "linkedin_url": "LinkedIn profile URL",
    "linkedin_username": "LinkedIn username",
    "lists": "Lists the contact is on, as the API gives them (JSON)",
    "mobile_phone": "Mobile phone number",
    "name": "Name",
    "other_phone": "Other phone number",
    "prospect_id": "Prospect id, if the contact was prospected",
    "seo_description": "SEO description",
    "stage": "Stage",
    "state": "State or region of the contact",
    "status": "Status of the contact, e.g. Ongoing",
    "technologies": "Technologies (free text)",
    "title": "Job title",
    "twitter_url": "Twitter URL",
    "unstructured_data": "Unstructured data, free-form (JSON)",
    "upload_identifier": "Identifier of the upload the contact came from",
    "user_id": "Id of the user (team member) set on the contact",
    "website": "Company website",
    "work_phone": "Work phone number",
    **_TIMES,
}
MESSAGE_DOCS = {
    "id": "GrowthGenius id of the message (a communication between a user and a contact)",
    "contact_id": "Id of the contact",
    "message_type": "Type of message, e.g. sales_force_message",
    "rendered_copy": "The message's text as sent",
    "rendered_subject": "The message's subject as sent, if any",
    "sent_at": "When it was sent (UTC)",
    "team_id": "Id of the user's team",
    "user_id": "Id of the user",
    **_TIMES,
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
    #: Learn whether windows answer oldest first and then trust full answers (``TimeWindows.learn_order``).
    learn_order: bool = True

    def pages(self, client: ApiClient, state: dict[str, Any] | None) -> Iterator[Page]:
        def fetch(start: int, end: int) -> list[dict[str, Any]]:
            return _items(client.get_json(self.path, window_params(start, end)), self.items_key)

        def until() -> int:
            return server_now_ms(client) - int(self.lag_seconds * 1000)

        pager = TimeWindows(
            fetch,
            self.limit,
            label=lambda ms: str(render_time(ms)),
            tick=updated_tick,
            learn_order=self.learn_order,
            key=lambda record: record.get("id"),
        )
        for window in pager.pages(state, until):
            yield Page(window.records, window.state, requests=window.requests)

    def restart_state(self, last: dict[str, Any] | None) -> dict[str, Any] | None:
        return restart_state(last)


def streams(limit: int = WINDOW_LIMIT, lag_seconds: float = LAG_SECONDS, learn_order: bool = True) -> dict[str, Stream]:
    """Every GrowthGenius stream by name (``learn_order``: see ``UpdatedWindowStream``)."""
    out: list[Stream] = [
        UsersStream(
            StreamSpec("users", ("id",), USER_COLUMNS, "Team members with integrations enabled", docs=USER_DOCS)
        ),
        UpdatedWindowStream(
            StreamSpec("contacts", ("id",), CONTACT_COLUMNS, "Contacts, incremental on updated_at", docs=CONTACT_DOCS),
            "contacts",
            "contacts",
            limit,
            lag_seconds,
            learn_order,
        ),
        UpdatedWindowStream(
            StreamSpec(
                "messages",
                ("id",),
                MESSAGE_COLUMNS,
                "Messages between users and contacts, incremental on updated_at",
                docs=MESSAGE_DOCS,
            ),
            "messages",
            "messages",
            limit,
            lag_seconds,
            learn_order,
        ),
    ]
    return {s.spec.name: s for s in out}
