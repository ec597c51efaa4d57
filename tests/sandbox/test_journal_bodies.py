"""The request journal keeps headers and bodies (what a destination test checks) without credentials."""

from __future__ import annotations

import httpx

from engagesync.sandbox.app import Sandbox


def test_the_journal_keeps_headers_and_bodies_with_credentials_redacted(sandbox: Sandbox) -> None:
    creds = sandbox.credentials()
    token = creds["groove-helpdesk"]["token"]
    secret = creds["groove-sales"]["client_secret"]
    with sandbox.client() as client:
        client.post(
            "/groove-helpdesk/v1/tickets",
            headers={"Authorization": f"Bearer {token}", "X-Source": "nexla"},
            data={"body": "hi", "from": "a@b.example", "access_token": token},
        )
        client.post(
            "/groove-sales/oauth/token",
            data={"grant_type": "refresh_token", "refresh_token": "r-123", "client_secret": secret},
        )
        client.post("/groove-helpdesk/v1/tickets", headers={"Authorization": f"Bearer {token}"}, json={"x": "y" * 9000})
        entries = client.get("/_sandbox/requests", params={"method": "POST"}).json()["requests"]
    ticket, oauth, big = entries
    assert ticket["headers"]["authorization"] == "[redacted]" and ticket["headers"]["x-source"] == "nexla"
    assert httpx.QueryParams(ticket["body"]) == httpx.QueryParams(
        {"body": "hi", "from": "a@b.example", "access_token": "[redacted]"}
    )
    assert "refresh_token=%5Bredacted%5D" in oauth["body"] and "client_secret=%5Bredacted%5D" in oauth["body"]
    assert big["body_bytes"] == len('{"x":"' + "y" * 9000 + '"}') and len(big["body"]) == 8192
    text = str(entries)
    assert token not in text and secret not in text and "r-123" not in text
