"""Ticket behaviour beyond the seed's examples: validation, state rules, paging under writes, folders,
counts, tenants, Nexla's template payloads (seed 002) and deterministic bulk seeding."""

from __future__ import annotations

import hashlib
from typing import Any

import httpx
import pytest

from engagesync.sandbox.app import Sandbox
from engagesync.testing import make_sandbox


def samples(sandbox: Sandbox) -> dict[str, Any]:
    found: dict[str, Any] = sandbox.credentials()["groove-helpdesk"]["samples"]
    return found


def create(client: httpx.Client, **payload: Any) -> dict[str, Any]:
    body = {
        "body": "Help please",
        "from": "someone@customer.example",
        "to": "support@acme-support.example",
        **payload,
    }
    response = client.post("tickets", json=body)
    assert response.status_code == 201, response.text
    ticket: dict[str, Any] = response.json()["ticket"]
    return ticket


def errors(response: httpx.Response) -> list[str]:
    assert response.status_code == 422, response.text
    found: list[str] = response.json()["errors"]
    return found


# -- validation --------------------------------------------------------------------------------
def test_missing_body_and_from_are_named(groove: httpx.Client) -> None:
    found = errors(groove.post("tickets", json={"to": "support@acme-support.example"}))
    assert "body can't be blank" in found
    assert "from can't be blank" in found


def test_bad_emails_are_rejected(groove: httpx.Client, sandbox: Sandbox) -> None:
    found = errors(groove.post("tickets", json={"body": "x", "from": "not-an-email", "mailbox": "x"}))
    assert any(e.startswith("from is not a valid email address") for e in found)
    assert any(e.startswith("mailbox ") for e in found)
    agent = samples(sandbox)["agent_emails"][0]
    found = errors(groove.post("tickets", json={"body": "x", "from": agent, "to": {"email": "bad@"}}))
    assert any(e.startswith("to[email] is not a valid email address") for e in found)


def test_open_is_rejected_with_a_hint(groove: httpx.Client) -> None:
    """Nexla's "Update Ticket State" template lists "open"; Groove's state is "opened"."""
    found = errors(groove.post("tickets", json={"body": "x", "from": "a@b.example", "mailbox": "x", "state": "open"}))
    assert any(e.startswith("state ") and '"opened"' in e for e in found)
    found = errors(groove.put("tickets/1/state", json={"state": "open"}))
    assert len(found) == 1 and found[0].startswith("state ") and 'did you mean "opened"' in found[0]
    assert groove.get("tickets/1/state").json()["state"] != "open"


def test_unknown_state_priority_and_booleans(groove: httpx.Client) -> None:
    assert errors(groove.put("tickets/1/state", json={"state": "archived"}))[0].startswith("state ")
    assert errors(groove.put("tickets/1/state", json={}))[0] == "state can't be blank"
    assert errors(groove.put("tickets/1/priority", json={"priority": "critical"}))[0].startswith("priority ")
    found = errors(
        groove.post(
            "tickets",
            json={
                "body": "x",
                "from": "a@b.example",
                "to": "c@d.example",
                "starred": "maybe",
                "sent_at": "last tuesday",
            },
        )
    )
    assert any(e.startswith("starred must be true or false") for e in found)
    assert any(e.startswith("sent_at is not a valid date") for e in found)
    assert errors(groove.get("tickets", params={"state": "open"}))[0].startswith("state ")


def test_unknown_agent_group_and_mailbox_are_422(groove: httpx.Client) -> None:
    found = errors(
        groove.post(
            "tickets",
            json={
                "body": "x",
                "from": "a@b.example",
                "to": "c@d.example",
                "assignee": "ghost@nowhere.example",
                "assigned_group": "Nope",
                "mailbox": "9999999999",
            },
        )
    )
    assert [e.split(" ", 1)[0] for e in found] == ["mailbox", "assignee", "assigned_group"]
    assert errors(groove.put("tickets/1/assignee", json={"assignee": "ghost@nowhere.example"}))[0].startswith(
        "assignee is not an agent"
    )
    assert errors(groove.put("tickets/1/assigned_group", json={"group": "Nope"}))[0].startswith("group ")


