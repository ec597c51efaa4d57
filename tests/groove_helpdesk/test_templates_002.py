"""Seed 002: every Nexla Groove destination template (tickets, messages, webhooks, groups, knowledge
bases, articles, widgets).

Each test sends the payload the template documents to the endpoint it targets, in-process and over
real loopback HTTP, then reads the resource back the way a Nexla user would find it (List Groups,
List Knowledge Bases, Search Articles, List Widgets) to prove the change stuck.
"""

from __future__ import annotations

from typing import Any

import httpx

from engagesync.sandbox.app import Sandbox


def _agents(sandbox: Sandbox) -> list[dict[str, Any]]:
    tenant = sandbox.credentials()["tenant"]["id"]
    rows = sandbox.ctx.store.all("SELECT id, email FROM gh_agents WHERE tenant_id = ? ORDER BY rowid", (tenant,))
    assert len(rows) >= 3, "the default seed has agents"
    return [dict(r) for r in rows]


def _first(client: httpx.Client, path: str, key: str) -> dict[str, Any]:
    response = client.get(path)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()[key]
    assert items, f"{path} lists nothing"
    return items[0]


# -- Create a Ticket / Update Ticket State / Assignee / Assigned Group ------------------------------
def test_create_a_ticket_with_body_from_and_mailbox(groove_any: httpx.Client) -> None:
    """The template's minimum: body, from (the customer) and mailbox (email or id); no ``to``."""
    mailbox = _first(groove_any, "mailboxes", "mailboxes")
    response = groove_any.post(
        "tickets",
        json={
            "body": "Form submitted: refund request",
            "from": "lead@form.example",
            "mailbox": mailbox["email"],
            "subject": "Refund",
        },
    )
    assert response.status_code == 201, response.text
    ticket = response.json()["ticket"]
    assert response.headers["location"].endswith(f"/tickets/{ticket['number']}")
    found = groove_any.get("tickets", params={"customer": "lead@form.example"}).json()["tickets"]
    assert [t["number"] for t in found] == [ticket["number"]]
    assert found[0]["mailbox_id"] == mailbox["id"]


def test_update_ticket_state_closed_and_pending_and_nexla_open(groove_any: httpx.Client) -> None:
    """The template lists open/closed/pending; Groove's own value for "open" is "opened"."""
    for state in ("closed", "pending", "opened"):
        assert groove_any.put("tickets/2/state", json={"state": state}).status_code == 204
        assert groove_any.get("tickets/2/state").json() == {"state": state}
    refused = groove_any.put("tickets/2/state", json={"state": "open"})
    assert refused.status_code == 422
    assert any("opened" in e for e in refused.json()["errors"])


def test_update_ticket_assignee_with_an_agent_id_from_list_agents(groove_any: httpx.Client) -> None:
    agent = groove_any.get("agents").json()["agents"][1]
    assert groove_any.put("tickets/3/assignee", json={"assignee": agent["id"]}).status_code == 204
    assert groove_any.get("tickets/3/assignee").json()["agent"]["email"] == agent["email"]


def test_update_ticket_assigned_group_with_a_group_id_from_list_groups(groove_any: httpx.Client) -> None:
    group = _first(groove_any, "groups", "groups")
    assert groove_any.put("tickets/4/assigned_group", json={"group": group["id"]}).status_code == 204
    assert groove_any.get("tickets/4").json()["ticket"]["assigned_group"] == group["name"]


# -- Create Message / Create Webhook ----------------------------------------------------------------
def test_create_message_reply_and_internal_note(groove_any: httpx.Client) -> None:
    before = groove_any.get("tickets/6").json()["ticket"]["message_count"]
    for note in (False, True):
        response = groove_any.post("tickets/6/messages", json={"body": f"status update (note={note})", "note": note})
        assert response.status_code == 201, response.text
        assert response.json()["message"]["note"] is note
    assert groove_any.get("tickets/6").json()["ticket"]["message_count"] == before + 2
    bodies = [
        m["plain_text_body"] for m in groove_any.get("tickets/6/messages", params={"per_page": 50}).json()["messages"]
    ]
    assert "status update (note=True)" in bodies


def test_create_webhook_with_webhook_url_and_event_types(groove_any: httpx.Client) -> None:
    response = groove_any.post(
        "webhooks",
        json={"webhook_url": "https://hooks.example/groove", "event_types": ["ticket.created", "ticket_closed"]},
    )
    assert response.status_code == 201, response.text
    hooks = response.json()["webhooks"]
    assert sorted(h["event"] for h in hooks) == ["ticket_closed", "ticket_started"]
    assert {h["url"] for h in hooks} == {"https://hooks.example/groove"}


