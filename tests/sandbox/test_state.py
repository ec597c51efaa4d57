"""Sandbox state: tenants, deterministic resets, persistence, the journal and stats, both modes."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from engagesync.sandbox.app import Sandbox
from engagesync.sandbox.inprocess import SyncASGITransport

from .echo_api import admin_client, echo_client, echo_sandbox

T2030 = 1_893_456_000


def names(client: httpx.Client) -> list[str]:
    r = client.get("items")
    assert r.status_code == 200, r.text
    return [i["name"] for i in r.json()["items"]]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# -- tenants -------------------------------------------------------------------------------------
def test_a_new_tenant_has_its_own_credentials_and_data(sb: Sandbox, adm: httpx.Client, echo: httpx.Client) -> None:
    created = adm.post("tenants", json={"name": "acme", "seed": 3})
    assert created.status_code == 201
    body = created.json()
    assert body["tenant"]["name"] == "acme"
    assert body["tenant"]["seed"] == 3
    assert body["echo"]["base_url"] == "http://sandbox/echo/v1"
    acme_token = body["echo"]["token"]
    default_token = sb.credentials()["echo"]["token"]
    assert acme_token and acme_token != default_token

    mine = echo.post("items", json={"name": "only-default"}).json()["item"]
    acme = echo_client(sb, tenant="acme")
    assert "only-default" not in names(acme)
    assert len(names(acme)) == 3  # acme's own seeded items
    assert "only-default" in names(echo)
    # another tenant's item does not exist for acme, whatever its id
    assert acme.get(f"items/{mine['id']}").status_code == 404
    assert acme.post(f"items/{mine['id']}/notify").status_code == 404
    assert acme.get(f"items/{mine['id']}").json() == {
        "error": {"status": 404, "message": f"item {mine['id']} not found"}
    }
    # and acme's writes stay acme's
    acme.post("items", json={"name": "only-acme"})
    assert "only-acme" not in names(echo)


def test_tenants_are_listed_named_and_unique(adm: httpx.Client) -> None:
    assert adm.post("tenants", json={"name": "acme"}).status_code == 201
    unnamed = adm.post("tenants")
    assert unnamed.status_code == 201
    assert unnamed.json()["tenant"]["name"] == "tenant-3"
    duplicate = adm.post("tenants", json={"name": "acme"})
    assert duplicate.status_code == 409
    assert "acme" in duplicate.json()["error"]
    assert [t["name"] for t in adm.get("tenants").json()["tenants"]] == ["default", "acme", "tenant-3"]


def test_credentials_by_tenant_name_or_id(adm: httpx.Client) -> None:
    created = adm.post("tenants", json={"name": "acme", "seed": 1}).json()
    by_name = adm.get("credentials", params={"tenant": "acme"}).json()
    by_id = adm.get("credentials", params={"tenant": created["tenant"]["id"]}).json()
    by_header = adm.get("credentials", headers={"X-Sandbox-Tenant": "acme"}).json()
    assert by_name == by_id == by_header == created
    default = adm.get("credentials").json()
    assert default["tenant"]["name"] == "default"
    assert default["echo"]["token"] != created["echo"]["token"]
    missing = adm.get("credentials", params={"tenant": "nobody"})
    assert missing.status_code == 404
    assert "nobody" in missing.json()["error"]


def test_unknown_count_keys_when_creating_a_tenant_are_400(adm: httpx.Client) -> None:
    """Same ``counts`` format as a reset, so the same answer to a typo: 400, and nothing created."""
    r = adm.post("tenants", json={"name": "typo", "counts": {"ecoh.items": 5}})
    assert r.status_code == 400
    assert "ecoh.items" in r.json()["error"]
    assert [t["name"] for t in adm.get("tenants").json()["tenants"]] == ["default"]


def test_a_tenant_the_api_refuses_to_seed_is_not_created(adm: httpx.Client) -> None:
    r = adm.post("tenants", json={"name": "typo", "counts": {"echo.widgets": 5}})
    assert r.status_code == 400
    assert "widgets" in r.json()["error"]
    assert [t["name"] for t in adm.get("tenants").json()["tenants"]] == ["default"]


# -- deterministic reset -------------------------------------------------------------------------
def snapshot(sb: Sandbox, adm: httpx.Client, seed: int, counts: dict[str, int]) -> tuple[dict[str, Any], Any]:
    r = adm.post("reset", json={"seed": seed, "counts": counts})
    assert r.status_code == 200, r.text
    creds = r.json()
    items = echo_client(sb).get("items").json()
    return creds, items


def test_same_seed_and_counts_give_identical_data(sb: Sandbox, adm: httpx.Client, echo: httpx.Client) -> None:
    creds, items = snapshot(sb, adm, 5, {"echo.items": 10})
    assert len(items["items"]) == 10
    assert creds["echo"]["token"] == sb.credentials()["echo"]["token"]
    # change things, then reset again
    echo_client(sb).post("items", json={"name": "noise"})
    adm.post("tenants", json={"name": "extra"})
    adm.post("clock/advance", json={"seconds": 999})
    assert snapshot(sb, adm, 5, {"echo.items": 10}) == (creds, items)
    assert [t["name"] for t in adm.get("tenants").json()["tenants"]] == ["default"]


def test_a_different_seed_gives_different_tokens_and_data(sb: Sandbox, adm: httpx.Client) -> None:
    creds5, items5 = snapshot(sb, adm, 5, {"echo.items": 4})
    creds6, items6 = snapshot(sb, adm, 6, {"echo.items": 4})
    assert creds6["tenant"]["seed"] == 6
    assert creds5["echo"]["token"] != creds6["echo"]["token"]
    assert [i["name"] for i in items5["items"]] != [i["name"] for i in items6["items"]]
    # the old token is gone with its seed
    assert echo_client(sb).get("items", headers=bearer(creds5["echo"]["token"])).status_code == 401


def test_counts_default_and_zero(sb: Sandbox, adm: httpx.Client) -> None:
    assert len(snapshot(sb, adm, 1, {})[1]["items"]) == 3
    assert snapshot(sb, adm, 1, {"echo.items": 0})[1]["items"] == []


def test_reset_one_tenant_leaves_the_others(sb: Sandbox, adm: httpx.Client, echo: httpx.Client) -> None:
    echo.post("items", json={"name": "keep-me"})
    adm.post("tenants", json={"name": "acme", "seed": 1})
    acme = echo_client(sb, tenant="acme")
    acme.post("items", json={"name": "drop-me"})
    r = adm.post("reset", json={"tenant": "acme", "seed": 2, "counts": {"echo.items": 1}})
    assert r.status_code == 200
    assert r.json()["tenant"] == {"id": 2, "name": "acme", "seed": 2}
    acme = echo_client(sb, tenant="acme")
    assert len(names(acme)) == 1
    assert "drop-me" not in names(acme)
    assert "keep-me" in names(echo)


@pytest.mark.parametrize("counts", [{"nope.items": 3}, {"items": 3}, {"echo.items": 1, "groove.tickets": 2}])
def test_reset_with_unknown_count_keys_is_400_and_changes_nothing(
    sb: Sandbox, adm: httpx.Client, echo: httpx.Client, counts: dict[str, int]
) -> None:
    echo.post("items", json={"name": "survivor"})
    token = sb.credentials()["echo"]["token"]
    r = adm.post("reset", json={"seed": 9, "counts": counts})
    assert r.status_code == 400
    bad = next(k for k in counts if k != "echo.items")
    assert bad in r.json()["error"]
    assert "survivor" in names(echo)
    assert sb.credentials()["echo"]["token"] == token


def test_reset_with_malformed_counts_is_400(adm: httpx.Client) -> None:
    assert adm.post("reset", json={"counts": [1, 2]}).status_code == 400
    assert adm.post("reset", json={"counts": {"echo.items": "many"}}).status_code == 400
    assert adm.post("reset", json={"seed": "x"}).status_code == 400


def test_a_reset_the_api_refuses_keeps_the_data(sb: Sandbox, adm: httpx.Client, echo: httpx.Client) -> None:
    echo.post("items", json={"name": "survivor"})
    r = adm.post("reset", json={"seed": 1, "counts": {"echo.widgets": 2}})
    assert r.status_code == 400
    assert "widgets" in r.json()["error"]
    assert "survivor" in names(echo)


def test_a_reset_the_api_refuses_keeps_faults_and_journal(sb: Sandbox, adm: httpx.Client, echo: httpx.Client) -> None:
    """A refused reset (400) must leave *everything* as it was, in-memory state included."""
    echo.get("items")
    adm.put("faults", json={"rules": [{"match": {"path": "/nothing"}, "effect": {"status": 500}}]})
    assert adm.post("reset", json={"seed": 1, "counts": {"echo.widgets": 2}}).status_code == 400
    assert len(adm.get("faults").json()["rules"]) == 1
    assert len(adm.get("requests").json()["requests"]) == 1


# -- persistence ---------------------------------------------------------------------------------
def test_state_survives_a_restart_with_a_db_file(tmp_path: Path) -> None:
    db = str(tmp_path / "s.db")
    with echo_sandbox(db=db, seed=4) as first:
        adm = admin_client(first)
        echo = echo_client(first)
        echo.post("items", json={"name": "persisted"})
        acme = adm.post("tenants", json={"name": "acme", "seed": 8}).json()
        echo_client(first, tenant="acme").post("items", json={"name": "acme-persisted"})
        adm.put("rate-limits/echo", json={"limit": 9, "window_seconds": 30})
        adm.put("rate-limits/echo", json={"limit": 4, "window_seconds": 10, "credential": acme["echo"]["token"]})
        adm.post("clock/advance", json={"seconds": 3600})
        before = {
            "items": echo.get("items").json(),
            "tenants": adm.get("tenants").json(),
            "default": adm.get("credentials").json(),
            "acme": adm.get("credentials?tenant=acme").json(),
            "limits": adm.get("rate-limits").json(),
        }

    with echo_sandbox(db=db) as second:
        adm = admin_client(second)
        echo = echo_client(second)
        after = {
            "items": echo.get("items").json(),
            "tenants": adm.get("tenants").json(),
            "default": adm.get("credentials").json(),
            "acme": adm.get("credentials?tenant=acme").json(),
            "limits": adm.get("rate-limits").json(),
        }
        assert after == before
        assert "persisted" in names(echo)
        acme_client = echo_client(second, tenant="acme")
        assert names(acme_client)[-1] == "acme-persisted"
        assert echo.get("items").headers["x-ratelimit-limit"] == "9"
        assert acme_client.get("items").headers["x-ratelimit-limit"] == "4"
        clock = adm.get("clock").json()
        assert clock["frozen"] is False
        assert clock["offset_seconds"] == pytest.approx(3600, abs=0.01)
        assert abs(clock["epoch"] - (time.time() + 3600)) < 5


def test_a_frozen_clock_stays_frozen_across_a_restart(tmp_path: Path) -> None:
    db = str(tmp_path / "s.db")
    with echo_sandbox(db=db) as first:
        adm = admin_client(first)
        adm.post("clock/freeze")
        adm.post("clock/set", json={"epoch": T2030})
    time.sleep(0.05)
    with echo_sandbox(db=db) as second:
        clock = admin_client(second).get("clock").json()
        assert clock["frozen"] is True
        assert clock["epoch"] == T2030
        assert echo_client(second).get("items").headers["date"] == "Tue, 01 Jan 2030 00:00:00 GMT"


def test_webhook_deliveries_survive_a_restart(tmp_path: Path) -> None:
    db = str(tmp_path / "s.db")
    with echo_sandbox(db=db) as first:
        assert echo_client(first).post("items/1/notify").status_code == 202
        adm = admin_client(first)
        deadline = time.monotonic() + 3  # the delivery may finish after the response
        while adm.get("webhooks/deliveries").json()["deliveries"][0]["status"] == "pending":
            assert time.monotonic() < deadline
            time.sleep(0.02)
        before = adm.get("webhooks/deliveries").json()
    with echo_sandbox(db=db) as second:
        assert admin_client(second).get("webhooks/deliveries").json() == before
        assert before["deliveries"][0]["status"] == "delivered"


# -- journal and stats ---------------------------------------------------------------------------
def test_journal_records_requests_and_filters(sb: Sandbox, adm: httpx.Client, echo: httpx.Client) -> None:
    echo.get("items")
    echo.post("items", json={"name": "j"})
    echo.post("items", json={})
    echo.get("items", headers=bearer("wrong"))
    adm.post("tenants", json={"name": "acme"})
    echo_client(sb, tenant="acme").get("items")

    entries = adm.get("requests").json()["requests"]
    assert [(e["method"], e["path"], e["status"]) for e in entries] == [
        ("GET", "/items", 200),
        ("POST", "/items", 201),
        ("POST", "/items", 422),
        ("GET", "/items", 401),
        ("GET", "/items", 200),
    ]
    assert all(e["api"] == "echo" for e in entries)
    assert [e["tenant_id"] for e in entries] == [1, 1, 1, None, 2]
    assert [e["at"] for e in entries] == sorted(e["at"] for e in entries)

    def query(**params: Any) -> list[tuple[str, int]]:
        return [(e["method"], e["status"]) for e in adm.get("requests", params=params).json()["requests"]]

    assert query(api="echo", status=401) == [("GET", 401)]
    assert query(api="other") == []
    assert query(method="POST") == [("POST", 201), ("POST", 422)]
    assert query(tenant=2) == [("GET", 200)]
    assert query(limit=2) == [("GET", 401), ("GET", 200)]
    assert query(since=entries[2]["id"]) == [("GET", 401), ("GET", 200)]


def test_journal_and_deliveries_filter_by_tenant_name_too(sb: Sandbox, adm: httpx.Client, echo: httpx.Client) -> None:
    """``?tenant=`` names a tenant as everywhere else in the admin API (by name or id), never silently
    matching every tenant."""
    acme_id = adm.post("tenants", json={"name": "acme"}).json()["tenant"]["id"]
    echo.get("items")
    echo.post("items/1/notify")
    acme = echo_client(sb, tenant="acme")
    acme.get("items")
    by_id = adm.get("requests", params={"tenant": acme_id}).json()["requests"]
    assert [e["tenant_id"] for e in by_id] == [acme_id]
    assert adm.get("requests", params={"tenant": "acme"}).json()["requests"] == by_id
    assert adm.get("webhooks/deliveries", params={"tenant": "acme"}).json()["deliveries"] == []


def test_journal_keeps_no_secrets(sb: Sandbox, adm: httpx.Client) -> None:
    token = sb.credentials()["echo"]["token"]
    plain = sb.client()
    r = plain.get("/echo/v1/items", params={"access_token": token, "page": "2"})
    assert r.status_code == 200  # the query-string credential works ...
    echo_client(sb).get("items", params={"API_KEY": "hunter2"})
    dump = adm.get("requests").text
    assert token not in dump  # ... but neither it nor the Bearer header reach the journal
    assert "hunter2" not in dump
    entries = adm.get("requests").json()["requests"]
    assert "page=2" in entries[0]["query"]
    assert "access_token=" in entries[0]["query"]
    assert "redacted" in entries[0]["query"]


def test_stats_count_requests_statuses_limits_and_faults(sb: Sandbox, adm: httpx.Client, echo: httpx.Client) -> None:
    adm.put("rate-limits/echo", json={"limit": 3, "window_seconds": 60})
    adm.post("clock/freeze")
    for _ in range(4):
        echo.get("items")
    echo.get("items", headers=bearer("wrong"))
    adm.put("faults", json={"rules": [{"match": {"path": "/items"}, "effect": {"status": 503}, "times": 1}]})
    echo.get("items")
    stats = adm.get("stats").json()
    assert stats["apis"]["echo"] == {
        "requests": 6,
        "rate_limited": 1,
        "faults": 1,
        "by_status": {"200": 3, "429": 1, "401": 1, "503": 1},
    }
    assert stats["tenants"] == 1
    assert stats["clock"]["frozen"] is True
    limited = adm.get("requests", params={"status": 429}).json()["requests"]
    assert [e["rate_limited"] for e in limited] == [True]


def test_admin_refuses_non_loopback_clients(sb: Sandbox) -> None:
    remote = SyncASGITransport(sb.app, client=("203.0.113.9", 40_000))
    try:
        client = httpx.Client(transport=remote, base_url="http://sandbox")
        r = client.get("/_sandbox/credentials")
        assert r.status_code == 403
        assert "loopback" in r.json()["error"]
        assert client.post("/_sandbox/reset", json={}).status_code == 403
        # the emulated APIs themselves answer anyone with a credential
        token = sb.credentials()["echo"]["token"]
        assert client.get("/echo/v1/items", headers=bearer(token)).status_code == 200
    finally:
        remote.close()


# -- both modes, one state -----------------------------------------------------------------------
def test_in_process_and_loopback_see_the_same_state(sb: Sandbox, adm: httpx.Client, echo: httpx.Client) -> None:
    base = sb.serve()
    echo.post("items", json={"name": "made-in-process"})
    with echo_client(sb, base=base) as live, admin_client(sb, base=base) as live_adm:
        assert "made-in-process" in names(live)
        assert live.post("items", json={"name": "made-over-loopback"}).status_code == 201
        assert "made-over-loopback" in names(echo)

        adm.post("clock/freeze")
        adm.post("clock/set", json={"epoch": T2030})
        assert live_adm.get("clock").json()["epoch"] == T2030
        assert live.get("items").headers["date"] == "Tue, 01 Jan 2030 00:00:00 GMT"

        created = live_adm.post("tenants", json={"name": "acme"}).json()
        assert created["echo"]["base_url"] == f"{base}/echo/v1"
        assert sb.credentials("acme")["echo"]["token"] == created["echo"]["token"]
        assert adm.get("credentials", params={"tenant": "acme"}).json()["echo"]["base_url"] == "http://sandbox/echo/v1"

        adm.put("rate-limits/echo", json={"limit": 2, "window_seconds": 60})
        # one window per credential, whichever way the calls arrive
        statuses = [client.get("items").status_code for client in (echo, live, echo)]
        assert statuses == [200, 200, 429]
        journal = live_adm.get("requests").json()["requests"]
        assert [e["status"] for e in journal][-3:] == [200, 200, 429]


def test_closing_one_in_process_client_does_not_break_the_next(sb: Sandbox) -> None:
    """Every ``Sandbox.client()`` must be independently closable (``with sandbox.client() as c``)."""
    with sb.client(timeout=2) as first:
        assert first.get("/_sandbox/health").status_code == 200
    with sb.client(timeout=2) as second:
        assert second.get("/_sandbox/health").status_code == 200


def test_sandbox_handle_credentials_match_the_admin_api(sb: Sandbox, adm: httpx.Client) -> None:
    assert sb.credentials() == adm.get("credentials").json()
    with pytest.raises(KeyError):
        sb.credentials("nobody")
    assert json.loads(json.dumps(sb.credentials()))["echo"]["base_url"] == "http://sandbox/echo/v1"