def test_missing_ticket_is_404_on_every_route(groove: httpx.Client) -> None:
    not_found = {"errors": ["Ticket not found"]}
    calls: list[tuple[str, str, dict[str, Any] | None]] = [
        ("GET", "tickets/424242", None),
        ("GET", "tickets/424242/state", None),
        ("PUT", "tickets/424242/state", {"state": "closed"}),
        ("GET", "tickets/424242/assignee", None),
        ("PUT", "tickets/424242/priority", {"priority": "low"}),
        ("PUT", "tickets/424242/assigned_group", {"group": "x"}),
        ("POST", "tickets/424242/tags", {"tags": ["a"]}),
        ("PUT", "tickets/424242/tags", {"tags": []}),
        ("GET", "tickets/424242/messages", None),
        ("POST", "tickets/424242/messages", {"body": "x"}),
        ("POST", "tickets/424242/change_mailbox/1", None),
    ]
    for method, path, body in calls:
        response = groove.request(method, path, json=body)
        assert (response.status_code, response.json()) == (404, not_found), (method, path)


def test_form_and_query_parameters_are_accepted(groove: httpx.Client, sandbox: Sandbox) -> None:
    """Rails-style form bodies and the Ruby gem's habit of sending everything in the query string."""
    agent = samples(sandbox)["agent_emails"][0]
    response = groove.post(
        "tickets",
        data={
            "body": "form body",
            "from": agent,
            "to[email]": "form@c.example",
            "to[name]": "Form Person",
            "tags[]": ["x", "y"],
        },
    )
    assert response.status_code == 201, response.text
    assert response.json()["ticket"]["tags"] == ["x", "y"]
    assert groove.get("customers/form@c.example").json()["customer"]["name"] == "Form Person"
    number = response.json()["ticket"]["number"]
    assert groove.put(f"tickets/{number}/state", params={"state": "pending"}).status_code == 204
    assert groove.get(f"tickets/{number}/state").json() == {"state": "pending"}


# -- creation semantics ------------------------------------------------------------------------
def test_nexla_create_ticket_body_from_mailbox(groove: httpx.Client) -> None:
    """Seed 002: Nexla sends body, from (a customer) and mailbox, and no ``to``."""
    mailbox = groove.get("mailboxes").json()["mailboxes"][1]
    for ref in (mailbox["email"], mailbox["id"]):
        response = groove.post(
            "tickets",
            json={"body": "From a form", "from": "form@lead.example", "mailbox": ref, "subject": "Web form"},
        )
        assert response.status_code == 201, response.text
        ticket = response.json()["ticket"]
        assert ticket["mailbox_id"] == mailbox["id"] and ticket["mailbox"] == mailbox["name"]
        message = groove.get(f"tickets/{ticket['number']}/messages").json()["messages"][0]
        assert message["links"]["author"]["href"].endswith("/customers/form@lead.example")


def test_default_mailbox_is_the_primary(groove: httpx.Client) -> None:
    primary = next(m for m in groove.get("mailboxes").json()["mailboxes"] if m["primary"])
    ticket = create(groove, to="unknown-address@elsewhere.example")
    assert ticket["mailbox_id"] == primary["id"]


def test_agent_ticket_to_a_customer(groove: httpx.Client, sandbox: Sandbox) -> None:
    agent = samples(sandbox)["agent_emails"][0]
    ticket = create(groove, **{"from": agent, "to": "target@customer.example", "note": True})
    assert ticket["links"]["customer"]["href"].endswith("/customers/target@customer.example")
    message = groove.get(f"tickets/{ticket['number']}/messages").json()["messages"][0]
    assert message["note"] is True
    assert message["links"]["author"]["href"].endswith(f"/agents/{agent}")
    assert errors(groove.post("tickets", json={"body": "x", "from": agent}))[0].startswith("to can't be blank")


