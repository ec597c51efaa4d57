"""Customer attributes take text or a number (stored as text), as the OpenAPI document's CustomerText says;
a boolean is no number (Python's ``bool`` is an ``int``, which let ``true`` through as "True")."""

from __future__ import annotations

import httpx


def test_numbers_are_stored_as_text_and_booleans_refused(groove: httpx.Client) -> None:
    email = groove.get("customers").json()["customers"][0]["email"]
    stored = groove.put(f"customers/{email}", json={"email": email, "website_url": 0.75, "title": 7})
    assert stored.status_code == 200, stored.text
    assert (stored.json()["customer"]["website_url"], stored.json()["customer"]["title"]) == ("0.75", "7")
    refused = groove.put(f"customers/{email}", json={"email": email, "website_url": True})
    assert refused.status_code == 422
    assert refused.json()["errors"] == ["website_url must be a string"]
