"""Messages on a ticket (replies and private notes) and their attachments."""

from __future__ import annotations

from typing import Any

import httpx

from engagesync.sandbox.app import Sandbox

MESSAGE_KEYS = {"created_at", "updated_at", "note", "body", "plain_text_body", "href", "links"}


def samples(sandbox: Sandbox) -> dict[str, Any]:
    found: dict[str, Any] = sandbox.credentials()["groove-helpdesk"]["samples"]
    return found


def new_ticket(client: httpx.Client, **payload: Any) -> dict[str, Any]:
    body = {
        "body": "First",
        "from": "writer@customer.example",
        "to": "support@acme-support.example",
        **payload,
    }
    response = client.post("tickets", json=body)
    assert response.status_code == 201, response.text
    ticket: dict[str, Any] = response.json()["ticket"]
    return ticket


def post(client: httpx.Client, number: int, **payload: Any) -> dict[str, Any]:
    response = client.post(f"tickets/{number}/messages", json=payload)
    assert response.status_code == 201, response.text
    message: dict[str, Any] = response.json()["message"]
    assert response.headers["location"] == message["href"]
    return message


def test_list_messages_documented_shape(groove_any: httpx.Client) -> None:
    response = groove_any.get("tickets/1/messages")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"messages", "meta"}
    base = str(groove_any.base_url).rstrip("/")
    first = body["messages"][0]
    assert set(first) >= MESSAGE_KEYS
    assert first["href"] == f"{base}/messages/{first['id']}"
    assert set(first["links"]) >= {"author", "ticket", "attachments"}
    assert first["links"]["ticket"]["href"] == f"{base}/tickets/1"
    assert first["links"]["attachments"]["href"] == f"{base}/attachments?message={first['id']}"
    assert first["links"]["author"]["href"].startswith(f"{base}/customers/")
    assert {"current_page", "total_pages", "total_count", "next_page"} <= set(body["meta"]["pagination"])
    single = groove_any.get(f"messages/{first['id']}")
    assert single.status_code == 200 and single.json() == {"message": first}


def test_messages_oldest_first_and_paginated(groove: httpx.Client, sandbox: Sandbox) -> None:
    number = new_ticket(groove)["number"]
    for i in range(4):
        post(groove, number, body=f"reply {i}", sent_at=f"Tue, 1{i} Jul 2012 13:41:01 +0000")
    first_page = groove.get(f"tickets/{number}/messages", params={"per_page": 2}).json()
    assert [m["plain_text_body"] for m in first_page["messages"]] == ["reply 0", "reply 1"]
    assert first_page["meta"]["pagination"]["total_count"] == 5
    next_url = first_page["meta"]["pagination"]["next_page"]
    assert next_url.endswith(f"/tickets/{number}/messages?page=2")
    second = groove.get(next_url + "&per_page=2").json()  # next_page drops per_page
    assert [m["plain_text_body"] for m in second["messages"]] == ["reply 2", "reply 3"]


def test_body_is_html_and_plain_text_is_text(groove: httpx.Client) -> None:
    number = new_ticket(groove)["number"]
    plain = post(groove, number, body="The comment\nbody")
    assert (plain["body"], plain["plain_text_body"]) == ("The comment<br />body", "The comment\nbody")
    escaped = post(groove, number, body="1 < 2 & 3 > 2")
    assert escaped["body"] == "1 &lt; 2 &amp; 3 &gt; 2" and escaped["plain_text_body"] == "1 < 2 & 3 > 2"
    rich = post(groove, number, body="<p>Hello <b>there</b></p><p>Second&nbsp;line</p>")
    assert rich["body"] == "<p>Hello <b>there</b></p><p>Second&nbsp;line</p>"
    assert rich["plain_text_body"] == "Hello there\nSecond\xa0line"


def test_reply_updates_the_ticket(groove: httpx.Client, admin: httpx.Client) -> None:
    ticket = new_ticket(groove)
    admin.post("clock/advance", json={"seconds": 600})
    post(groove, ticket["number"], body="An answer")
    after = groove.get(f"tickets/{ticket['number']}").json()["ticket"]
    assert after["message_count"] == 2
    assert after["updated_at"] > ticket["updated_at"]
    assert after["summary"] == ticket["summary"]  # the summary is the first message's


def test_default_author_is_the_assignee_else_the_owner(groove: httpx.Client, sandbox: Sandbox) -> None:
    agents = samples(sandbox)["agent_emails"]
    unassigned = new_ticket(groove)["number"]
    message = post(groove, unassigned, body="From the account")
    assert message["links"]["author"]["href"].endswith(f"/agents/{agents[0]}")  # the owner
    assert message["links"]["recipient"]["href"].endswith("/customers/writer@customer.example")
    assigned = new_ticket(groove, assignee=agents[2])["number"]
    assert post(groove, assigned, body="Mine")["links"]["author"]["href"].endswith(f"/agents/{agents[2]}")