def test_summary_is_the_first_100_characters(groove: httpx.Client) -> None:
    text = "word " * 60
    ticket = create(groove, body=text)
    assert ticket["summary"] == ("word " * 20).strip()[:100] and len(ticket["summary"]) <= 100
    assert create(groove, body="Some body text")["summary"] == "Some body text"


def test_sent_at_sets_timestamps_in_the_past(groove: httpx.Client) -> None:
    ticket = create(groove, sent_at="Mon, 02 Mar 2020 08:00:00 -0500")
    assert ticket["created_at"] == ticket["updated_at"] == "2020-03-02T13:00:00Z"
    message = groove.get(f"tickets/{ticket['number']}/messages").json()["messages"][0]
    assert message["created_at"] == "2020-03-02T13:00:00Z"


def test_tags_are_reused_case_insensitively(groove: httpx.Client) -> None:
    first = create(groove, tags=["VIP"])
    second = create(groove, tags=["vip", "Other"])
    assert second["tags"] == ["vip", "Other"] or second["tags"] == ["VIP", "Other"]
    assert first["tag_ids"][0] == second["tag_ids"][0]


# -- updates -----------------------------------------------------------------------------------
def test_every_change_bumps_updated_at(groove: httpx.Client, admin: httpx.Client, sandbox: Sandbox) -> None:
    number = create(groove)["number"]
    agent, group = samples(sandbox)["agent_emails"][1], samples(sandbox)["group_ids"][0]
    mailbox = samples(sandbox)["mailbox_ids"][1]
    changes = [
        ("PUT", "state", {"state": "opened"}),
        ("PUT", "assignee", {"assignee": agent}),
        ("PUT", "priority", {"priority": "high"}),
        ("PUT", "assigned_group", {"group": group}),
        ("POST", "tags", {"tags": ["a"]}),
        ("PUT", "tags", {"tags": ["b"]}),
        ("POST", f"change_mailbox/{mailbox}", None),
        ("POST", "messages", {"body": "reply"}),
    ]
    previous = groove.get(f"tickets/{number}").json()["ticket"]["updated_at"]
    for method, sub, body in changes:
        admin.post("clock/advance", json={"seconds": 3600})
        assert groove.request(method, f"tickets/{number}/{sub}", json=body).status_code in (201, 204)
        now = groove.get(f"tickets/{number}").json()["ticket"]["updated_at"]
        assert now > previous, sub
        previous = now
    ticket = groove.get(f"tickets/{number}").json()["ticket"]
    assert (ticket["state"], ticket["assignee"], ticket["priority"]) == ("opened", agent, "high")
    assert (ticket["tags"], ticket["mailbox_id"], ticket["message_count"]) == (["b"], mailbox, 2)


def test_unchanged_values_do_not_bump_updated_at(groove: httpx.Client, admin: httpx.Client) -> None:
    number = create(groove, state="pending")["number"]
    before = groove.get(f"tickets/{number}").json()["ticket"]["updated_at"]
    admin.post("clock/advance", json={"seconds": 3600})
    assert groove.put(f"tickets/{number}/state", json={"state": "pending"}).status_code == 204
    assert groove.get(f"tickets/{number}").json()["ticket"]["updated_at"] == before


def test_closing_records_closer_and_resolution_time(
    groove: httpx.Client, admin: httpx.Client, sandbox: Sandbox
) -> None:
    agent = samples(sandbox)["agent_emails"][0]
    number = create(groove, assignee=agent)["number"]
    admin.post("clock/advance", json={"seconds": 7200})
    groove.put(f"tickets/{number}/state", json={"state": "closed"})
    ticket = groove.get(f"tickets/{number}").json()["ticket"]
    assert ticket["closed_by"] == agent
    assert 7200 <= ticket["resolution_time"] < 7300
    groove.put(f"tickets/{number}/state", json={"state": "opened"})
    reopened = groove.get(f"tickets/{number}").json()["ticket"]
    assert (reopened["closed_by"], reopened["resolution_time"]) == (None, None)


