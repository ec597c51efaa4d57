"""Seed 003 conformance: every documented GrowthGenius example, in-process and over loopback.

The documented bodies are copied verbatim (as data); where the docs use another team's ids (a
contact 155715, team 1, user 78), the test substitutes the sandbox team's own.
"""

from __future__ import annotations

import re
from typing import Any

import httpx

ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d$")

USER_KEYS = {
    "id",
    "team_id",
    "created_at",
    "email",
    "email_bcc",
    "first_name",
    "full_name",
    "last_name",
    "reporting_email",
    "roles",
}

#: The documented contact (Create a Contact's response), verbatim.
DOC_CONTACT: dict[str, Any] = {
    "annual_revenue": None,
    "bad_data_reason": None,
    "city": None,
    "company_address": None,
    "company_city": "San Francisco",
    "company_country": "USA",
    "company_linkedin_url": "linkedin.com/company/anz",
    "company_name": "Apple Inc.",
    "company_name_informal": "Apple",
    "company_state": "Victoria",
    "contact_account": {"id": 485499, "status": "cold"},
    "contact_account_id": 485499,
    "corporate_phone": None,
    "country": "USA",
    "created_at": "2021-01-19T17:06:25.730-05:00",
    "custom1": None,
    "custom2": None,
    "custom3": None,
    "custom4": None,
    "custom5": None,
    "custom6": None,
    "custom7": None,
    "custom8": None,
    "custom9": None,
    "email": "sjobs@apple.com",
    "email_confidence": 100,
    "email_status": None,
    "employee_count": None,
    "facebook_url": None,
    "first_name": "Tony",
    "first_phone": None,
    "full_name": "Steve Jobs",
    "home_phone": None,
    "id": 1102755,
    "industry": "Computers",
    "keywords": "banking, finance, retail banking, commercial banking, credit risk, credit, financial risk, loans, "
    "credit analysis, relationship management, risk management, core banking, portfolio management, "
    "financial analysis, business relationship management, internet banking, mobile banking",
    "label_names": None,
    "last_name": "Barkley",
    "linkedin_url": "linkedin.com/in/tony-barkley-92824584",
    "linkedin_username": "tony-barkley-92824584",
    "lists": None,
    "mobile_phone": "NaN",
    "name": "Tony Barkley",
    "other_phone": None,
    "prospect_id": 236811124,
    "seo_description": None,
    "stage": None,
    "state": "Bay Of Plenty",
    "status": "Ongoing",
    "technologies": "",
    "title": "Relationship Associate",
    "twitter_url": None,
    "unstructured_data": None,
    "updated_at": "2021-01-19T17:07:20.529-05:00",
    "upload_identifier": None,
    "user_id": 1,
    "website": "anz.com",
    "work_phone": None,
}
SERVER_FIELDS = {"id", "created_at", "updated_at"}

#: The documented message (Create a Message's request), verbatim but for the ids of another team.
DOC_MESSAGE: dict[str, Any] = {
    "contact_id": 155715,
    "message_type": "sales_force_message",
    "rendered_copy": "Hey Louis,↵↵You hate prospecting. I love it. Maybe it's a perfect match?",
    "rendered_subject": None,
    "sent_at": "2019-08-09T07:10:41.275-04:00",
    "team_id": 1,
    "user_id": 78,
}
MESSAGE_KEYS = {"id", *DOC_MESSAGE}


def _message(gg: httpx.Client, contact_id: int) -> dict[str, Any]:
    team = gg.get("users/").json()["user"]["team_id"]
    return {**DOC_MESSAGE, "contact_id": contact_id, "team_id": team, "user_id": int(gg.params["user_id"])}


def test_get_all_users(gg_any: httpx.Client) -> None:
    body = gg_any.get("users").json()
    assert set(body) == {"users"} and body["users"]
    first = body["users"][0]
    assert set(first) == USER_KEYS
    assert first["id"] == 1 and first["team_id"] == 2 and first["roles"] == ["superadmin", "admin"]
    assert ISO_MS.match(first["created_at"])
    assert first["full_name"] == f"{first['first_name']} {first['last_name']}"


def test_the_user_api_needs_no_user_id_but_the_current_user_form_does(gg_any: httpx.Client) -> None:
    no_user = gg_any.get("users", params={"user_id": ""})
    assert no_user.status_code == 200 and no_user.json()["users"]
    me = gg_any.get("users/").json()
    assert set(me) == {"user"} and set(me["user"]) == USER_KEYS and me["user"]["id"] == int(gg_any.params["user_id"])


def test_create_a_contact_with_the_documented_request(gg_any: httpx.Client) -> None:
    response = gg_any.post(
        "contacts", json={"contact": {"first_name": "Steve", "last_name": "Jobs", "email": "sjobs@apple.com"}}
    )
    assert response.status_code == 201
    contact = response.json()["contact"]
    assert set(contact) == set(DOC_CONTACT)  # every documented field, no more
    assert (contact["first_name"], contact["last_name"], contact["email"]) == ("Steve", "Jobs", "sjobs@apple.com")
    assert contact["full_name"] == contact["name"] == "Steve Jobs"
    assert isinstance(contact["id"], int) and contact["user_id"] == int(gg_any.params["user_id"])
    assert ISO_MS.match(contact["created_at"]) and contact["created_at"] == contact["updated_at"]
    assert all(contact[f"custom{i}"] is None for i in range(1, 10))


