"""The virtual clock through the admin API, and the rate windows it drives (no real sleeping)."""

from __future__ import annotations

import time

import httpx
import pytest

from engagesync.sandbox.app import Sandbox

from .echo_api import echo_client

#: 2030-01-01T00:00:00Z, a multiple of 10 and 60: rate windows start exactly here.
T2030 = 1_893_456_000
DATE_2030 = "Tue, 01 Jan 2030 00:00:00 GMT"


def freeze_at(adm: httpx.Client, epoch: float) -> None:
    assert adm.post("clock/freeze").status_code == 200
    r = adm.post("clock/set", json={"epoch": epoch})
    assert r.status_code == 200, r.text
    assert r.json()["epoch"] == epoch


# -- the clock -----------------------------------------------------------------------------------
def test_clock_starts_at_real_time_and_running(adm: httpx.Client) -> None:
    clock = adm.get("clock").json()
    assert clock["frozen"] is False
    assert clock["offset_seconds"] == 0
    assert abs(clock["epoch"] - time.time()) < 5
    assert clock["now"].endswith("Z")


def test_freeze_stops_time_and_advance_moves_it_exactly(adm: httpx.Client) -> None:
    frozen = adm.post("clock/freeze").json()
    assert frozen["frozen"] is True
    time.sleep(0.05)
    assert adm.get("clock").json()["epoch"] == frozen["epoch"]
    advanced = adm.post("clock/advance", json={"seconds": 3600}).json()
    assert advanced["epoch"] == frozen["epoch"] + 3600
    assert advanced["frozen"] is True
    assert adm.get("clock").json()["epoch"] == frozen["epoch"] + 3600


def test_unfreeze_resumes_from_the_frozen_instant(adm: httpx.Client) -> None:
    freeze_at(adm, T2030)
    resumed = adm.post("clock/unfreeze").json()
    assert resumed["frozen"] is False
    assert T2030 <= resumed["epoch"] < T2030 + 2
    time.sleep(0.05)
    later = adm.get("clock").json()["epoch"]
    assert later > resumed["epoch"]
    assert later < T2030 + 2
    assert abs(adm.get("clock").json()["offset_seconds"] - (T2030 - time.time())) < 2


def test_advance_on_a_running_clock_adds_to_the_offset(adm: httpx.Client) -> None:
    before = adm.get("clock").json()
    after = adm.post("clock/advance", json={"seconds": 86_400}).json()
    assert after["frozen"] is False
    assert 86_400 <= after["epoch"] - before["epoch"] < 86_400 + 2
    assert after["offset_seconds"] == pytest.approx(86_400)


def test_set_jumps_to_an_absolute_instant(adm: httpx.Client) -> None:
    r = adm.post("clock/set", json={"epoch": T2030})
    assert r.status_code == 200
    assert r.json()["frozen"] is False
    assert T2030 <= r.json()["epoch"] < T2030 + 2
    assert r.json()["now"].startswith("2030-01-01T00:00:0")


def test_the_clock_refuses_to_go_backwards_or_bad_input(adm: httpx.Client) -> None:
    r = adm.post("clock/advance", json={"seconds": -5})
    assert r.status_code == 400
    assert "forward" in r.json()["error"]
    assert adm.post("clock/advance", content=b"{nope").status_code == 400
    assert adm.post("clock/set", json={}).status_code == 400


# -- the Date header -----------------------------------------------------------------------------
def test_date_header_follows_the_virtual_clock_everywhere(sb: Sandbox, adm: httpx.Client, echo: httpx.Client) -> None:
    freeze_at(adm, T2030)
    assert echo.get("items").headers["date"] == DATE_2030
    assert echo.get("items", headers={"Authorization": "Bearer wrong"}).headers["date"] == DATE_2030
    assert adm.get("clock").headers["date"] == DATE_2030
    assert sb.client().get("/no/such/api").headers["date"] == DATE_2030
    adm.post("clock/advance", json={"seconds": 90})
    assert echo.get("items").headers["date"] == "Tue, 01 Jan 2030 00:01:30 GMT"


def test_date_header_over_loopback_is_the_sandbox_clock_not_the_servers(sb: Sandbox, adm: httpx.Client) -> None:
    freeze_at(adm, T2030)
    base = sb.serve()
    with echo_client(sb, base=base) as live:
        r = live.get("items")
    assert r.status_code == 200
    assert r.headers.get_list("date") == [DATE_2030]


def test_created_timestamps_use_the_virtual_clock(adm: httpx.Client, echo: httpx.Client) -> None:
    freeze_at(adm, T2030)
    item = echo.post("items", json={"name": "dated"}).json()["item"]
    assert item["created_at"] == T2030


# -- rate windows on the virtual clock -----------------------------------------------------------
def put_limit(adm: httpx.Client, body: dict[str, object]) -> httpx.Response:
    r = adm.put("rate-limits/echo", json=body)
    assert r.status_code == 200, r.text
    return r


