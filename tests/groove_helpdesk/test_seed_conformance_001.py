"""Seed 001 (Groove tickets API): every documented request and example response, in both modes.

Each test sends the request the document describes and checks what the document shows: status,
envelope keys, ``href``/``links`` shapes, ``Location`` headers and empty 204 bodies. ``groove_any``
runs each one in-process and over real loopback HTTP.
"""

from __future__ import annotations

from typing import Any

import httpx

from engagesync.sandbox.app import Sandbox

#: Keys of the "Finding one ticket" example (the list example has the same minus ``starred``).
TICKET_KEYS = {
    "assigned_group",
    "created_at",
    "number",
    "priority",
    "resolution_time",
    "title",
    "updated_at",
    "href",
    "closed_by",
    "tags",
    "message_count",
    "starred",
    "summary",
    "links",
}
PAGINATION_KEYS = {"current_page", "total_pages", "total_count", "next_page"}


def base(client: httpx.Client) -> str:
    return str(client.base_url).rstrip("/")


def seeded(sandbox: Sandbox) -> dict[str, Any]:
    samples: dict[str, Any] = sandbox.credentials()["groove-helpdesk"]["samples"]
    return samples


def new_ticket(client: httpx.Client, sandbox: Sandbox, **extra: Any) -> dict[str, Any]:
    """A ticket from an agent to a fresh customer, assigned to that agent (so every link is present)."""
    agent = seeded(sandbox)["agent_emails"][0]
    payload = {
        "body": "The first comment",
        "from": agent,
        "to": "customer@somewhere.example",
        "assignee": agent,
        **extra,
    }
    response = client.post("tickets", json=payload)
    assert response.status_code == 201, response.text
    ticket: dict[str, Any] = response.json()["ticket"]
    return ticket


def assert_ticket_links(client: httpx.Client, ticket: dict[str, Any], assignee: str, customer: str) -> None:
    b, n = base(client), ticket["number"]
    assert ticket["href"] == f"{b}/tickets/{n}"
    links = ticket["links"]
    assert links["assignee"]["href"] == f"{b}/agents/{assignee}"
    assert links["customer"]["href"] == f"{b}/customers/{customer}"
    assert links["state"]["href"] == f"{b}/tickets/{n}/state"
    assert links["messages"]["href"] == f"{b}/tickets/{n}/messages"


# -- Creating a new ticket -------------------------------------------------------------------
def test_create_ticket_201_with_location_and_links(groove_any: httpx.Client, sandbox: Sandbox) -> None:
    agent = seeded(sandbox)["agent_emails"][0]
    response = groove_any.post(
        "tickets",
        json={
            "body": "The first comment",
            "from": agent,
            "to": "customer@somewhere.example",
            "assignee": agent,
        },
    )
    assert response.status_code == 201
    ticket = response.json()["ticket"]
    assert set(response.json()) == {"ticket"}
    assert isinstance(ticket["number"], int)
    assert response.headers["location"] == f"{base(groove_any)}/tickets/{ticket['number']}"
    assert_ticket_links(groove_any, ticket, agent, "customer@somewhere.example")
    # the full ticket comes back, and the next GET sees it
    assert set(ticket) >= TICKET_KEYS
    assert groove_any.get(f"tickets/{ticket['number']}").json()["ticket"] == ticket


