"""Pagination links name the host and path each request used, though the path is remembered between pages."""

from __future__ import annotations

import httpx

from engagesync.sandbox import Sandbox


def test_next_page_follows_each_requests_host_and_path(groove: httpx.Client) -> None:
    seen = []
    for host in ("sandbox", "api.example.test:8443", "sandbox"):
        for path in ("tickets", "customers"):
            response = groove.get(path, params={"per_page": "2"}, headers={"Host": host})
            seen.append(response.json()["meta"]["pagination"]["next_page"])
    assert seen == [
        "http://sandbox/groove-helpdesk/v1/tickets?page=2",
        "http://sandbox/groove-helpdesk/v1/customers?page=2",
        "http://api.example.test:8443/groove-helpdesk/v1/tickets?page=2",
        "http://api.example.test:8443/groove-helpdesk/v1/customers?page=2",
        "http://sandbox/groove-helpdesk/v1/tickets?page=2",
        "http://sandbox/groove-helpdesk/v1/customers?page=2",
    ]


def test_page_tag_ids_follow_a_tag_row_changed_in_place(sandbox: Sandbox, groove: httpx.Client) -> None:
    """The page's tag ids are looked up once per version of the data: a changed tag id shows at once."""
    tenant_id = sandbox.ctx.tenant(None).id
    groove.put("tickets/1/tags", json={"tags": ["vip"]})
    first = next(t for t in groove.get("tickets", params={"per_page": "5"}).json()["tickets"] if t["number"] == 1)
    sandbox.ctx.store.execute("UPDATE gh_tags SET id = id + 500 WHERE tenant_id = ? AND name = 'vip'", (tenant_id,))
    again = next(t for t in groove.get("tickets", params={"per_page": "5"}).json()["tickets"] if t["number"] == 1)
    assert first["tags"] == again["tags"] == ["vip"]
    assert again["tag_ids"] == [first["tag_ids"][0] + 500]
