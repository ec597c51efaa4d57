"""Customers and agents: reads, customer updates, and the admin-only agent invite and archive."""

from __future__ import annotations

from typing import Any

import httpx

from engagesync.sandbox.app import Sandbox

CUSTOMER_KEYS = {
    "href",
    "links",
    "email",
    "name",
    "about",
    "twitter_username",
    "title",
    "company_name",
    "phone_number",
    "location",
    "website_url",
    "linkedin_username",
    "custom",
}


def samples(sandbox: Sandbox) -> dict[str, Any]:
    found: dict[str, Any] = sandbox.credentials()["groove-helpdesk"]["samples"]
    return found


# -- customers ---------------------------------------------------------------------------------
def test_list_customers_documented_shape(groove_any: httpx.Client) -> None:
    response = groove_any.get("customers")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"customers", "meta"}
    assert len(body["customers"]) == 25
    base = str(groove_any.base_url).rstrip("/")
    customer = body["customers"][0]
    assert set(customer) >= CUSTOMER_KEYS
    assert customer["href"] == f"{base}/customers/{customer['email']}"
    assert customer["links"]["tickets"]["href"] == f"{base}/tickets?customer={customer['email']}"
    assert isinstance(customer["custom"], dict)
    pagination = body["meta"]["pagination"]
    assert (pagination["total_count"], pagination["total_pages"]) == (40, 2)
    assert pagination["next_page"] == f"{base}/customers?page=2"


def test_customer_pages_do_not_overlap(groove: httpx.Client) -> None:
    first = groove.get("customers", params={"per_page": 30}).json()["customers"]
    second = groove.get("customers", params={"per_page": 30, "page": 2}).json()["customers"]
    emails = [c["email"] for c in first + second]
    assert len(emails) == len(set(emails)) == 40


def test_find_customer_by_email_or_id(groove_any: httpx.Client, sandbox: Sandbox) -> None:
    email = samples(sandbox)["customer_emails"][0]
    by_email = groove_any.get(f"customers/{email}")
    assert by_email.status_code == 200
    customer = by_email.json()["customer"]
    assert groove_any.get(f"customers/{customer['id']}").json() == by_email.json()
    assert groove_any.get(f"customers/{email.upper()}").json() == by_email.json()
    tickets = groove_any.get(customer["links"]["tickets"]["href"]).json()["tickets"]
    assert all(t["links"]["customer"]["href"] == customer["href"] for t in tickets)
    missing = groove_any.get("customers/nobody@nowhere.example")
    assert (missing.status_code, missing.json()) == (404, {"errors": ["Customer not found"]})


def test_update_customer(groove_any: httpx.Client, sandbox: Sandbox) -> None:
    email = samples(sandbox)["customer_emails"][1]
    payload = {
        "email": email,
        "name": "John Smith",
        "about": "Your internal reference",
        "twitter_username": "jsmith",
        "title": "Buyer",
        "company_name": "SomeCompany Pty Ltd",
        "phone_number": "+61 2 5550 1234",
        "location": "Sydney",
        "linkedin_username": "john-smith",
        "custom": {"plan": "gold", "seats": 12},
    }
    response = groove_any.put(f"customers/{email}", json=payload)
    assert response.status_code == 200, response.text
    customer = response.json()["customer"]
    for key, value in payload.items():
        assert customer[key] == value, key
    assert (customer["first_name"], customer["last_name"]) == ("John", "Smith")
    assert groove_any.get(f"customers/{email}").json()["customer"] == customer
    merged = groove_any.put(f"customers/{email}", json={"email": email, "custom": {"seats": None, "tier": 1}})
    assert merged.json()["customer"]["custom"] == {"plan": "gold", "tier": 1}
    assert merged.json()["customer"]["name"] == "John Smith"  # attributes not sent are kept


def test_update_customer_changes_email(groove: httpx.Client, sandbox: Sandbox) -> None:
    old = samples(sandbox)["customer_emails"][0]
    customer_id = groove.get(f"customers/{old}").json()["customer"]["id"]
    response = groove.put(f"customers/{customer_id}", json={"email": "Moved@New.example"})
    assert response.status_code == 200
    assert response.json()["customer"]["email"] == "moved@new.example"
    assert groove.get(f"customers/{old}").status_code == 404
    assert groove.get("customers/moved@new.example").json()["customer"]["id"] == customer_id