def test_create_ticket_with_every_documented_parameter(groove_any: httpx.Client, sandbox: Sandbox) -> None:
    samples = seeded(sandbox)
    agent = samples["agent_emails"][1]
    mailbox = groove_any.get("mailboxes").json()["mailboxes"][1]
    group = groove_any.get("groups").json()["groups"][0]
    customer = {
        "email": "pat@customer.example",
        "name": "Pat Doe",
        "about": "VIP",
        "twitter_username": "patd",
        "title": "CTO",
        "company_name": "Doe Corp",
        "phone_number": "+15555550123",
        "location": "Lisbon",
        "linkedin_username": "pat-doe",
    }
    payload = {
        "body": "Line one\nLine two",
        "from": customer,
        "to": mailbox["email"],
        "mailbox": mailbox["id"],
        "assigned_group": group["name"],
        "assignee": agent,
        "sent_at": "Tue, 17 Jul 2012 13:41:01 +0000",
        "note": False,
        "send_copy_to_customer": False,
        "state": "pending",
        "subject": "Two lines",
        "tags": ["important", "billing"],
        "starred": True,
        "skip_notifications": True,
    }
    response = groove_any.post("tickets", json=payload)
    assert response.status_code == 201, response.text
    ticket = response.json()["ticket"]
    assert ticket["created_at"] == ticket["updated_at"] == "2012-07-17T13:41:01Z"
    assert (ticket["state"], ticket["title"], ticket["starred"]) == ("pending", "Two lines", True)
    assert ticket["tags"] == ["important", "billing"] and len(ticket["tag_ids"]) == 2
    assert ticket["assigned_group"] == group["name"]
    assert ticket["mailbox_id"] == mailbox["id"]
    assert ticket["summary"] == "Line one Line two"
    assert ticket["message_count"] == 1
    assert_ticket_links(groove_any, ticket, agent, "pat@customer.example")
    stored = groove_any.get("customers/pat@customer.example").json()["customer"]
    for key, value in customer.items():
        assert stored[key] == value, key


def test_create_ticket_customer_hash_attributes_all_optional_but_email(groove_any: httpx.Client) -> None:
    response = groove_any.post(
        "tickets",
        json={"body": "hi", "from": {"email": "only@email.example"}, "to": "support@acme-support.example"},
    )
    assert response.status_code == 201, response.text
    response = groove_any.post("tickets", json={"body": "hi", "from": {"name": "No Email"}, "to": "x@y.example"})
    assert response.status_code == 422
    assert response.json() == {"errors": ["from[email] can't be blank"]}


def test_create_ticket_required_parameters(groove_any: httpx.Client) -> None:
    response = groove_any.post("tickets", json={})
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert any(e.startswith("body ") for e in errors)
    assert any(e.startswith("from ") for e in errors)
    assert any(e.startswith("to ") for e in errors)


def test_create_ticket_state_defaults_to_unread_and_note_from_agent(groove_any: httpx.Client, sandbox: Sandbox) -> None:
    ticket = new_ticket(groove_any, sandbox, note=True)
    assert ticket["state"] == "unread"
    message = groove_any.get(f"tickets/{ticket['number']}/messages").json()["messages"][0]
    assert message["note"] is True


# -- Listing tickets -------------------------------------------------------------------------
def test_list_tickets_example_shape(groove_any: httpx.Client) -> None:
    response = groove_any.get("tickets")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"tickets", "meta"}
    assert len(body["tickets"]) == 25  # per_page defaults to 25
    assert TICKET_KEYS - {"starred"} <= set(body["tickets"][0])
    pagination = body["meta"]["pagination"]
    assert set(pagination) >= PAGINATION_KEYS
    assert (pagination["current_page"], pagination["total_count"], pagination["total_pages"]) == (1, 60, 3)
    assert pagination["next_page"] == f"{base(groove_any)}/tickets?page=2"


def test_list_tickets_page_and_per_page(groove_any: httpx.Client) -> None:
    body = groove_any.get("tickets", params={"page": 2, "per_page": 7}).json()
    assert [t["number"] for t in body["tickets"]] == list(range(8, 15))
    assert body["meta"]["pagination"]["current_page"] == 2
    assert body["meta"]["pagination"]["total_pages"] == 9
    capped = groove_any.get("tickets", params={"per_page": 500}).json()
    assert len(capped["tickets"]) == 50  # max 50