# -- Create Group / Update Group -------------------------------------------------------------------
def test_create_group_with_initial_agent_ids(groove_any: httpx.Client, sandbox: Sandbox) -> None:
    agents = _agents(sandbox)
    payload = {
        "name": "Tier 2",
        "description": "Escalations from tier 1",
        "agent_ids": [agents[0]["id"], agents[1]["id"]],
    }
    response = groove_any.post("groups", json=payload)
    assert response.status_code == 201, response.text
    group = response.json()["group"]
    assert response.headers["location"].endswith(f"/groups/{group['id']}")
    assert group["name"] == "Tier 2"
    assert group["description"] == "Escalations from tier 1"
    assert group["agent_ids"] == [agents[0]["id"], agents[1]["id"]]
    assert group["links"]["agents"]["href"].endswith(f"/agents?group={group['id']}")

    listed = {g["id"]: g for g in groove_any.get("groups").json()["groups"]}
    assert listed[group["id"]]["agent_ids"] == [agents[0]["id"], agents[1]["id"]]
    fetched = groove_any.get(f"groups/{group['id']}")
    assert fetched.status_code == 200
    assert fetched.json()["group"]["name"] == "Tier 2"


def test_update_group_name_description_and_members(groove_any: httpx.Client, sandbox: Sandbox) -> None:
    agents = _agents(sandbox)
    group_id = _first(groove_any, "groups", "groups")["id"]  # "obtained using List Groups"
    payload = {"name": "Frontline", "description": "Synced from the HR directory", "agent_ids": [agents[2]["id"]]}
    response = groove_any.put(f"groups/{group_id}", json=payload)
    assert response.status_code == 200, response.text
    assert response.json()["group"]["agent_ids"] == [agents[2]["id"]]

    group = groove_any.get(f"groups/{group_id}").json()["group"]
    assert (group["name"], group["description"], group["agent_ids"]) == (
        "Frontline",
        "Synced from the HR directory",
        [agents[2]["id"]],
    )


# -- Create / Update Knowledge Base, Update Knowledge Base Settings ---------------------------------
def test_create_knowledge_base_with_initial_settings(groove_any: httpx.Client) -> None:
    themes = groove_any.get("kb/themes").json()["themes"]
    payload = {"name": "Partner Portal Help", "language": "de", "theme_id": themes[1]["id"], "primary_color": "#0A7CFF"}
    response = groove_any.post("kb", json=payload)
    assert response.status_code == 201, response.text
    kb = response.json()["knowledge_base"]
    assert response.headers["location"].endswith(f"/kb/{kb['id']}")
    assert (kb["title"], kb["name"], kb["language"]) == ("Partner Portal Help", "Partner Portal Help", "de")
    assert kb["subdomain"] == "partner-portal-help"

    assert kb["id"] in [k["id"] for k in groove_any.get("kb").json()["knowledge_bases"]]
    settings = groove_any.get(f"kb/{kb['id']}/settings").json()["settings"]
    assert settings["theme_id"] == themes[1]["id"]
    assert settings["primary_color"] == "#0a7cff"


def test_update_knowledge_base_name_and_language(groove_any: httpx.Client) -> None:
    kb_id = _first(groove_any, "kb", "knowledge_bases")["id"]  # "obtained using List Knowledge Bases"
    response = groove_any.put(f"kb/{kb_id}", json={"name": "Customer Help Center", "language": "fr"})
    assert response.status_code == 200, response.text
    assert response.json()["knowledge_base"]["name"] == "Customer Help Center"

    kb = groove_any.get(f"kb/{kb_id}").json()["knowledge_base"]
    assert (kb["title"], kb["language"]) == ("Customer Help Center", "fr")


def test_update_knowledge_base_settings(groove_any: httpx.Client) -> None:
    kb_id = _first(groove_any, "kb", "knowledge_bases")["id"]
    payload = {
        "primary_color": "#FF6600",
        "logo_url": "https://cdn.example.com/logo.png",
        "theme_id": "3000000004",
        "branding_disabled": True,
        "password_enabled": True,
        "password": "let-me-in",
        "meta_robots": "noindex,nofollow",
    }
    response = groove_any.put(f"kb/{kb_id}/settings", json=payload)
    assert response.status_code == 200, response.text
    assert response.json()["settings"]["primary_color"] == "#ff6600"

    settings = groove_any.get(f"kb/{kb_id}/settings").json()["settings"]
    assert settings["logo_url"] == "https://cdn.example.com/logo.png"
    assert settings["theme_id"] == "3000000004"
    assert settings["branding_disabled"] is True
    assert (settings["password_enabled"], settings["password"]) == (True, "let-me-in")
    assert settings["meta_robots"] == "NOINDEX,NOFOLLOW"
    assert settings["enabled"] is True  # untouched keys keep their values


