"""Fault injection (``PUT /_sandbox/faults``) as a client sees it, in-process and over loopback."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from engagesync.sandbox.app import Sandbox

from .echo_api import echo_client

#: A connection cut mid-response reads as a protocol error or, if the reset wins the race, a read error.
DROPPED = (httpx.RemoteProtocolError, httpx.ReadError)


@pytest.fixture(params=["in-process", "loopback"])
def any_echo(request: pytest.FixtureRequest, sb: Sandbox) -> Iterator[httpx.Client]:
    if request.param == "in-process":
        yield echo_client(sb)
        return
    with echo_client(sb, base=sb.serve()) as client:
        yield client


def put_faults(adm: httpx.Client, *rules: dict[str, Any], seed: int = 0) -> dict[str, Any]:
    r = adm.put("faults", json={"seed": seed, "rules": list(rules)})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def names(echo: httpx.Client) -> list[str]:
    return [i["name"] for i in echo.get("items").json()["items"]]


def journal(adm: httpx.Client, **params: Any) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = adm.get("requests", params={"api": "echo", **params}).json()["requests"]
    return entries


# -- status --------------------------------------------------------------------------------------
def test_status_fault_answers_with_the_vendor_error_body(adm: httpx.Client, any_echo: httpx.Client) -> None:
    put_faults(adm, {"match": {"api": "echo", "path": "/items"}, "effect": {"status": 503}})
    r = any_echo.get("items")
    assert r.status_code == 503
    assert r.headers["content-type"].startswith("application/json")
    assert r.json() == {"error": {"status": 503, "message": "echo error 503"}}
    assert journal(adm)[-1]["fault"] == "status"
    assert journal(adm)[-1]["status"] == 503


def test_status_fault_with_an_empty_body(adm: httpx.Client, any_echo: httpx.Client) -> None:
    put_faults(adm, {"match": {"path": "/items"}, "effect": {"status": 500, "body": "empty"}})
    r = any_echo.get("items")
    assert r.status_code == 500
    assert r.content == b""


def test_times_fails_the_next_n_then_behaves(adm: httpx.Client, echo: httpx.Client) -> None:
    put_faults(adm, {"match": {"path": "/items"}, "effect": {"status": 500}, "times": 2})
    assert [echo.get("items").status_code for _ in range(4)] == [500, 500, 200, 200]
    rule = adm.get("faults").json()["rules"][0]
    assert rule["times"] == 0
    assert rule["hits"] == 2


def test_faults_strike_before_auth(adm: httpx.Client, echo: httpx.Client) -> None:
    """An outage answers every caller alike, even one with a bad token."""
    put_faults(adm, {"match": {"path": "/items"}, "effect": {"status": 502}})
    assert echo.get("items", headers={"Authorization": "Bearer wrong"}).status_code == 502


# -- probability ---------------------------------------------------------------------------------
def faulted_sequence(adm: httpx.Client, echo: httpx.Client, seed: int, n: int = 40) -> list[bool]:
    put_faults(adm, {"match": {"path": "/items"}, "effect": {"status": 503}, "probability": 0.5}, seed=seed)
    return [echo.get("items").status_code == 503 for _ in range(n)]


def test_probability_with_a_seed_is_reproducible(adm: httpx.Client, echo: httpx.Client) -> None:
    first = faulted_sequence(adm, echo, seed=7)
    assert 5 < sum(first) < 35  # a coin, not a constant
    assert faulted_sequence(adm, echo, seed=7) == first
    assert faulted_sequence(adm, echo, seed=8) != first
    assert adm.get("faults").json()["seed"] == 8


def test_probability_and_times_combine(adm: httpx.Client, echo: httpx.Client) -> None:
    put_faults(adm, {"match": {"path": "/items"}, "effect": {"status": 503}, "probability": 0.5, "times": 3}, seed=1)
    statuses = [echo.get("items").status_code for _ in range(60)]
    assert statuses.count(503) == 3
    assert statuses[-10:] == [200] * 10


# -- matching ------------------------------------------------------------------------------------
def test_rules_match_by_api_method_and_path_glob(adm: httpx.Client, echo: httpx.Client) -> None:
    put_faults(
        adm,
        {"match": {"api": "echo", "method": "post", "path": "/items/*/notify"}, "effect": {"status": 502}},
    )
    assert echo.post("items/1/notify").status_code == 502
    assert echo.get("items").status_code == 200
    assert echo.get("items/1").status_code == 200
    assert echo.post("items", json={"name": "fine"}).status_code == 201


def test_a_rule_for_another_api_or_method_does_not_fire(adm: httpx.Client, echo: httpx.Client) -> None:
    put_faults(
        adm,
        {"match": {"api": "some-other-api"}, "effect": {"status": 500}},
        {"match": {"api": "echo", "method": "DELETE"}, "effect": {"status": 500}},
        {"match": {"path": "/item"}, "effect": {"status": 500}},
    )
    assert echo.get("items").status_code == 200
    assert echo.get("items/2").status_code == 200
    assert [r["hits"] for r in adm.get("faults").json()["rules"]] == [0, 0, 0]


def test_first_matching_rule_wins_and_post_appends_delete_clears(adm: httpx.Client, echo: httpx.Client) -> None:
    put_faults(adm, {"match": {"path": "/items/*"}, "effect": {"status": 404}})
    added = adm.post("faults", json={"match": {"path": "/items*"}, "effect": {"status": 418}})
    assert added.status_code == 200
    assert echo.get("items/1").status_code == 404  # first rule
    assert echo.get("items").status_code == 418  # only the second matches
    assert len(adm.get("faults").json()["rules"]) == 2
    assert adm.delete("faults").json()["rules"] == []
    assert echo.get("items").status_code == 200


# -- latency -------------------------------------------------------------------------------------
def test_latency_makes_the_response_measurably_slower(adm: httpx.Client, any_echo: httpx.Client) -> None:
    any_echo.get("items")  # warm up the connection
    started = time.perf_counter()
    any_echo.get("items")
    baseline = time.perf_counter() - started
    put_faults(adm, {"match": {"path": "/items"}, "effect": {"latency": 200}})
    started = time.perf_counter()
    r = any_echo.get("items")
    slow = time.perf_counter() - started
    assert r.status_code == 200
    assert len(r.json()["items"]) == 3  # still the real answer
    assert slow >= 0.2
    assert slow - baseline >= 0.15
    entry = journal(adm)[-1]
    assert entry["fault"] == "latency"
    assert entry["duration_ms"] >= 200


# -- dropped connections -------------------------------------------------------------------------
def test_drop_surfaces_as_remote_protocol_error(adm: httpx.Client, any_echo: httpx.Client) -> None:
    put_faults(adm, {"match": {"path": "/items"}, "effect": {"drop": True}, "times": 1})
    with pytest.raises(DROPPED):
        any_echo.get("items")
    assert any_echo.get("items").status_code == 200
    dropped = [e for e in journal(adm) if e["fault"] == "drop"]
    assert len(dropped) == 1
    assert dropped[0]["status"] == 0  # the client never got a complete response


def test_drop_before_the_handler_commits_nothing(adm: httpx.Client, any_echo: httpx.Client) -> None:
    put_faults(adm, {"match": {"method": "POST", "path": "/items"}, "effect": {"drop": True}})
    with pytest.raises(DROPPED):
        any_echo.post("items", json={"name": "never-stored"})
    assert "never-stored" not in names(any_echo)


def test_drop_after_commit_keeps_the_row_the_client_never_saw(adm: httpx.Client, any_echo: httpx.Client) -> None:
    put_faults(adm, {"match": {"method": "POST", "path": "/items"}, "effect": {"drop": True, "after": True}})
    with pytest.raises(DROPPED):
        any_echo.post("items", json={"name": "ghost"})
    assert names(any_echo).count("ghost") == 1


def test_status_after_commit_keeps_the_row_too(adm: httpx.Client, echo: httpx.Client) -> None:
    put_faults(adm, {"match": {"method": "POST", "path": "/items"}, "effect": {"status": 500}, "after": True})
    r = echo.post("items", json={"name": "half-failed"})
    assert r.status_code == 500
    assert r.json()["error"]["status"] == 500
    assert names(echo).count("half-failed") == 1


# -- timeouts ------------------------------------------------------------------------------------
def test_timeout_over_loopback_is_a_read_timeout_and_journaled(sb: Sandbox, adm: httpx.Client) -> None:
    put_faults(adm, {"match": {"path": "/items"}, "effect": {"timeout": True, "seconds": 2}})
    with echo_client(sb, base=sb.serve()) as live:
        live.timeout = httpx.Timeout(0.3)
        started = time.perf_counter()
        with pytest.raises(httpx.ReadTimeout):
            live.get("items")
        assert time.perf_counter() - started < 1.5
    entries = journal(adm)
    assert [e["fault"] for e in entries] == ["timeout"]
    assert entries[0]["path"] == "/items"
    assert entries[0]["method"] == "GET"


def test_timeout_in_process_is_a_read_timeout_too(sb: Sandbox, adm: httpx.Client) -> None:
    put_faults(adm, {"match": {"path": "/items"}, "effect": {"timeout": 2}, "times": 1})
    echo = echo_client(sb)
    started = time.perf_counter()
    with pytest.raises(httpx.ReadTimeout):
        echo.get("items", timeout=0.3)
    assert time.perf_counter() - started < 1.5
    assert echo.get("items").status_code == 200  # the sandbox is still usable
    assert journal(adm)[0]["fault"] == "timeout"


# -- invalid specs -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"match": {"path": "/items"}, "effect": {}}, "exactly one of"),
        ({"effect": {"status": 500, "latency": 10}}, "exactly one of"),
        ({"effect": {"explode": True}}, "exactly one of"),
        ({"effect": {"status": 999}}, "status must be an HTTP status code"),
        ({"effect": {"status": "teapot"}}, "invalid fault rule"),
        ({"effect": {"status": 500, "body": "html"}}, "body must be 'vendor' or 'empty'"),
        ({"effect": {"latency": "slow"}}, "invalid fault rule"),
        ({"effect": {"status": 500}, "probability": 1.5}, "probability must be between 0 and 1"),
        ({"effect": {"status": 500}, "times": "often"}, "invalid fault rule"),
        ({"match": "everything", "effect": {"status": 500}}, "'match' and 'effect' must be objects"),
        ("not-an-object", "must be an object"),
    ],
)
def test_invalid_fault_rules_are_400_with_a_clear_message(
    adm: httpx.Client, echo: httpx.Client, rule: Any, message: str
) -> None:
    put_faults(adm, {"match": {"path": "/items"}, "effect": {"status": 503}})
    r = adm.put("faults", json={"rules": [rule]})
    assert r.status_code == 400
    assert message in r.json()["error"]
    # a refused PUT replaces nothing
    assert len(adm.get("faults").json()["rules"]) == 1
    assert echo.get("items").status_code == 503


def test_malformed_fault_bodies_are_400(adm: httpx.Client) -> None:
    not_a_list = adm.put("faults", json={"rules": {"effect": {"status": 500}}})
    assert not_a_list.status_code == 400
    assert not_a_list.json() == {"error": "'rules' must be a list"}
    r = adm.put("faults", content=b"rules: []")
    assert r.status_code == 400
    assert "not valid JSON" in r.json()["error"]
    assert adm.post("faults", json={"effect": {}}).status_code == 400