def test_update_customer_validation(groove: httpx.Client, sandbox: Sandbox) -> None:
    first, second = samples(sandbox)["customer_emails"][:2]
    response = groove.put(f"customers/{first}", json={"name": "No Email"})
    assert (response.status_code, response.json()) == (422, {"errors": ["email can't be blank"]})
    response = groove.put(f"customers/{first}", json={"email": "not-an-email"})
    assert response.status_code == 422 and response.json()["errors"][0].startswith("email is not a valid")
    response = groove.put(f"customers/{first}", json={"email": second})
    assert (response.status_code, response.json()) == (422, {"errors": ["email has already been taken"]})
    response = groove.put(f"customers/{first}", json={"email": first, "custom": "plain string"})
    assert response.status_code == 422 and response.json()["errors"][0].startswith("custom ")
    assert groove.put("customers/nobody@nowhere.example", json={"email": "a@b.example"}).status_code == 404


def test_ticket_customer_hash_updates_a_known_customer(groove: httpx.Client, sandbox: Sandbox) -> None:
    email = samples(sandbox)["customer_emails"][2]
    response = groove.post(
        "tickets",
        json={
            "body": "x",
            "to": "support@acme-support.example",
            "from": {"email": email, "company_name": "Renamed Inc"},
        },
    )
    assert response.status_code == 201
    assert groove.get(f"customers/{email}").json()["customer"]["company_name"] == "Renamed Inc"
    total = groove.get("customers").json()["meta"]["pagination"]["total_count"]
    assert total == 40  # no new customer


# -- agents ------------------------------------------------------------------------------------
def test_list_and_find_agents(groove_any: httpx.Client) -> None:
    response = groove_any.get("agents")
    assert response.status_code == 200
    agents = response.json()["agents"]
    assert len(agents) == 5
    base = str(groove_any.base_url).rstrip("/")
    for agent in agents:
        assert {"email", "first_name", "last_name", "href", "links"} <= set(agent)
        assert agent["href"] == f"{base}/agents/{agent['email']}"
        assert agent["links"]["tickets"]["href"] == f"{base}/tickets?assignee={agent['email'].replace('@', '%40')}"
        assert groove_any.get(f"agents/{agent['email']}").json() == {"agent": agent}
        assert groove_any.get(f"agents/{agent['id']}").json() == {"agent": agent}
    missing = groove_any.get("agents/nobody@nowhere.example")
    assert (missing.status_code, missing.json()) == (404, {"errors": ["Agent not found"]})


def test_agents_of_a_group(groove: httpx.Client) -> None:
    for group in groove.get("groups").json()["groups"]:
        members = groove.get("agents", params={"group": group["id"]}).json()["agents"]
        assert sorted(a["id"] for a in members) == sorted(group["agent_ids"])
    assert groove.get("agents", params={"group": "0"}).json() == {"agents": []}


def test_agent_tickets_link_lists_their_tickets(groove: httpx.Client) -> None:
    agent = groove.get("agents").json()["agents"][0]
    tickets = groove.get(agent["links"]["tickets"]["href"]).json()["tickets"]
    assert tickets and all(t["assignee"] == agent["email"] for t in tickets)


# -- admin: invite and archive (UI actions in Groove) ------------------------------------------
def test_invite_and_archive_agent(groove: httpx.Client, admin: httpx.Client) -> None:
    response = admin.post(
        "groove-helpdesk/agents",
        json={"email": "New.Hire@acme-support.example", "first_name": "New", "last_name": "Hire"},
    )
    assert response.status_code == 201, response.text
    agent = response.json()["agent"]
    assert (agent["email"], agent["state"]) == ("new.hire@acme-support.example", "invited")
    assert groove.get("agents/new.hire@acme-support.example").json()["agent"]["state"] == "invited"
    assert groove.put("tickets/1/assignee", json={"assignee": agent["email"]}).status_code == 204
    duplicate = admin.post("groove-helpdesk/agents", json={"email": agent["email"]})
    assert duplicate.status_code == 422

    archived = admin.post(f"groove-helpdesk/agents/{agent['email']}/archive")
    assert archived.status_code == 200 and archived.json()["agent"]["state"] == "archived"
    refused = groove.put("tickets/2/assignee", json={"assignee": agent["email"]})
    assert refused.status_code == 422 and refused.json()["errors"][0].startswith("assignee is an archived agent")
    assert admin.post("groove-helpdesk/agents/ghost@nowhere.example/archive").status_code == 404


def test_admin_routes_take_a_tenant(groove: httpx.Client, admin: httpx.Client) -> None:
    created = admin.post("tenants", json={"name": "other"}).json()
    token = created["groove-helpdesk"]["token"]
    response = admin.post("groove-helpdesk/agents", params={"tenant": "other"}, json={"email": "x@other.example"})
    assert response.status_code == 201
    assert groove.get("agents/x@other.example").status_code == 404
    as_other = {"Authorization": f"Bearer {token}"}
    assert groove.get("agents/x@other.example", headers=as_other).status_code == 200
    assert (
        admin.post("groove-helpdesk/agents", params={"tenant": "nope"}, json={"email": "y@z.example"}).status_code
        == 404
    )