# -- Create Article / Update Article ---------------------------------------------------------------
def test_create_article_published_in_a_category(groove_any: httpx.Client) -> None:
    kb_id = _first(groove_any, "kb", "knowledge_bases")["id"]
    category = _first(groove_any, f"kb/{kb_id}/categories", "categories")
    payload = {
        "title": "Rotating API tokens",
        "body": "<p>Open <b>Settings</b> and rotate the token.</p>",
        "state": "published",
        "category_id": category["id"],
    }
    response = groove_any.post(f"kb/{kb_id}/articles", json=payload)
    assert response.status_code == 201, response.text
    article = response.json()["article"]
    assert response.headers["location"].endswith(f"/kb/{kb_id}/articles/{article['id']}")
    assert article["state"] == "published" and article["published_at"] is not None
    assert (article["category_id"], article["knowledge_base_id"]) == (category["id"], kb_id)
    assert article["slug"] == "rotating-api-tokens"

    fetched = groove_any.get(f"kb/{kb_id}/articles/{article['id']}").json()["article"]
    assert fetched["body"] == payload["body"]
    found = groove_any.get(f"kb/{kb_id}/articles/search", params={"keyword": "rotate the token"}).json()
    assert [a["id"] for a in found["articles"]] == [article["id"]]
    category_after = groove_any.get(f"kb/{kb_id}/categories/{category['id']}").json()["category"]
    assert article["id"] in category_after["article_ids"]
    assert category_after["articles_count"] == category["articles_count"] + 1


def test_update_article_found_through_search(groove_any: httpx.Client) -> None:
    kb_id = _first(groove_any, "kb", "knowledge_bases")["id"]
    hits = groove_any.get(f"kb/{kb_id}/articles/search", params={"keyword": "password"}).json()["articles"]
    article = hits[0]  # "Article IDs can be obtained using the Search Articles data source endpoint"
    categories = groove_any.get(f"kb/{kb_id}/categories").json()["categories"]
    target = next(c for c in categories if c["id"] != article["category_id"])
    payload = {
        "title": "Resetting a forgotten password",
        "body": "<p>Use the reset link.</p>",
        "state": "draft",
        "category_id": target["id"],
    }
    response = groove_any.put(f"kb/{kb_id}/articles/{article['id']}", json=payload)
    assert response.status_code == 200, response.text

    updated = groove_any.get(f"kb/{kb_id}/articles/{article['id']}").json()["article"]
    assert (updated["title"], updated["body"], updated["state"], updated["category_id"]) == (
        payload["title"],
        payload["body"],
        "draft",
        target["id"],
    )
    assert updated["slug"] == article["slug"]  # a new title does not move the public URL
    target_after = groove_any.get(f"kb/{kb_id}/categories/{target['id']}").json()["category"]
    assert article["id"] in target_after["article_ids"]
    if article["category_id"]:
        source = groove_any.get(f"kb/{kb_id}/categories/{article['category_id']}").json()["category"]
        assert article["id"] not in source["article_ids"]


# -- Update Widget / Update Widget Settings --------------------------------------------------------
def test_update_widget_name_and_enabled(groove_any: httpx.Client, sandbox: Sandbox) -> None:
    widget = _first(groove_any, "widgets", "widgets")  # "obtained using List Widgets"
    response = groove_any.put(f"widgets/{widget['id']}", json={"name": "Pricing page chat", "enabled": False})
    assert response.status_code == 200, response.text
    assert response.json()["widget"]["name"] == "Pricing page chat"

    fetched = groove_any.get(f"widgets/{widget['id']}").json()["widget"]
    assert (fetched["name"], fetched["enabled"]) == ("Pricing page chat", False)
    public = groove_any.get(f"public/widget/{widget['uuid']}", headers={"Authorization": ""})
    assert public.status_code == 200
    assert public.json()["widget"]["enabled"] is False


def test_update_widget_settings_and_publish(groove_any: httpx.Client) -> None:
    widget = _first(groove_any, "widgets", "widgets")
    kb = _first(groove_any, "kb", "knowledge_bases")
    payload = {
        "icon_text": "Chat with us",
        "icon_position": "left",
        "primary_color": "#1e2825",
        "kb.enabled": True,
        "kb.id": kb["id"],
        "contact.attachments_enabled": True,
        "z_index": "100",
        "published": True,
    }
    response = groove_any.put(f"widgets/{widget['id']}/settings", json=payload)
    assert response.status_code == 200, response.text
    assert response.json()["settings"]["published"] is True

    settings = groove_any.get(f"widgets/{widget['id']}/settings").json()["settings"]
    assert settings["icon_text"] == "Chat with us" and settings["icon_position"] == "left"
    assert settings["primary_color_rgb"] == "30, 40, 37"
    assert (settings["kb.enabled"], settings["kb.id"], settings["kb.url"]) == (True, kb["id"], kb["site_url"])
    anonymous = {"Authorization": ""}
    public = groove_any.get(f"public/widgets/{widget['uuid']}", headers=anonymous).json()["widget"]
    assert public["published_settings"]["icon_text"] == "Chat with us"
    assert public["published_settings"]["kb.id"] == kb["id"]
    assert "published" not in public["published_settings"]
