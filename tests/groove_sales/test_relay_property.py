"""Relay pagination over Flow.steps and Flow.labelInstances, as a property.

For any number of items and any page size, walking forwards (first/after) and backwards
(last/before) visits every item exactly once, in order, and pageInfo tells the truth.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engagesync.sandbox.app import Sandbox
from engagesync.testing import make_sandbox

from .conftest import gql, token_pair

PAGE = """query($id: ID!, $first: Int, $after: String, $last: Int, $before: String) { flow(id: $id) {
    %s(first: $first, after: $after, last: $last, before: $before) {
        edges { cursor node { id } } nodes { id }
        pageInfo { startCursor endCursor hasNextPage hasPreviousPage } } } }"""


class Pager:
    """One sandbox for every example (hypothesis re-runs a test body many times), reset per example."""

    def __init__(self) -> None:
        self.sandbox = make_sandbox(seed=3)
        self.sandbox.ctx.set_rate_limit("groove-sales", None)
        self.http = self.sandbox.client()
        self.token = ""

    def reset(self, total: int) -> str:
        """One flow with ``total`` steps and ``total`` label instances; returns its id."""
        self.sandbox.reset(
            seed=3,
            counts={
                "groove-sales.flows": 1,
                "groove-sales.steps_per_flow": total,
                "groove-sales.labels_per_flow": total,
            },
        )
        creds = self.sandbox.credentials()["groove-sales"]
        self.token = str(token_pair(self.http, creds)["access_token"])
        return str(creds["samples"]["flow_ids"][0])

    def connection(self, field: str, flow_id: str, **args: Any) -> dict[str, Any]:
        body = gql(self.http, self.token, PAGE % field, {"id": flow_id, **args}).json()
        assert "errors" not in body, body
        conn: dict[str, Any] = body["data"]["flow"][field]
        return conn


@pytest.fixture(scope="module")
def pager() -> Iterator[Pager]:
    p = Pager()
    try:
        yield p
    finally:
        p.http.close()
        p.sandbox.close()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(total=st.integers(0, 25), size=st.integers(1, 30), field=st.sampled_from(["steps", "labelInstances"]))
def test_forward_and_backward_walks_visit_every_item_once(pager: Pager, total: int, size: int, field: str) -> None:
    flow_id = pager.reset(total)
    everything = [n["id"] for n in pager.connection(field, flow_id, first=100)["nodes"]]
    assert len(everything) == total and everything == sorted(everything, key=int)

    forward: list[str] = []
    after = None
    while True:
        conn = pager.connection(field, flow_id, first=size, after=after)
        ids = [e["node"]["id"] for e in conn["edges"]]
        assert ids == [n["id"] for n in conn["nodes"]]
        assert len(ids) <= size
        info = conn["pageInfo"]
        assert info["hasPreviousPage"] == (after is not None and bool(forward))
        forward += ids
        assert info["hasNextPage"] == (len(forward) < total)
        if ids:
            assert info["startCursor"] == conn["edges"][0]["cursor"]
            assert info["endCursor"] == conn["edges"][-1]["cursor"]
        else:
            assert info["startCursor"] is None and info["endCursor"] is None
        if not info["hasNextPage"]:
            break
        after = info["endCursor"]
    assert forward == everything

    backward: list[str] = []
    before = None
    while True:
        conn = pager.connection(field, flow_id, last=size, before=before)
        ids = [e["node"]["id"] for e in conn["edges"]]
        assert len(ids) <= size
        backward = ids + backward
        info = conn["pageInfo"]
        assert info["hasPreviousPage"] == (len(backward) < total)
        assert info["hasNextPage"] == (before is not None)
        if not info["hasPreviousPage"]:
            break
        before = info["startCursor"]
    assert backward == everything


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(first=st.integers(0, 12), last=st.integers(0, 12), start=st.integers(0, 11), stop=st.integers(0, 11))
def test_a_window_between_two_cursors_is_the_slice_between_them(
    pager: Pager, first: int, last: int, start: int, stop: int
) -> None:
    """after X and before Y select the items strictly between; first/last then trim it (Relay's algorithm)."""
    flow_id = pager.reset(12)
    edges = pager.connection("steps", flow_id, first=100)["edges"]
    ids = [e["node"]["id"] for e in edges]
    between = ids[start + 1 : stop] if stop > start else []
    conn = pager.connection("steps", flow_id, after=edges[start]["cursor"], before=edges[stop]["cursor"], first=first)
    assert [n["id"] for n in conn["nodes"]] == between[:first]
    conn = pager.connection("steps", flow_id, after=edges[start]["cursor"], before=edges[stop]["cursor"], last=last)
    assert [n["id"] for n in conn["nodes"]] == (between[-last:] if last else [])


def test_cursors_are_opaque(http: httpx.Client, creds: dict[str, Any]) -> None:
    token = token_pair(http, creds)["access_token"]
    conn = gql(http, token, PAGE % "steps", {"id": creds["samples"]["flow_ids"][0], "first": 3}).json()
    for edge in conn["data"]["flow"]["steps"]["edges"]:
        assert edge["node"]["id"] not in edge["cursor"]


def test_a_page_never_exceeds_100(http: httpx.Client, sandbox: Sandbox) -> None:
    sandbox.reset(counts={"groove-sales.flows": 1, "groove-sales.steps_per_flow": 130})
    creds = sandbox.credentials()["groove-sales"]
    token = token_pair(http, creds)["access_token"]
    flow_id = creds["samples"]["flow_ids"][0]
    for args in ({}, {"first": 500}, {"last": 500}):
        conn = gql(http, token, PAGE % "steps", {"id": flow_id, **args}).json()["data"]["flow"]["steps"]
        assert len(conn["nodes"]) == 100


def test_negative_page_sizes_are_errors(http: httpx.Client, token: str, creds: dict[str, Any]) -> None:
    body = gql(http, token, PAGE % "steps", {"id": creds["samples"]["flow_ids"][0], "first": -1}).json()
    assert body["errors"][0]["message"] == "Argument 'first' must be greater than or equal to 0"
