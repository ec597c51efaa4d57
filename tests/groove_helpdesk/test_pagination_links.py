"""Pagination links name the host and path each request used, though the path is remembered between pages."""

from __future__ import annotations

import httpx


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