def test_list_tickets_assignee_filter(groove_any: httpx.Client, sandbox: Sandbox) -> None:
    agent = seeded(sandbox)["agent_emails"][0]
    mine = groove_any.get("tickets", params={"assignee": agent, "per_page": 50}).json()["tickets"]
    assert mine and all(t["assignee"] == agent for t in mine)
    nobody = groove_any.get("tickets", params={"assignee": "unassigned", "per_page": 50}).json()["tickets"]
    assert nobody and all(t["assignee"] is None and "assignee" not in t["links"] for t in nobody)


def test_list_tickets_customer_filter_by_email_or_id(groove_any: httpx.Client) -> None:
    first = groove_any.get("tickets").json()["tickets"][0]
    customer_id = first["links"]["customer"]["id"]
    email = first["links"]["customer"]["href"].rsplit("/", 1)[1]
    by_email = groove_any.get("tickets", params={"customer": email}).json()["tickets"]
    by_id = groove_any.get("tickets", params={"customer": customer_id}).json()["tickets"]
    assert by_email == by_id and first["number"] in [t["number"] for t in by_id]
    assert all(t["links"]["customer"]["id"] == customer_id for t in by_id)


def test_list_tickets_state_filter(groove_any: httpx.Client) -> None:
    for state in ("unread", "opened", "pending", "closed", "spam"):
        tickets = groove_any.get("tickets", params={"state": state, "per_page": 50}).json()["tickets"]
        assert all(t["state"] == state for t in tickets)


def test_list_tickets_folder_filter(groove_any: httpx.Client) -> None:
    folders = {f["name"]: f["id"] for f in groove_any.get("folders").json()["folders"]}
    inbox = groove_any.get("tickets", params={"folder": folders["Inbox"], "per_page": 50}).json()
    assert inbox["tickets"] and all(t["state"] in ("unread", "opened") for t in inbox["tickets"])
    counts = groove_any.get("tickets/count").json()
    assert inbox["meta"]["pagination"]["total_count"] == counts[folders["Inbox"]]


# -- Finding one ticket ------------------------------------------------------------------------
def test_find_one_ticket(groove_any: httpx.Client) -> None:
    response = groove_any.get("tickets/1")
    assert response.status_code == 200
    ticket = response.json()["ticket"]
    assert set(ticket) >= TICKET_KEYS
    assert ticket["number"] == 1 and ticket["href"] == f"{base(groove_any)}/tickets/1"
    assert isinstance(ticket["starred"], bool) and isinstance(ticket["tags"], list)
    assert ticket["created_at"].endswith("Z") and len(ticket["created_at"]) == len("2012-07-17T13:41:01Z")


def test_find_missing_ticket_is_404(groove_any: httpx.Client) -> None:
    response = groove_any.get("tickets/99999")
    assert response.status_code == 404
    assert response.json() == {"errors": ["Ticket not found"]}


# -- Ticket state ------------------------------------------------------------------------------
def test_find_and_update_ticket_state(groove_any: httpx.Client, sandbox: Sandbox) -> None:
    ticket = new_ticket(groove_any, sandbox)
    n = ticket["number"]
    assert groove_any.get(f"tickets/{n}/state").json() == {"state": "unread"}
    response = groove_any.put(f"tickets/{n}/state", json={"state": "closed"})
    assert response.status_code == 204 and response.content == b""
    assert groove_any.get(f"tickets/{n}/state").json() == {"state": "closed"}


# -- Ticket assignee ---------------------------------------------------------------------------
def test_find_ticket_assignee(groove_any: httpx.Client, sandbox: Sandbox) -> None:
    ticket = new_ticket(groove_any, sandbox)
    agent = groove_any.get(f"tickets/{ticket['number']}/assignee").json()["agent"]
    email = seeded(sandbox)["agent_emails"][0]
    assert {"email", "first_name", "last_name", "href", "links"} <= set(agent)
    assert agent["email"] == email
    assert agent["href"] == f"{base(groove_any)}/agents/{email}"
    encoded = email.replace("@", "%40")
    assert agent["links"]["tickets"]["href"] == f"{base(groove_any)}/tickets?assignee={encoded}"


