"""The Groove sales connector against the sandbox: pulls that outlive access tokens, batched alias pushes
with per-record rejects, idempotent re-runs, and reconciliation of a batch whose response was lost."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from engagesync.apis.groove_sales import connector
from engagesync.client.http import ApiClient, RetryPolicy
from engagesync.client.oauth import OAuthHolder
from engagesync.sandbox.app import Sandbox
from engagesync.sync import connectors
from engagesync.sync.connections import Connection
from engagesync.sync.pull import pull
from engagesync.sync.push import Pusher
from engagesync.sync.store import Store
from tests.transports import Passthrough

CONN = "groove-sales"


class Aging(Passthrough):
    """Moves the sandbox's clock 7300 s (past a token's 2 h) before every API page request: each page
    is read with a token that expired since the last one (the retry after a 401 is let through)."""

    def __init__(self, sandbox: Sandbox) -> None:
        super().__init__(sandbox.transport())
        self.sandbox = sandbox
        self.advance = True

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        api = request.url.path.endswith("/graphql")
        if api and self.advance:
            self.sandbox.ctx.clock.advance(7300)
        response = self.inner.handle_request(request)
        if api:
            self.advance = response.status_code == 200
        return response


@pytest.fixture
def creds(sandbox: Sandbox) -> dict[str, Any]:
    return sandbox.credentials()["groove-sales"]


@pytest.fixture
def connection(sandbox: Sandbox, creds: dict[str, Any]) -> Connection:
    url, secrets, settings = connectors.from_sandbox(CONN, creds, transport=Passthrough(sandbox.transport()))
    return Connection(CONN, CONN, url, secrets, settings)


@pytest.fixture
def client(sandbox: Sandbox, connection: Connection) -> Iterator[ApiClient]:
    with connectors.client_for(
        connection,
        transport=Passthrough(sandbox.transport()),
        retry=RetryPolicy(attempts=3, base_delay=0.001, max_delay=0.01),
    ) as c:
        yield c


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(str(tmp_path / "gs.duckdb")) as s:
        yield s


def mutations(sandbox: Sandbox) -> int:
    return len([e for e in sandbox.ctx.journal.entries(api=CONN, limit=10_000) if e.operation == "addPersonToFlow"])


def members(sandbox: Sandbox) -> list[tuple[int, int]]:
    return [
        (r["person_id"], r["flow_id"])
        for r in sandbox.ctx.store.all("SELECT person_id, flow_id FROM gs_person_flows WHERE tenant_id = 1")
    ]


def free_people(sandbox: Sandbox, flow: int, n: int) -> list[str]:
    rows = sandbox.ctx.store.all(
        "SELECT id FROM gs_people WHERE tenant_id = 1 AND id NOT IN (SELECT person_id FROM "
        "gs_person_flows WHERE tenant_id = 1 AND flow_id = ?) ORDER BY id LIMIT ?",
        (flow, n),
    )
    assert len(rows) == n
    return [str(r["id"]) for r in rows]


def test_a_pull_that_outlives_several_access_tokens_never_fails(sandbox: Sandbox, store: Store) -> None:
    sandbox.reset(counts={"groove-sales.flows": 4, "groove-sales.steps_per_flow": 5})  # (a reset wipes tokens)
    creds = sandbox.credentials()["groove-sales"]
    url, secrets, settings = connectors.from_sandbox(CONN, creds, transport=Passthrough(sandbox.transport()))
    client = connectors.client_for(Connection(CONN, CONN, url, secrets, settings), transport=Aging(sandbox))
    result = pull(client, CONN, connector.streams(page_size=2), ["flows", "steps", "label_instances"], store)
    assert result.ok, {n: s.error for n, s in result.streams.items()}
    assert result.requests == 1 + (1 + 4 * 3) + (1 + 4 * 2)
    assert isinstance(client.auth, OAuthHolder) and client.auth.refreshes == ["401"] * result.requests
    steps = sorted(str(r["id"]) for r in sandbox.ctx.store.all("SELECT id FROM gs_steps WHERE tenant_id = 1"))
    assert sorted(str(r[0]) for r in store.execute("SELECT id FROM groove_sales.steps")) == steps
    assert store.execute("SELECT count(*) FROM groove_sales.label_instances") == [(12,)]


def test_steps_resume_inside_the_flow_and_page_they_stopped_at(sandbox: Sandbox, client: ApiClient) -> None:
    stream = connector.streams(page_size=2)["steps"]
    pages = list(stream.pages(client, None))
    everything = [r["id"] for p in pages for r in p.records]
    assert len(everything) == 48 and len(set(everything)) == 48 and pages[-1].state is None
    middle = pages[4].state  # inside the third flow
    assert middle is not None and middle["after"] is not None
    resumed = [r["id"] for p in stream.pages(client, middle) for r in p.records]
    assert resumed == everything[10:]


def test_people_are_found_by_salesforce_id_and_unknown_ids_are_skipped(
    sandbox: Sandbox, creds: dict[str, Any], client: ApiClient, store: Store
) -> None:
    sf = creds["samples"]["salesforce_ids"]
    ids = [*sf, sf[0][:15], "003000000000000AAA"]  # a 15-character form of the first one, and a stranger
    result = pull(client, CONN, connector.streams(salesforce_ids=",".join(ids)), ["people"], store)
    assert result.ok
    rows = store.execute('SELECT id, "salesforceId" FROM groove_sales.people ORDER BY id')
    assert [r[0] for r in rows] == creds["samples"]["person_ids"]  # deduplicated by Groove id


def test_a_batched_push_sends_one_request_per_batch_and_rejects_per_alias(
    sandbox: Sandbox, creds: dict[str, Any], client: ApiClient, store: Store
) -> None:
    flow = int(creds["samples"]["flow_ids"][0])
    people = free_people(sandbox, flow, 21)
    rows = [(i + 2, {"flowId": str(flow), "personId": p}) for i, p in enumerate(people)]
    rows[3] = (5, {"flowId": "1", "personId": people[3]})  # no such flow
    rows[7] = (9, {"flowId": str(flow), "personId": "123"})  # no such person
    action = connector.actions()["add_person_to_flow"]
    before = len(members(sandbox))
    result = Pusher(client, CONN, action, store, batch_size=5).run(iter(rows))
    assert (result.read, result.done, result.rejected_by_api) == (21, 19, 2)
    assert mutations(sandbox) == 5  # ceil(21 / 5)
    assert len(members(sandbox)) == before + 19
    # each reject names the record's line, the field the API refused and the API's reason
    assert sorted((r.field, r.reason) for r in store.rejects(CONN)) == [
        ("flowId", "line 5: Couldn't find Flow with 'id'=1"),
        ("personId", "line 9: Couldn't find Person with 'id'=123"),
    ]
    again = Pusher(client, CONN, action, store, batch_size=5).run(iter(rows))
    assert (again.done, again.skipped, mutations(sandbox)) == (0, 21, 5)  # nothing sent, nothing created


def test_salesforce_ids_are_resolved_in_one_lookup_and_already_in_flow_counts_as_done(
    sandbox: Sandbox, creds: dict[str, Any], client: ApiClient, store: Store
) -> None:
    inside = creds["samples"]["person_in_flow"]
    person = sandbox.ctx.store.one(
        "SELECT salesforce_id FROM gs_people WHERE tenant_id = 1 AND id = ?", (int(inside["personId"]),)
    )
    free = free_people(sandbox, int(inside["flowId"]), 3)
    sf = [
        r["salesforce_id"]
        for r in sandbox.ctx.store.all(
            f"SELECT salesforce_id FROM gs_people WHERE tenant_id = 1 AND id IN ({','.join(free)}) ORDER BY id"
        )
    ]
    rows = [
        (2, {"flowId": inside["flowId"], "salesforceId": person["salesforce_id"]}),  # already in the flow
        (3, {"flowId": inside["flowId"], "salesforceId": sf[0][:15]}),
        (4, {"flowId": inside["flowId"], "salesforceId": sf[1]}),
        (5, {"flowId": inside["flowId"], "salesforceId": "003000000000000AAA"}),  # nobody
        (6, {"flowId": inside["flowId"], "salesforceId": "not-an-id"}),  # refused locally
        (7, {"flowId": inside["flowId"], "personId": free[2]}),
    ]
    requests = client.stats["requests"]
    result = Pusher(client, CONN, connector.actions()["add_person_to_flow"], store, batch_size=10).run(iter(rows))
    assert (result.done, result.rejected_by_api, result.rejected_locally) == (4, 1, 1)
    assert client.stats["requests"] - requests == 2  # one aliased lookup + one aliased mutation
    reasons = sorted((r.field, r.reason) for r in store.rejects(CONN))
    assert reasons == [
        (
            "salesforceId",
            "line 5: No person with Salesforce id 003000000000000AAA (findPersonBySalesforceId returned null)",
        ),
        ("salesforceId", "line 6: salesforceId must be a 15- or 18-character Salesforce id (got 'not-an-id')"),
    ]
    assert {(int(p), int(inside["flowId"])) for p in free} <= set(members(sandbox))


def test_a_batch_whose_response_is_lost_after_commit_is_reconciled_without_duplicates(
    sandbox: Sandbox, creds: dict[str, Any], client: ApiClient, store: Store
) -> None:
    flow = int(creds["samples"]["flow_ids"][1])
    people = free_people(sandbox, flow, 10)
    sandbox.ctx.faults.replace(
        [{"match": {"api": CONN, "operation": "addPersonToFlow"}, "effect": {"drop": True}, "after": True, "times": 1}],
        seed=1,
    )
    before = members(sandbox)
    rows = [(i + 2, {"flowId": str(flow), "personId": p}) for i, p in enumerate(people)]
    result = Pusher(client, CONN, connector.actions()["add_person_to_flow"], store, batch_size=10).run(iter(rows))
    assert (result.done, result.reconciled, result.rejected) == (10, 10, 0)
    after = members(sandbox)
    assert len(after) == len(before) + 10 and len(set(after)) == len(after)
    ledger = store.execute("SELECT status, count(*) FROM _engagesync.ledger GROUP BY status")
    assert ledger == [("done", 10)]


def test_a_dry_run_previews_the_graphql_request_and_sends_nothing(
    sandbox: Sandbox, client: ApiClient, store: Store
) -> None:
    rows = [(2, {"flowId": "70001", "salesforceId": "003000000000000AAA"})]
    result = Pusher(client, CONN, connector.actions()["add_person_to_flow"], store).run(iter(rows), dry_run=True)
    [preview] = result.requests
    assert preview["body"]["query"].startswith("mutation ($i0: AddPersonToFlowInput!) { a0: addPersonToFlow")
    assert preview["body"]["variables"]["i0"]["flowId"] == "70001"
    assert mutations(sandbox) == 0