def test_nexla_assignee_by_agent_id_and_group_by_id(groove: httpx.Client) -> None:
    """Seed 002: the Update Assignee / Assigned Group templates send ids from List Agents / List Groups."""
    agent = groove.get("agents").json()["agents"][2]
    group = groove.get("groups").json()["groups"][1]
    assert groove.put("tickets/5/assignee", json={"assignee": agent["id"]}).status_code == 204
    assert groove.put("tickets/5/assigned_group", json={"assigned_group": group["id"]}).status_code == 204
    ticket = groove.get("tickets/5").json()["ticket"]
    assert (ticket["assignee"], ticket["assigned_group"]) == (agent["email"], group["name"])
    assert groove.get("tickets/5/assignee").json()["agent"]["id"] == agent["id"]


def test_unassigned_ticket_has_null_agent(groove: httpx.Client) -> None:
    number = create(groove)["number"]
    assert groove.get(f"tickets/{number}/assignee").json() == {"agent": None}


def test_tags_post_requires_names_put_may_clear(groove: httpx.Client) -> None:
    number = create(groove, tags=["one"])["number"]
    assert errors(groove.post(f"tickets/{number}/tags", json={"tags": []}))[0] == "tags can't be blank"
    assert errors(groove.put(f"tickets/{number}/tags", json={}))[0].startswith("tags can't be blank")
    assert groove.put(f"tickets/{number}/tags", json={"tags": []}).status_code == 204
    assert groove.get(f"tickets/{number}").json()["ticket"]["tags"] == []


def test_change_mailbox_to_unknown_mailbox_is_404(groove: httpx.Client) -> None:
    response = groove.post("tickets/1/change_mailbox/123")
    assert (response.status_code, response.json()) == (404, {"errors": ["Mailbox not found"]})


# -- lists, folders and counts -----------------------------------------------------------------
def test_pages_stay_stable_while_tickets_are_created(groove: httpx.Client) -> None:
    """Walk next_page links while new tickets arrive: nothing repeats, no original is missed."""
    originals = {t["number"] for t in groove.get("tickets", params={"per_page": 50}).json()["tickets"]}
    originals |= {t["number"] for t in groove.get("tickets", params={"per_page": 50, "page": 2}).json()["tickets"]}
    seen: list[int] = []
    url: str | None = "tickets?per_page=7"
    pages = 0
    while url:
        body = groove.get(url).json()
        seen.extend(t["number"] for t in body["tickets"])
        create(groove, subject=f"during scan {pages}")
        create(groove, subject=f"during scan {pages} again")
        url = body["meta"]["pagination"]["next_page"]
        if url:
            url += "&per_page=7"  # next_page drops per_page, as Groove's does
        pages += 1
        assert pages < 100
    assert len(seen) == len(set(seen))
    assert originals <= set(seen)


def test_next_page_keeps_filters_but_not_per_page(groove: httpx.Client) -> None:
    body = groove.get("tickets", params={"state": "opened", "per_page": 2}).json()
    assert body["meta"]["pagination"]["next_page"] == "http://sandbox/groove-helpdesk/v1/tickets?state=opened&page=2"


def test_unknown_filter_values_match_nothing(groove: httpx.Client) -> None:
    for params in (
        {"assignee": "ghost@nowhere.example"},
        {"customer": "ghost@nowhere.example"},
        {"folder": "1"},
    ):
        body = groove.get("tickets", params=params).json()
        assert body["tickets"] == [] and body["meta"]["pagination"]["total_count"] == 0


def test_ticket_count_is_a_map_of_folder_ids(groove: httpx.Client) -> None:
    folders = groove.get("folders").json()["folders"]
    counts = groove.get("tickets/count").json()
    assert set(counts) == {f["id"] for f in folders}
    for folder in folders:
        listed = groove.get("tickets", params={"folder": folder["id"]}).json()["meta"]["pagination"]
        assert listed["total_count"] == counts[folder["id"]], folder["name"]
    by_name = {f["name"]: counts[f["id"]] for f in folders}
    total = groove.get("tickets").json()["meta"]["pagination"]["total_count"]
    assert by_name["Inbox"] + by_name["Pending"] + by_name["Closed"] + by_name["Spam"] == total