def test_customer_author_and_agent_note(groove: httpx.Client, sandbox: Sandbox) -> None:
    agent = samples(sandbox)["agent_emails"][1]
    number = new_ticket(groove, assignee=agent)["number"]
    reply = post(groove, number, body="Thanks!", author="writer@customer.example")
    assert reply["links"]["author"]["href"].endswith("/customers/writer@customer.example")
    assert reply["links"]["recipient"]["href"].endswith(f"/agents/{agent}")
    note = post(groove, number, body="Internal", author=agent, note=True)
    assert note["note"] is True and "recipient" not in note["links"]


def test_state_follows_the_conversation(groove: httpx.Client, sandbox: Sandbox) -> None:
    number = new_ticket(groove)["number"]
    post(groove, number, body="Internal", note=True)
    assert groove.get(f"tickets/{number}/state").json()["state"] == "unread"  # a note is not an answer
    post(groove, number, body="We are on it")
    assert groove.get(f"tickets/{number}/state").json()["state"] == "opened"
    groove.put(f"tickets/{number}/state", json={"state": "closed"})
    post(groove, number, body="It broke again", author="writer@customer.example")
    assert groove.get(f"tickets/{number}/state").json()["state"] == "opened"


def test_message_validation(groove: httpx.Client, sandbox: Sandbox) -> None:
    number = new_ticket(groove)["number"]
    response = groove.post(f"tickets/{number}/messages", json={"note": "perhaps"})
    assert response.status_code == 422
    assert "body can't be blank" in response.json()["errors"]
    assert any(e.startswith("note must be true or false") for e in response.json()["errors"])
    stranger = samples(sandbox)["customer_emails"][0]
    response = groove.post(f"tickets/{number}/messages", json={"body": "x", "author": stranger})
    assert response.status_code == 422 and response.json()["errors"][0].startswith("author must be an agent")
    response = groove.post(
        f"tickets/{number}/messages", json={"body": "x", "author": "writer@customer.example", "note": True}
    )
    assert response.status_code == 422 and response.json()["errors"] == ["note can only be added by an agent"]


def test_unknown_message_is_404(groove: httpx.Client) -> None:
    response = groove.get("messages/1234")
    assert (response.status_code, response.json()) == (404, {"errors": ["Message not found"]})


def test_attachments(groove_any: httpx.Client, sandbox: Sandbox) -> None:
    message_id = samples(sandbox)["message_ids_with_attachments"][0]
    response = groove_any.get("attachments", params={"message": message_id})
    assert response.status_code == 200
    attachments = response.json()["attachments"]
    assert attachments and {"filename", "size", "url"} <= set(attachments[0])
    assert isinstance(attachments[0]["size"], int) and attachments[0]["url"].startswith("https://")
    bare = sandbox.ctx.store.scalar(
        "SELECT id FROM gh_messages WHERE id NOT IN (SELECT message_id FROM gh_attachments) ORDER BY id LIMIT 1"
    )
    assert groove_any.get("attachments", params={"message": bare}).json() == {"attachments": []}


def test_attachments_need_a_message(groove: httpx.Client) -> None:
    missing = groove.get("attachments")
    assert missing.status_code == 422 and missing.json()["errors"][0].startswith("message can't be blank")
    unknown = groove.get("attachments", params={"message": "42"})
    assert (unknown.status_code, unknown.json()) == (404, {"errors": ["Message not found"]})


def test_messages_of_deleted_tickets_are_gone(groove: httpx.Client, admin: httpx.Client) -> None:
    first = groove.get("tickets/4/messages").json()["messages"][0]
    admin.delete("groove-helpdesk/tickets/4")
    assert groove.get(f"messages/{first['id']}").status_code == 404
    assert groove.get("tickets/4/messages").status_code == 404


def test_nexla_create_message_template(groove_any: httpx.Client) -> None:
    """Seed 002 "Create Message": body and note, appended to an existing ticket by number."""
    reply = groove_any.post("tickets/3/messages", json={"body": "Status: deployed the fix"})
    note = groove_any.post("tickets/3/messages", json={"body": "Automated: CI green", "note": True})
    assert (reply.status_code, note.status_code) == (201, 201)
    assert (reply.json()["message"]["note"], note.json()["message"]["note"]) == (False, True)
    bodies = [m["plain_text_body"] for m in groove_any.get("tickets/3/messages").json()["messages"]]
    assert bodies[-2:] == ["Status: deployed the fix", "Automated: CI green"]
