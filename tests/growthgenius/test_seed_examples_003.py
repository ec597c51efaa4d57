"""Seed 003's example requests sent as written, every way the document can be read.

The document lists create and update parameters under "Query Parameters" but shows them as a JSON
object: a Rails app merges the query string with the body, so the same example is accepted as a JSON
body, as Rails bracket keys in the query string and as a form body. Only ids that do not exist in the
sandbox are swapped (contact 155715, user 78); the message example's ``team_id: 1`` is sent as written,
although the document's user is in team 2 (docs/fidelity.md).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from engagesync.sandbox.app import Sandbox

#: Create a Contact's request, verbatim.
CONTACT = {"first_name": "Steve", "last_name": "Jobs", "email": "sjobs@apple.com"}

#: Create a Message's request, verbatim (its ids of another team are swapped by ``_message``).
MESSAGE: dict[str, Any] = {
    "contact_id": 155715,
    "message_type": "sales_force_message",
    "rendered_copy": "Hey Louis,↵↵You hate prospecting. I love it. Maybe it's a perfect match?",
    "rendered_subject": None,
    "sent_at": "2019-08-09T07:10:41.275-04:00",
    "team_id": 1,
    "user_id": 78,
}

STYLES = ["json", "query", "form"]


def _send(
    gg: httpx.Client, method: str, path: str, envelope: str, fields: dict[str, Any], style: str
) -> httpx.Response:
    """``{envelope: fields}`` as a JSON body, as ``envelope[field]=`` query parameters, or as a form body.

    A query string or form cannot say null, so a null field is left out there (as a Rails form would)."""
    if style == "json":
        return gg.request(method, path, json={envelope: fields})
    pairs = {f"{envelope}[{k}]": str(v) for k, v in fields.items() if v is not None}
    if style == "query":
        return gg.request(method, path, params=pairs)
    form = urlencode(pairs)
    return gg.request(method, path, content=form, headers={"Content-Type": "application/x-www-form-urlencoded"})


def _message(gg: httpx.Client) -> dict[str, Any]:
    contact = gg.post("contacts", json={"contact": {"first_name": "Louis", "email": "louis@x.example"}}).json()
    return {**MESSAGE, "contact_id": contact["contact"]["id"], "user_id": int(gg.params["user_id"])}


@pytest.mark.parametrize("style", STYLES)
def test_create_a_contact_as_documented(gg_any: httpx.Client, style: str) -> None:
    response = _send(gg_any, "POST", "contacts", "contact", CONTACT, style)
    assert response.status_code == 201, response.text
    contact = response.json()["contact"]
    assert {k: contact[k] for k in CONTACT} == CONTACT
    assert contact["user_id"] == int(gg_any.params["user_id"])  # the query's user_id is the caller, not a field


@pytest.mark.parametrize("style", STYLES)
def test_update_a_contact_with_the_create_parameters(gg_any: httpx.Client, style: str) -> None:
    made = gg_any.post("contacts", json={"contact": {"email": "someone@apple.com"}}).json()["contact"]
    response = _send(gg_any, "PATCH", f"contacts/{made['id']}", "contact", CONTACT, style)
    assert response.status_code == 200, response.text
    assert {k: response.json()["contact"][k] for k in CONTACT} == CONTACT
    assert gg_any.get(f"contacts/{made['id']}").json() == response.json()


@pytest.mark.parametrize("style", STYLES)
def test_create_a_message_as_documented_team_id_1_included(gg_any: httpx.Client, style: str) -> None:
    sent = _message(gg_any)
    response = _send(gg_any, "POST", "messages", "message", sent, style)
    assert response.status_code == 201, response.text
    message = response.json()["message"]
    assert {k: message[k] for k in sent} == sent  # team_id 1 is kept, as the documented response shows
    assert gg_any.get(f"messages/{message['id']}").json() == response.json()


@pytest.mark.parametrize("style", STYLES)
def test_update_a_message_with_the_create_parameters(gg_any: httpx.Client, style: str) -> None:
    sent = _message(gg_any)
    made = gg_any.post("messages", json={"message": {"contact_id": sent["contact_id"], "message_type": "x"}})
    response = _send(gg_any, "PATCH", f"messages/{made.json()['message']['id']}", "message", sent, style)
    assert response.status_code == 200, response.text
    assert {k: response.json()["message"][k] for k in sent if sent[k] is not None} == {
        k: v for k, v in sent.items() if v is not None
    }


def test_query_parameters_win_over_the_body_as_in_rails(gg: httpx.Client) -> None:
    """Rails merges ``request_parameters`` with ``query_parameters`` over them, key by key at the top."""
    query = {"contact[email]": "query@apple.com"}
    response = gg.post("contacts", params=query, json={"contact": {"email": "body@apple.com"}})
    assert response.status_code == 201 and response.json()["contact"]["email"] == "query@apple.com"


def test_a_missing_email_in_query_and_body_is_still_refused(gg: httpx.Client) -> None:
    response = gg.post("contacts", params={"contact[first_name]": "Steve"})
    assert response.status_code == 422 and "email" in response.text


def test_the_strict_team_check_can_be_switched_on(gg: httpx.Client, sandbox: Sandbox) -> None:
    with sandbox.client() as admin:
        assert admin.get("/_sandbox/growthgenius/team-check").json() == {"strict_team_id": False}
        assert admin.put("/_sandbox/growthgenius/team-check", json={"strict_team_id": "yes"}).status_code == 400
        on = admin.put("/_sandbox/growthgenius/team-check", json={"strict_team_id": True})
        assert on.json() == {"strict_team_id": True}
    sent = _message(gg)
    refused = gg.post("messages", json={"message": sent})
    assert refused.status_code == 422 and "team_id" in refused.text
    team = gg.get("users/").json()["user"]["team_id"]
    assert gg.post("messages", json={"message": {**sent, "team_id": team}}).status_code == 201