def test_fourth_request_in_ten_seconds_is_429_with_an_empty_body_and_headers(
    adm: httpx.Client, echo: httpx.Client
) -> None:
    freeze_at(adm, T2030)
    put_limit(adm, {"limit": 3, "window_seconds": 10})
    ok = [echo.get("items") for _ in range(3)]
    assert [r.status_code for r in ok] == [200, 200, 200]
    assert [r.headers["x-ratelimit-remaining"] for r in ok] == ["2", "1", "0"]
    assert all(r.headers["x-ratelimit-limit"] == "3" for r in ok)
    # 3 counted at T: the estimate is exactly 3 at the rollover (T+10), below 3 from then on.
    assert ok[2].headers["x-ratelimit-reset"] == str(T2030 + 11)

    refused = echo.get("items")
    assert refused.status_code == 429
    assert refused.content == b""
    assert refused.headers["x-ratelimit-limit"] == "3"
    assert refused.headers["x-ratelimit-remaining"] == "0"
    # the refused call is counted too: 4 * (1 - e) < 3 from e = 1/4 of the next window on
    assert refused.headers["x-ratelimit-reset"] == str(T2030 + 13)
    assert refused.headers["date"] == DATE_2030

    adm.post("clock/advance", json={"seconds": 20})
    again = echo.get("items")
    assert again.status_code == 200
    assert again.headers["x-ratelimit-remaining"] == "2"


def test_a_request_exactly_at_the_reset_second_is_allowed(adm: httpx.Client, echo: httpx.Client) -> None:
    freeze_at(adm, T2030)
    put_limit(adm, {"limit": 3, "window_seconds": 10})
    for _ in range(3):
        echo.get("items")
    reset = int(echo.get("items").headers["x-ratelimit-reset"])
    adm.post("clock/set", json={"epoch": reset - 1})
    assert echo.get("items").status_code == 429
    # that refused probe was counted as well, so ask again for the new reset
    reset = int(echo.get("items").headers["x-ratelimit-reset"])
    adm.post("clock/set", json={"epoch": reset})
    assert echo.get("items").status_code == 200


def test_delete_disables_the_limit(adm: httpx.Client, echo: httpx.Client) -> None:
    freeze_at(adm, T2030)
    put_limit(adm, {"limit": 1, "window_seconds": 60})
    assert echo.get("items").status_code == 200
    assert echo.get("items").status_code == 429
    r = adm.delete("rate-limits/echo")
    assert r.status_code == 200
    assert r.json()["default"] is None
    responses = [echo.get("items") for _ in range(5)]
    assert [x.status_code for x in responses] == [200] * 5
    assert "x-ratelimit-limit" not in responses[-1].headers


def test_rate_limit_config_is_listed_and_validated(adm: httpx.Client) -> None:
    assert adm.get("rate-limits").json()["echo"]["default"] is None
    put_limit(adm, {"limit": 7, "window_seconds": 30})
    assert adm.get("rate-limits/echo").json()["default"] == {"limit": 7, "window_seconds": 30.0}
    assert adm.get("rate-limits").json()["echo"]["default"] == {"limit": 7, "window_seconds": 30.0}
    assert adm.put("rate-limits/echo", json={"limit": 0, "window_seconds": 10}).status_code == 400
    assert adm.put("rate-limits/echo", json={"limit": 5, "window_seconds": 0}).status_code == 400
    assert adm.put("rate-limits/echo", json={"window_seconds": 10}).status_code == 400
    missing = adm.put("rate-limits/nope", json={"limit": 1, "window_seconds": 1})
    assert missing.status_code == 404
    assert "echo" in missing.json()["error"]
    # a refused update leaves the previous rule in force
    assert adm.get("rate-limits/echo").json()["default"] == {"limit": 7, "window_seconds": 30.0}


def test_each_credential_has_its_own_window(sb: Sandbox, adm: httpx.Client, echo: httpx.Client) -> None:
    freeze_at(adm, T2030)
    adm.post("tenants", json={"name": "other"})
    other = echo_client(sb, tenant="other")
    put_limit(adm, {"limit": 2, "window_seconds": 60})
    assert [echo.get("items").status_code for _ in range(3)] == [200, 200, 429]
    assert [other.get("items").status_code for _ in range(2)] == [200, 200]


def test_per_credential_override_beats_the_api_default(sb: Sandbox, adm: httpx.Client, echo: httpx.Client) -> None:
    freeze_at(adm, T2030)
    adm.post("tenants", json={"name": "vip"})
    vip_token = sb.credentials("vip")["echo"]["token"]
    vip = echo_client(sb, tenant="vip")
    put_limit(adm, {"limit": 2, "window_seconds": 60})
    r = put_limit(adm, {"limit": 5, "window_seconds": 10, "credential": vip_token})
    assert vip_token not in r.text  # the admin API lists overrides without the secret

    vip_responses = [vip.get("items") for _ in range(6)]
    assert [x.status_code for x in vip_responses] == [200] * 5 + [429]
    assert vip_responses[0].headers["x-ratelimit-limit"] == "5"
    default_responses = [echo.get("items") for _ in range(3)]
    assert [x.status_code for x in default_responses] == [200, 200, 429]
    assert default_responses[0].headers["x-ratelimit-limit"] == "2"

    listing = adm.get("rate-limits").json()["echo"]
    assert listing["default"] == {"limit": 2, "window_seconds": 60.0}
    assert list(listing["credentials"].values()) == [{"limit": 5, "window_seconds": 10.0}]
    assert vip_token not in adm.get("rate-limits").text
    # the override's 10 s window, not the default's 60 s, decides when vip may go again
    adm.post("clock/advance", json={"seconds": 20})
    assert vip.get("items").status_code == 200
    assert echo.get("items").status_code == 429