def test_update_ticket_assignee(groove_any: httpx.Client, sandbox: Sandbox) -> None:
    ticket = new_ticket(groove_any, sandbox)
    other = seeded(sandbox)["agent_emails"][2]
    response = groove_any.put(
        f"tickets/{ticket['number']}/assignee", json={"assignee": other, "skip_notifications": True}
    )
    assert response.status_code == 204 and response.content == b""
    assert groove_any.get(f"tickets/{ticket['number']}/assignee").json()["agent"]["email"] == other


# -- Assigned group ----------------------------------------------------------------------------
def test_update_ticket_assigned_group_by_id_or_name(groove_any: httpx.Client, sandbox: Sandbox) -> None:
    ticket = new_ticket(groove_any, sandbox)
    groups = groove_any.get("groups").json()["groups"]
    response = groove_any.put(f"tickets/{ticket['number']}/assigned_group", json={"group": groups[0]["id"]})
    assert response.status_code == 204 and response.content == b""
    assert groove_any.get(f"tickets/{ticket['number']}").json()["ticket"]["assigned_group"] == groups[0]["name"]
    response = groove_any.put(
        f"tickets/{ticket['number']}/assigned_group",
        json={"group": groups[1]["name"], "skip_notifications": False},
    )
    assert response.status_code == 204
    assert groove_any.get(f"tickets/{ticket['number']}").json()["ticket"]["assigned_group"] == groups[1]["name"]


# -- Labels ------------------------------------------------------------------------------------
def test_add_labels_answers_201_with_tags_and_tag_ids(groove_any: httpx.Client, sandbox: Sandbox) -> None:
    ticket = new_ticket(groove_any, sandbox, tags=["some"])
    response = groove_any.post(f"tickets/{ticket['number']}/tags", json={"tags": ["new", "labels"]})
    assert response.status_code == 201
    body = response.json()["ticket"]
    assert body["tags"] == ["some", "new", "labels"]
    assert len(body["tag_ids"]) == 3 and all(isinstance(i, int) for i in body["tag_ids"])
    for key in ("created_at", "href", "links", "number", "priority", "state"):
        assert key in body


def test_replace_all_labels_answers_204(groove_any: httpx.Client, sandbox: Sandbox) -> None:
    ticket = new_ticket(groove_any, sandbox, tags=["your", "old"])
    response = groove_any.put(f"tickets/{ticket['number']}/tags", json={"tags": ["your", "replacement", "labels"]})
    assert response.status_code == 204 and response.content == b""
    assert groove_any.get(f"tickets/{ticket['number']}").json()["ticket"]["tags"] == [
        "your",
        "replacement",
        "labels",
    ]


# -- Change mailbox ----------------------------------------------------------------------------
def test_change_mailbox_204_with_location(groove_any: httpx.Client, sandbox: Sandbox) -> None:
    ticket = new_ticket(groove_any, sandbox)
    target = groove_any.get("mailboxes").json()["mailboxes"][1]["id"]
    path = f"tickets/{ticket['number']}/change_mailbox/{target}"
    response = groove_any.post(path)
    assert response.status_code == 204 and response.content == b""
    assert response.headers["location"] == f"{base(groove_any)}/{path}"
    assert groove_any.get(f"tickets/{ticket['number']}").json()["ticket"]["mailbox_id"] == target


# -- Authentication ----------------------------------------------------------------------------
def test_token_required_and_access_token_query_accepted(groove_any: httpx.Client) -> None:
    token = groove_any.headers.pop("Authorization").split(" ", 1)[1]
    response = groove_any.get("tickets")
    assert response.status_code == 401
    assert "errors" in response.json()
    assert groove_any.get("tickets", params={"access_token": "wrong"}).status_code == 401
    assert groove_any.get("tickets/1", params={"access_token": token}).status_code == 200
