"""GrowthGenius windows learn the sandbox's oldest-first order: a big pull in about one request per 200
contacts, every contact exactly once, whatever the window limit (counts, not time)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from engagesync.apis.growthgenius import connector
from engagesync.client.http import ApiClient
from engagesync.client.windows import CONTRADICTED
from engagesync.sandbox.app import Sandbox
from tests.growthgenius.test_connector import make, set_window_limit, source


@pytest.fixture
def client(sandbox: Sandbox) -> Iterator[ApiClient]:
    with make(sandbox) as c:
        yield c


def read(client: ApiClient, limit: int, learn_order: bool = True) -> tuple[list[int], int, list[int]]:
    """Contact ids in pass order, requests spent, and the learned order after each window."""
    stream = connector.streams(limit=limit, learn_order=learn_order)["contacts"]
    pages = list(stream.pages(client, None))
    ids = [int(r["id"]) for p in pages for r in p.records]
    return ids, sum(p.requests for p in pages), [p.state.get("oldest_first", 0) for p in pages]


def test_twenty_thousand_contacts_in_at_most_105_requests(sandbox: Sandbox, client: ApiClient) -> None:
    """The raw keyset loop (bench/growthgenius_bench.py) spends 101; the cut alone spent 134."""
    sandbox.reset(seed=0, counts={"growthgenius.contacts": 20_000, "growthgenius.messages": 0})
    ids, spent, orders = read(client, 200)
    assert len(ids) == len(set(ids)) and sorted(ids) == sorted(source(sandbox, "gg_contacts"))
    assert len(ids) == 20_000
    assert spent <= 105
    assert max(orders) >= 2 and CONTRADICTED not in orders


@pytest.mark.parametrize("limit", [9, 50])
def test_another_window_limit_still_reads_every_contact_once(sandbox: Sandbox, client: ApiClient, limit: int) -> None:
    sandbox.reset(seed=0, counts={"growthgenius.contacts": 1_000, "growthgenius.messages": 0})
    set_window_limit(sandbox, limit)
    ids, spent, _ = read(client, limit)
    assert len(ids) == len(set(ids)) and sorted(ids) == sorted(source(sandbox, "gg_contacts"))
    cut_ids, cut_spent, cut_orders = read(client, limit, learn_order=False)
    assert sorted(cut_ids) == sorted(ids) and set(cut_orders) == {0}
    assert spent <= 4 + 1_000 / (limit - 1) + 1 < cut_spent