def test_ticket_count_per_mailbox(groove: httpx.Client) -> None:
    mailboxes = groove.get("mailboxes").json()["mailboxes"]
    per_box = [groove.get("tickets/count", params={"mailbox": m["id"]}).json() for m in mailboxes]
    overall = groove.get("tickets/count").json()
    for folder_id, count in overall.items():
        assert sum(box[folder_id] for box in per_box) == count
    by_email = groove.get("tickets/count", params={"mailbox": mailboxes[0]["email"]}).json()
    assert by_email == per_box[0]


def test_folders_starred_and_unassigned_rules(groove: httpx.Client, sandbox: Sandbox) -> None:
    folders = {f["name"]: f["id"] for f in groove.get("folders").json()["folders"]}
    starred = create(groove, starred=True)["number"]
    listed = [
        t["number"]
        for t in groove.get("tickets", params={"folder": folders["Starred"], "per_page": 50}).json()["tickets"]
    ]
    assert starred in listed
    unassigned = groove.get("tickets", params={"folder": folders["Unassigned"], "per_page": 50}).json()
    assert all(t["assignee"] is None and t["state"] in ("unread", "opened") for t in unassigned["tickets"])
    groove.put(f"tickets/{starred}/assignee", json={"assignee": samples(sandbox)["agent_emails"][0]})
    after = groove.get("tickets", params={"folder": folders["Unassigned"], "per_page": 50}).json()
    assert starred not in [t["number"] for t in after["tickets"]]


def test_mailboxes_and_folders(groove: httpx.Client) -> None:
    mailboxes = groove.get("mailboxes").json()["mailboxes"]
    assert len(mailboxes) == 2 and mailboxes[0]["primary"] is True
    for mailbox in mailboxes:
        assert {"id", "name", "email", "href"} <= set(mailbox)
        assert groove.get(mailbox["href"]).json()["mailbox"] == mailbox
        folders = groove.get("folders", params={"mailbox": mailbox["email"]}).json()["folders"]
        assert {"Inbox", "Pending", "Closed", "Spam", "Starred", "Unassigned"} <= {f["name"] for f in folders}
    assert groove.get("folders", params={"mailbox": "nobody@nowhere.example"}).json() == {"folders": []}


# -- deletion (an admin action: the v1 API has no DELETE /tickets) -----------------------------
def test_deleted_ticket_disappears(groove: httpx.Client, admin: httpx.Client) -> None:
    before = groove.get("tickets").json()["meta"]["pagination"]["total_count"]
    assert admin.delete("groove-helpdesk/tickets/2").status_code == 204
    assert groove.get("tickets/2").status_code == 404
    assert groove.get("tickets").json()["meta"]["pagination"]["total_count"] == before - 1
    assert admin.delete("groove-helpdesk/tickets/2").status_code == 404


# -- tenants -----------------------------------------------------------------------------------
def test_tenants_are_isolated(groove: httpx.Client, admin: httpx.Client) -> None:
    mine = create(groove, subject="tenant one only", **{"from": "isolated@customer.example"})
    response = admin.post("tenants", json={"name": "second"})
    assert response.status_code == 201
    token = response.json()["groove-helpdesk"]["token"]
    # same transport, other token: closing a second sandbox client would close the shared transport
    as_other = {"Authorization": f"Bearer {token}"}
    assert groove.get(f"tickets/{mine['number']}", headers=as_other).status_code == 404
    listed = groove.get("tickets", params={"per_page": 50}, headers=as_other).json()["tickets"]
    assert "tenant one only" not in {t["title"] for t in listed}
    assert groove.get("customers/isolated@customer.example", headers=as_other).status_code == 404
    theirs = groove.post(
        "tickets",
        headers=as_other,
        json={"body": "x", "from": "b@c.example", "to": "support@acme-support.example"},
    )
    assert theirs.json()["ticket"]["number"] == mine["number"]  # numbers are per account
    assert groove.get(f"tickets/{mine['number']}").json()["ticket"]["title"] == "tenant one only"