def test_every_documented_contact_field_is_stored_and_returned(gg_any: httpx.Client) -> None:
    sent = {k: v for k, v in DOC_CONTACT.items() if k not in SERVER_FIELDS}
    created = gg_any.post("contacts", json={"contact": sent}).json()["contact"]
    fetched = gg_any.get(f"contacts/{created['id']}").json()
    assert set(fetched) == {"contact"}
    for body in (created, fetched["contact"]):
        assert {k: body[k] for k in sent} == sent
    custom = gg_any.patch(
        f"contacts/{created['id']}", json={"contact": {f"custom{i}": f"value {i}" for i in range(1, 10)}}
    ).json()["contact"]
    assert [custom[f"custom{i}"] for i in range(1, 10)] == [f"value {i}" for i in range(1, 10)]


def test_get_all_contacts_updated_between_from_and_to(gg_any: httpx.Client) -> None:
    made = gg_any.post("contacts", json={"contact": {"email": "window@apple.com"}}).json()["contact"]
    body = gg_any.get("contacts", params={"from": made["updated_at"], "to": made["updated_at"]}).json()
    assert set(body) == {"contacts"}
    assert [c["id"] for c in body["contacts"]] == [made["id"]]  # both bounds inclusive
    assert set(body["contacts"][0]) == set(DOC_CONTACT)


def test_update_a_contact_returns_the_same_json_and_moves_updated_at(gg_any: httpx.Client, sandbox: Any) -> None:
    made = gg_any.post("contacts", json={"contact": {"first_name": "Steve", "email": "sjobs@apple.com"}}).json()
    sandbox.ctx.clock.advance(1.5)
    response = gg_any.patch(f"contacts/{made['contact']['id']}", json={"contact": {"title": "CEO"}})
    assert response.status_code == 200
    updated = response.json()["contact"]
    assert set(updated) == set(DOC_CONTACT)
    assert updated["title"] == "CEO" and updated["first_name"] == "Steve"
    assert updated["created_at"] == made["contact"]["created_at"] and updated["updated_at"] > updated["created_at"]


def test_delete_a_contact(gg_any: httpx.Client) -> None:
    made = gg_any.post("contacts", json={"contact": {"email": "gone@apple.com"}}).json()["contact"]
    deleted = gg_any.delete(f"contacts/{made['id']}")
    assert deleted.status_code == 200 and deleted.json()["contact"]["id"] == made["id"]
    missing = gg_any.get(f"contacts/{made['id']}")
    assert missing.status_code == 404 and missing.json() == {"status": 404, "error": f"Contact {made['id']} not found"}


def test_get_a_specific_contact(gg_any: httpx.Client) -> None:
    made = gg_any.post("contacts", json={"contact": {"email": "one@apple.com"}}).json()
    assert gg_any.get(f"contacts/{made['contact']['id']}").json() == made


def test_create_a_message_with_the_documented_request(gg_any: httpx.Client) -> None:
    contact = gg_any.post("contacts", json={"contact": {"first_name": "Louis", "email": "louis@x.example"}}).json()
    sent = _message(gg_any, contact["contact"]["id"])
    response = gg_any.post("messages", json={"message": sent})
    assert response.status_code == 201
    message = response.json()["message"]
    assert set(message) >= MESSAGE_KEYS and isinstance(message["id"], int)
    assert {k: message[k] for k in sent} == sent  # sent_at keeps its documented offset, -04:00 in August


def test_update_get_list_and_delete_a_message(gg_any: httpx.Client, sandbox: Any) -> None:
    contact = gg_any.post("contacts", json={"contact": {"email": "louis@x.example"}}).json()["contact"]
    made = gg_any.post("messages", json={"message": _message(gg_any, contact["id"])}).json()["message"]
    sandbox.ctx.clock.advance(1.5)
    updated = gg_any.patch(f"messages/{made['id']}", json={"message": {"rendered_subject": "Perfect match"}}).json()
    assert set(updated) == {"message"} and updated["message"]["rendered_subject"] == "Perfect match"
    assert gg_any.get(f"messages/{made['id']}").json() == updated
    listed = gg_any.get("messages", params={"from": updated["message"]["updated_at"]}).json()
    assert set(listed) == {"messages"} and [m["id"] for m in listed["messages"]] == [made["id"]]
    assert set(listed["messages"][0]) >= MESSAGE_KEYS
    assert gg_any.delete(f"messages/{made['id']}").status_code == 200
    assert gg_any.get(f"messages/{made['id']}").status_code == 404


def test_creates_are_never_deduplicated(gg_any: httpx.Client) -> None:
    body = {
        "contact": {
            "first_name": "Steve",
            "last_name": "Jobs",
            "email": "sjobs@apple.com",
            "company_name": "Apple Inc.",
        }
    }
    first = gg_any.post("contacts", json=body).json()["contact"]
    second = gg_any.post("contacts", json=body).json()["contact"]
    assert first["id"] != second["id"]
    found = gg_any.post("contacts/search", json={"q_keywords": "sjobs@apple.com"}).json()
    assert sorted(c["contact"]["id"] for c in found["contacts"]) == sorted([first["id"], second["id"]])
