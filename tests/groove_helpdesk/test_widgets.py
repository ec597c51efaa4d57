"""Widgets: documented shapes, settings validation, staging vs publishing, and the public view."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx

from engagesync.sandbox.app import Sandbox

GROOVE = "/groove-helpdesk/v1"
DOC_DEFAULTS = {  # the documented GET /widgets/:id/settings example, minus "published"
    "branding_disabled": False,
    "contact.name_field_enabled": True,
    "contact.subject_field_enabled": True,
    "enabled": True,
    "icon_display": "icon",
    "icon_position": "right",
    "icon_style": "outline",
    "icon_text": "Need a hand?",
    "icon": "chat",
    "kb.featured_enabled": True,
    "kb.ratings_count_enabled": True,
    "kb.ratings_enabled": True,
    "kb.ratings_negative_action_enabled": True,
    "kb.ratings_negative_action_kb_enabled": True,
    "kb.ratings_negative_action_contact_enabled": True,
    "widget_style": "user",
    "z_index": "9999",
}


def _new_widget(groove: httpx.Client, name: str = "Docs site") -> dict[str, Any]:
    response = groove.post("widgets", json={"name": name})
    assert response.status_code == 201, response.text
    widget: dict[str, Any] = response.json()["widget"]
    return widget


def _put_settings(groove: httpx.Client, widget_id: str, body: dict[str, Any]) -> httpx.Response:
    return groove.put(f"widgets/{widget_id}/settings", json=body)


def _public(sandbox: Sandbox, path: str) -> httpx.Response:
    """A request with no credential at all, on its own client."""
    client = sandbox.client()
    return client.get(f"{GROOVE}/{path}")


def test_create_matches_the_documented_example(groove: httpx.Client) -> None:
    response = groove.post("widgets", json={"name": "Groove Support"})
    assert response.status_code == 201
    widget = response.json()["widget"]
    assert response.headers["location"] == f"http://sandbox{GROOVE}/widgets/{widget['id']}"
    assert {"id", "created_at", "name", "published_settings", "updated_at", "uuid"} <= set(widget)
    assert widget["published_settings"] == {}
    assert widget["enabled"] is True
    assert uuid.UUID(widget["uuid"]).version == 4
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", widget["created_at"])
    assert groove.get(f"widgets/{widget['id']}").json()["widget"] == widget
    assert widget["id"] in [w["id"] for w in groove.get("widgets").json()["widgets"]]


def test_name_is_required(groove: httpx.Client) -> None:
    assert groove.post("widgets", json={}).json() == {"errors": ["name can't be blank"]}
    assert groove.post("widgets", json={"name": ""}).status_code == 422
    assert groove.put(f"widgets/{_new_widget(groove)['id']}", json={"name": None}).status_code == 422


def test_new_widget_settings_are_the_documented_defaults(groove: httpx.Client) -> None:
    widget = _new_widget(groove)
    settings = groove.get(f"widgets/{widget['id']}/settings").json()["settings"]
    assert settings == {**DOC_DEFAULTS, "published": False}


def test_seeded_widgets_list_with_published_settings(groove: httpx.Client) -> None:
    widgets = groove.get("widgets").json()["widgets"]
    assert len(widgets) == 2
    first = widgets[0]
    assert first["href"] == f"http://sandbox{GROOVE}/widgets/{first['id']}"
    assert first["published_settings"]["kb.enabled"] is True  # seeded to point at the primary KB
    kb = groove.get("kb").json()["knowledge_bases"][0]
    assert first["published_settings"]["kb.id"] == kb["id"]
    mailboxes = [m["id"] for m in groove.get("mailboxes").json()["mailboxes"]]
    assert first["published_settings"]["contact.id"] in mailboxes


def test_unknown_widget_is_404(groove: httpx.Client) -> None:
    for method, path in (
        ("GET", "widgets/1"),
        ("PUT", "widgets/1"),
        ("GET", "widgets/1/settings"),
        ("PUT", "widgets/1/settings"),
    ):
        response = groove.request(method, path, json={} if method == "PUT" else None)
        assert response.status_code == 404
        assert response.json() == {"errors": ["Widget not found"]}


def test_settings_refuse_unknown_keys_and_wrong_types_naming_each(groove: httpx.Client) -> None:
    widget = _new_widget(groove)
    response = _put_settings(
        groove,
        widget["id"],
        {
            "colour": "red",
            "kb.enabled": "yes",
            "contact.enabled": 1,
            "icon_position": "top",
            "z_index": "high",
            "primary_color": "red",
            "kb.url": "not a url",
            "icon_text": 5,
        },
    )
    assert response.status_code == 422
    assert response.json()["errors"] == [
        "colour is not a known widget setting",
        "kb.enabled must be true or false",
        "contact.enabled must be true or false",
        "icon_position must be one of left, right",
        "z_index must be a whole number between 0 and 2147483647 (sent as a string)",
        "primary_color must be a hex color like #1e2825",
        "kb.url must be an http(s) URL",
        "icon_text must be a string",
    ]
    assert groove.get(f"widgets/{widget['id']}/settings").json()["settings"]["icon_position"] == "right"


def test_settings_accept_form_style_values_and_normalise(groove: httpx.Client) -> None:
    widget = _new_widget(groove)
    response = _put_settings(
        groove,
        widget["id"],
        {
            "kb.enabled": "true",
            "branding_disabled": "FALSE",
            "z_index": 100,
            "icon_position": "Left",
            "primary_color": "#1E2825",
            "logo_image_url": "",
        },
    )
    assert response.status_code == 200, response.text
    settings = response.json()["settings"]
    assert settings["kb.enabled"] is True and settings["branding_disabled"] is False
    assert settings["z_index"] == "100"
    assert settings["icon_position"] == "left"
    assert (settings["primary_color"], settings["primary_color_rgb"]) == ("#1e2825", "30, 40, 37")
    assert settings["logo_image_url"] == ""


def test_settings_accept_nested_objects_and_a_settings_envelope(groove: httpx.Client) -> None:
    widget = _new_widget(groove)
    nested = _put_settings(groove, widget["id"], {"contact": {"enabled": True, "attachments_enabled": True}})
    assert nested.status_code == 200
    assert nested.json()["settings"]["contact.attachments_enabled"] is True
    wrapped = _put_settings(groove, widget["id"], {"settings": {"icon_text": "Hi"}})
    assert wrapped.json()["settings"]["icon_text"] == "Hi"


def test_primary_color_rgb_is_derived(groove: httpx.Client) -> None:
    widget = _new_widget(groove)
    alone = _put_settings(groove, widget["id"], {"primary_color_rgb": "1, 2, 3"})
    assert alone.json() == {"errors": ["primary_color_rgb is derived from primary_color; set primary_color instead"]}
    clash = _put_settings(groove, widget["id"], {"primary_color": "#000000", "primary_color_rgb": "1, 2, 3"})
    assert clash.json() == {"errors": ["primary_color_rgb must match primary_color"]}
    agree = _put_settings(groove, widget["id"], {"primary_color": "#ffffff", "primary_color_rgb": "255,255,255"})
    assert agree.json()["settings"]["primary_color_rgb"] == "255, 255, 255"


def test_contact_and_kb_ids_must_exist_and_kb_url_follows_kb(groove: httpx.Client) -> None:
    widget = _new_widget(groove)
    bad = _put_settings(groove, widget["id"], {"contact.id": "1234567890", "kb.id": 42})
    assert bad.json()["errors"] == [
        "contact.id must be the id of one of your mailboxes (got '1234567890')",
        "kb.id must be the id of one of your knowledge bases (got 42)",
    ]
    mailbox = groove.get("mailboxes").json()["mailboxes"][0]["id"]
    kb = groove.post("kb", json={"title": "Widget KB", "custom_domain": "help.example.com"})
    kb_id = kb.json()["knowledge_base"]["id"]
    ok = _put_settings(groove, widget["id"], {"contact.id": int(mailbox), "kb.id": kb_id}).json()["settings"]
    assert ok["contact.id"] == mailbox
    assert ok["kb.url"] == "https://help.example.com"
    explicit = _put_settings(groove, widget["id"], {"kb.id": kb_id, "kb.url": "https://kb.example.com/help"})
    assert explicit.json()["settings"]["kb.url"] == "https://kb.example.com/help"
    cleared = _put_settings(groove, widget["id"], {"contact.id": None}).json()["settings"]
    assert cleared["contact.id"] is None


def test_changes_are_staged_until_published(groove: httpx.Client, sandbox: Sandbox) -> None:
    widget = _new_widget(groove)
    staged = _put_settings(groove, widget["id"], {"icon_text": "Draft text"}).json()["settings"]
    assert staged["published"] is False
    assert groove.get(f"widgets/{widget['id']}").json()["widget"]["published_settings"] == {}

    live = _put_settings(groove, widget["id"], {"published": True}).json()["settings"]
    assert live["published"] is True
    published = groove.get(f"widgets/{widget['id']}").json()["widget"]["published_settings"]
    assert published == {**DOC_DEFAULTS, "icon_text": "Draft text"}

    again = _put_settings(groove, widget["id"], {"icon_text": "Second draft"}).json()["settings"]
    assert again["published"] is False
    assert (
        _public(sandbox, f"public/widget/{widget['uuid']}").json()["widget"]["published_settings"]["icon_text"]
        == "Draft text"
    )
    same = _put_settings(groove, widget["id"], {"published": "true", "icon_text": "Second draft"})
    assert same.json()["settings"]["published"] is True
    unchanged = _put_settings(groove, widget["id"], {"icon_text": "Second draft"}).json()["settings"]
    assert unchanged["published"] is True  # re-sending the same value is not a change


def test_enabled_is_a_live_switch_everywhere(groove: httpx.Client, sandbox: Sandbox) -> None:
    widget = _new_widget(groove)
    _put_settings(groove, widget["id"], {"published": True})
    off = _put_settings(groove, widget["id"], {"enabled": False}).json()["settings"]
    assert off["enabled"] is False and off["published"] is True
    public = _public(sandbox, f"public/widget/{widget['uuid']}").json()["widget"]
    assert public["enabled"] is False and public["published_settings"]["enabled"] is False
    on = groove.put(f"widgets/{widget['id']}", json={"enabled": "true"}).json()["widget"]
    assert on["enabled"] is True and on["published_settings"]["enabled"] is True
    assert groove.get(f"widgets/{widget['id']}/settings").json()["settings"]["enabled"] is True
    bad = groove.put(f"widgets/{widget['id']}", json={"enabled": "maybe"})
    assert bad.json() == {"errors": ["enabled must be true or false"]}


def test_update_widget_ignores_fields_it_does_not_own(groove: httpx.Client) -> None:
    widget = _new_widget(groove)
    response = groove.put(f"widgets/{widget['id']}", json={"name": "Renamed", "uuid": "x", "id": "1"})
    assert response.status_code == 200
    assert response.json()["widget"]["uuid"] == widget["uuid"]
    assert response.json()["widget"]["id"] == widget["id"]


def test_public_view_needs_no_credential_and_has_the_documented_shape(sandbox: Sandbox, groove: httpx.Client) -> None:
    seeded = groove.get("widgets").json()["widgets"][0]
    for path in (f"public/widget/{seeded['uuid']}", f"public/widgets/{seeded['uuid'].upper()}"):
        response = _public(sandbox, path)
        assert response.status_code == 200, path
        widget = response.json()["widget"]
        assert list(widget) == [
            "id",
            "account_id",
            "company",
            "created_at",
            "enabled",
            "name",
            "published_settings",
            "updated_at",
            "uuid",
        ]
        assert widget["published_settings"] == seeded["published_settings"]
        assert len(widget["account_id"]) == 10 and widget["account_id"].isdigit()
        assert widget["name"].startswith(widget["company"])
    assert _public(sandbox, f"widgets/{seeded['id']}").status_code == 401
    missing = _public(sandbox, f"public/widget/{uuid.uuid4()}")
    assert missing.status_code == 404 and missing.json() == {"errors": ["Widget not found"]}


def test_public_view_finds_any_tenants_widget_and_uuids_never_collide(
    sandbox: Sandbox, admin: httpx.Client, groove: httpx.Client
) -> None:
    other = admin.post("tenants", json={"name": "same-seed", "seed": 0}).json()
    theirs = groove.get("widgets", headers={"Authorization": f"Bearer {other['groove-helpdesk']['token']}"})
    their_widget = theirs.json()["widgets"][0]
    mine = groove.get("widgets").json()["widgets"][0]
    assert their_widget["id"] == mine["id"]  # same seed, same ids...
    assert their_widget["uuid"] != mine["uuid"]  # ...but the public handle is unique
    public = _public(sandbox, f"public/widget/{their_widget['uuid']}").json()["widget"]
    assert public["id"] == their_widget["id"] and public["name"] == their_widget["name"]
    my_public = _public(sandbox, f"public/widget/{mine['uuid']}").json()["widget"]
    assert public["account_id"] != my_public["account_id"]
    samples = sandbox.credentials("same-seed")["groove-helpdesk"]["samples"]
    assert samples["widget_uuids"][0] == their_widget["uuid"]