# -- seeding -----------------------------------------------------------------------------------
def _fingerprint(sandbox: Sandbox) -> str:
    digest = hashlib.sha256()
    for table, order in (
        ("gh_tickets", "number"),
        ("gh_messages", "id"),
        ("gh_customers", "id"),
        ("gh_attachments", "id"),
    ):
        for row in sandbox.ctx.store.all(f"SELECT * FROM {table} ORDER BY {order}"):
            digest.update(repr(tuple(row)).encode())
    return digest.hexdigest()


def test_same_seed_same_data() -> None:
    counts = {"groove-helpdesk.tickets": 300, "groove-helpdesk.customers": 50}
    with (
        make_sandbox(seed=7, counts=counts) as a,
        make_sandbox(seed=7, counts=counts) as b,
        make_sandbox(seed=8, counts=counts) as c,
    ):
        assert _fingerprint(a) == _fingerprint(b)
        assert _fingerprint(a) != _fingerprint(c)


@pytest.mark.parametrize("per_ticket", [1, 4])
def test_seeded_tickets_agree_with_their_messages(per_ticket: int) -> None:
    counts = {"groove-helpdesk.tickets": 40, "groove-helpdesk.messages_per_ticket": per_ticket}
    with make_sandbox(counts=counts) as sb:
        store = sb.ctx.store
        assert store.scalar("SELECT COUNT(*) FROM gh_tickets") == 40
        assert store.scalar("SELECT COUNT(*) FROM gh_messages") == 40 * per_ticket
        bad = store.scalar(
            "SELECT COUNT(*) FROM gh_tickets t WHERE t.message_count != (SELECT COUNT(*) FROM gh_messages m"
            " WHERE m.tenant_id = t.tenant_id AND m.ticket_number = t.number) OR t.created_at != (SELECT"
            " MIN(created_at) FROM gh_messages m WHERE m.tenant_id = t.tenant_id"
            " AND m.ticket_number = t.number)"
            " OR t.updated_at != (SELECT MAX(created_at) FROM gh_messages m WHERE m.tenant_id = t.tenant_id"
            " AND m.ticket_number = t.number)"
        )
        assert bad == 0
        closed = store.all("SELECT closed_by_id, resolution_time FROM gh_tickets WHERE state = 'closed'")
        assert closed and all(r["closed_by_id"] and r["resolution_time"] > 0 for r in closed)


# -- edge input: a 4xx, never a crash ----------------------------------------------------------
HUGE = "9223372036854775808"  # 2**63: no SQLite integer holds it


def test_numbers_and_pages_beyond_sqlite_integers(groove: httpx.Client) -> None:
    assert groove.get(f"tickets/{HUGE}").status_code == 404
    assert groove.put(f"tickets/{HUGE}/state", json={"state": "opened"}).status_code == 404
    assert groove.post(f"tickets/{HUGE}/messages", json={"body": "x"}).status_code == 404
    for path in ("tickets", "customers", "tickets/1/messages"):
        response = groove.get(path, params={"page": HUGE})
        assert response.status_code == 200
        body = response.json()
        assert next(v for k, v in body.items() if k != "meta") == []


def test_unrepresentable_sent_at_is_422(groove: httpx.Client) -> None:
    far = "9999-12-31T23:59:59-14:00"  # year 10000 in UTC
    found = errors(
        groove.post("tickets", json={"body": "x", "from": "a@b.example", "to": "c@d.example", "sent_at": far})
    )
    assert found[0].startswith("sent_at is out of range")
    assert errors(groove.post("tickets/1/messages", json={"body": "x", "sent_at": far}))[0].startswith("sent_at ")


def test_change_mailbox_location_names_the_mailbox_id(groove: httpx.Client, sandbox: Sandbox) -> None:
    mailbox = samples(sandbox)["mailbox_ids"][1]
    response = groove.post(f"tickets/1/change_mailbox/%20{mailbox}%E2%80%83")
    assert response.status_code == 204
    assert response.headers["location"] == f"http://sandbox/groove-helpdesk/v1/tickets/1/change_mailbox/{mailbox}"
