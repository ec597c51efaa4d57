"""GrowthGenius emulator behaviour beyond the examples: auth refusals, bodies, validation, windows,
search, rate limit and the error shape (the undocumented choices are in docs/fidelity.md)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from engagesync.sandbox.app import Sandbox
from engagesync.sandbox.ratelimit import RateLimit

GG = "/growthgenius/integrations/v1"


def _raw(sandbox: Sandbox) -> httpx.Client:
    client = sandbox.client()
    client.base_url = httpx.URL(f"http://sandbox{GG}/")
    return client


@pytest.mark.parametrize(
    ("headers", "params", "status", "error"),
    [
        ({}, {"user_id": "1"}, 401, "Missing API key"),
        ({"Authorization": "Bearer {key}"}, {"user_id": "1"}, 401, 'without "Bearer"'),
        ({"Authorization": "not-the-key"}, {"user_id": "1"}, 401, "Invalid API key"),
        ({"Authorization": "{key}"}, {}, 401, "Missing user_id"),
        ({"Authorization": "{key}"}, {"user_id": "abc"}, 403, "numeric id"),
        ({"Authorization": "{key}"}, {"user_id": "999"}, 403, "user_id 999 is not a member of this API key's team"),
        ({"Authorization": "{key}"}, {"user_id": "4"}, 403, "user 4 has not enabled integrations"),
    ],
)
def test_key_and_user_id_are_refused_with_a_clear_error(
    sandbox: Sandbox, headers: dict[str, str], params: dict[str, str], status: int, error: str
) -> None:
    key = sandbox.credentials()["growthgenius"]["api_key"]
    with _raw(sandbox) as client:
        response = client.get("contacts", headers={k: v.format(key=key) for k, v in headers.items()}, params=params)
    assert response.status_code == status
    body = response.json()
    assert body["status"] == status and error in body["error"]
    assert key not in response.text


def test_a_key_of_another_team_does_not_accept_this_teams_user(sandbox: Sandbox) -> None:
    other = sandbox.ctx.create_tenant(seed=5, counts={"growthgenius.users": 2})
    theirs = sandbox.credentials(other.id)["growthgenius"]
    mine = sandbox.credentials()["growthgenius"]
    with _raw(sandbox) as client:
        contact = mine["samples"]["contact_ids"][0]
        refused = client.get(
            f"contacts/{contact}", headers={"Authorization": theirs["api_key"]}, params={"user_id": "3"}
        )
        assert refused.status_code == 403
        hidden = client.get(
            f"contacts/{contact}",
            headers={"Authorization": theirs["api_key"]},
            params={"user_id": str(theirs["user_id"])},
        )
        assert hidden.status_code == 404  # tenants never see each other's contacts


def test_flat_and_form_bodies_are_accepted_like_the_wrapped_one(gg: httpx.Client) -> None:
    flat = gg.post("contacts", json={"email": "flat@x.example", "first_name": "Flat"})
    assert flat.status_code == 201 and flat.json()["contact"]["first_name"] == "Flat"
    form = gg.post("contacts", data={"contact[email]": "form@x.example", "contact[last_name]": "Form"})
    assert form.status_code == 201 and form.json()["contact"]["last_name"] == "Form"


def test_validation_names_every_field_and_reason(gg: httpx.Client) -> None:
    response = gg.post(
        "contacts",
        json={"contact": {"email": "nope", "email_confidence": 140, "employee_count": "many", "user_id": 999}},
    )
    assert response.status_code == 422
    body = response.json()
    assert body["errors"] == {
        "email": ["is not a valid email address (got 'nope')"],
        "employee_count": ["must be a whole number (got 'many')"],
        "email_confidence": ["must be between 0 and 100 (got 140)"],
        "user_id": ["999 is not a member of your team"],
    }
    assert body["error"].startswith("Validation failed: email is not a valid email address")
    missing = gg.post("contacts", json={"contact": {"first_name": "No email"}}).json()
    assert missing["errors"] == {"email": ["can't be blank"]}
    message = gg.post("messages", json={"message": {"contact_id": 1, "sent_at": "yesterday"}}).json()
    assert set(message["errors"]) == {"message_type", "contact_id", "sent_at"}


def test_updated_at_moves_only_when_something_changes(gg: httpx.Client, sandbox: Sandbox) -> None:
    made = gg.post("contacts", json={"email": "same@x.example", "title": "CTO"}).json()["contact"]
    sandbox.ctx.clock.advance(2)
    same = gg.patch(f"contacts/{made['id']}", json={"title": "CTO"}).json()["contact"]
    assert same["updated_at"] == made["updated_at"]
    changed = gg.patch(f"contacts/{made['id']}", json={"title": "CEO"}).json()["contact"]
    assert changed["updated_at"] > made["updated_at"]


def _contacts(gg: httpx.Client, **params: Any) -> list[dict[str, Any]]:
    response = gg.get("contacts", params=params)
    assert response.status_code == 200, response.text
    return list(response.json()["contacts"])


def test_windows_are_inclusive_ordered_oldest_first_and_capped(gg: httpx.Client, sandbox: Sandbox) -> None:
    sandbox.ctx.clock.freeze()
    made = []
    for i in range(5):
        made.append(gg.post("contacts", json={"email": f"w{i}@x.example"}).json()["contact"])
        sandbox.ctx.clock.advance(0.001 if i != 2 else 0)  # contacts 2 and 3 share one millisecond
    times = [c["updated_at"] for c in made]
    assert times[2] == times[3]
    inside = _contacts(gg, **{"from": times[1], "to": times[3]})
    assert [c["id"] for c in inside] == [made[i]["id"] for i in (1, 2, 3)]  # both bounds, ties included
    assert _contacts(gg, **{"from": times[4], "to": times[4]})[0]["id"] == made[4]["id"]
    with sandbox.client() as admin:
        assert admin.put("/_sandbox/growthgenius/settings", json={"window_limit": 2}).json() == {"window_limit": 2}
    capped = _contacts(gg, **{"from": times[0]})
    assert [c["id"] for c in capped] == [made[0]["id"], made[1]["id"]]  # the oldest two, nothing to say more exist


def test_window_bounds_accept_offsets_z_and_dates_and_refuse_nonsense(gg: httpx.Client) -> None:
    offset = _contacts(gg, **{"from": "2025-12-31T00:00:00Z", "to": "2025-12-31T23:59:59.999-05:00"})
    utc = _contacts(gg, **{"from": "2025-12-31T00:00:00.000+00:00", "to": "2026-01-01T04:59:59.999Z"})
    assert offset == utc  # the same instants, written two ways
    assert len(_contacts(gg, **{"from": "2025-01-01", "to": "2026-01-01"})) == 120  # every seeded contact
    bad = gg.get("contacts", params={"from": "last tuesday"})
    assert bad.status_code == 422 and "from" in bad.json()["errors"]
    backwards = gg.get("contacts", params={"from": "2025-02-01", "to": "2025-01-01"})
    assert backwards.json()["errors"] == {"to": ["must not be before from"]}


def test_search_pages_sorts_and_reports_like_the_docs(gg: httpx.Client) -> None:
    for i in range(30):
        gg.post("contacts", json={"email": f"page{i}@searchco.example", "company_name": "SearchCo"})
    first = gg.post(
        "contacts/search",
        json={"q_keywords": "searchco", "sort_by_field": "contact_created_at", "sort_ascending": True},
    ).json()
    assert first["pagination"] == {"page": 1, "per_page": 25, "total_entries": 30, "total_pages": 2}
    assert first["breadcrumbs"][0]["signature_field_name"] == "q_keywords"
    assert (first["partial_results_limit"], first["partial_results_only"]) == (10000, False)
    second = gg.post(
        "contacts/search",
        json={"q_keywords": "searchco", "page": 2, "sort_by_field": "contact_created_at", "sort_ascending": True},
    ).json()
    emails = [c["contact"]["email"] for c in first["contacts"] + second["contacts"]]
    assert emails == [f"page{i}@searchco.example" for i in range(30)]
    for wrong in ("shoe_size", ""):  # the document's enum: an empty field is no field, not the default
        bad = gg.post("contacts/search", json={"sort_by_field": wrong})
        assert bad.status_code == 422 and "sort_by_field" in bad.json()["errors"]


def test_rate_limit_uses_the_shared_limiter_and_headers(gg: httpx.Client, sandbox: Sandbox) -> None:
    sandbox.ctx.set_rate_limit("growthgenius", RateLimit(3, 60))
    sandbox.ctx.clock.freeze()
    statuses = [gg.get("users/").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    ok = gg.get("users/")
    assert ok.headers.get("x-ratelimit-limit") == "3"


def test_injected_errors_use_the_same_error_shape(gg: httpx.Client, sandbox: Sandbox) -> None:
    sandbox.ctx.faults.replace(
        [{"match": {"api": "growthgenius", "path": "/contacts"}, "effect": {"status": 503}, "times": 1}]
    )
    response = gg.get("contacts")
    assert response.status_code == 503 and response.json() == {"status": 503, "error": "Service unavailable"}
    unknown = gg.get("campaigns")
    assert unknown.status_code == 404 and unknown.json()["error"] == "No route matches GET /campaigns"
