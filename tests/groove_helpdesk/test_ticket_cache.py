"""A ticket list served from the row memo (``ticket_cache``) is byte for byte the page rendered afresh
(``render_rows`` + ``JSONResponse``), after any sequence of creates, updates, renames and deletes."""

from __future__ import annotations

import json
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.responses import JSONResponse

from engagesync.apis.groove_helpdesk.emulator import ticket_cache, ticket_store
from engagesync.sandbox import Sandbox

Op = tuple[str, int, int]

ops = st.lists(
    st.tuples(
        st.sampled_from(
            [
                "create",
                "state",
                "assignee",
                "priority",
                "group",
                "tags",
                "message",
                "mailbox",
                "customer_email",
                "group_name",
                "delete",
                "advance",
            ]
        ),
        st.integers(1, 12),
        st.integers(0, 9),
    ),
    min_size=1,
    max_size=8,
)


def fresh_page(sandbox: Sandbox, base: str, response: httpx.Response, offset: int, limit: int, state: str) -> bytes:
    """The page rendered without the memo: every row through ``render_rows``, encoded by Starlette."""
    api = sandbox.ctx.apis["groove-helpdesk"]
    tenant_id = sandbox.ctx.tenant(None).id
    rows = sandbox.ctx.store.all(
        f"{ticket_store.TICKET_SELECT} WHERE t.tenant_id = ? AND t.deleted = 0 AND (? = '' OR t.state = ?)"
        " ORDER BY t.number LIMIT ? OFFSET ?",
        (tenant_id, state, state, limit, offset),
    )
    meta = response.json()["meta"]
    return bytes(JSONResponse({"tickets": ticket_store.render_rows(api, tenant_id, base, rows), "meta": meta}).body)


def apply(groove: httpx.Client, admin: httpx.Client, samples: dict[str, Any], op: Op) -> None:
    kind, number, pick = op
    agents, groups = samples["agent_emails"], samples["group_ids"]
    ticket = f"tickets/{number}"
    if kind == "create":
        groove.post(
            "tickets",
            json={"body": "Help", "from": f"c{pick}@customer.example", "to": "support@acme-support.example"},
        )
    elif kind == "state":
        groove.put(f"{ticket}/state", json={"state": ["opened", "pending", "closed", "spam"][pick % 4]})
    elif kind == "assignee":
        groove.put(f"{ticket}/assignee", json={"assignee": agents[pick % len(agents)]})
    elif kind == "priority":
        groove.put(f"{ticket}/priority", json={"priority": ["low", "medium", "high", "urgent"][pick % 4]})
    elif kind == "group":
        groove.put(f"{ticket}/assigned_group", json={"group": groups[pick % len(groups)]})
    elif kind == "tags":
        groove.put(f"{ticket}/tags", json={"tags": [["vip"], [], ["billing", f"new{pick}"]][pick % 3]})
    elif kind == "message":
        groove.post(f"{ticket}/messages", json={"body": f"reply {pick}"})
    elif kind == "mailbox":
        mailboxes = samples["mailbox_ids"]
        groove.post(f"{ticket}/change_mailbox/{mailboxes[pick % len(mailboxes)]}")
    elif kind == "customer_email":
        found = groove.get(ticket)
        if found.status_code == 200 and (email := found.json()["ticket"]["links"].get("customer")):
            ref = email["href"].rsplit("/", 1)[1]
            groove.put(f"customers/{ref}", json={"email": f"renamed{number}.{pick}@customer.example"})
    elif kind == "group_name":
        groove.put(f"groups/{groups[pick % len(groups)]}", json={"name": f"Team {pick}"})
    elif kind == "delete":
        admin.delete(f"groove-helpdesk/{ticket}")
    else:
        admin.post("clock/advance", json={"seconds": 3600 * (pick + 1)})


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sequence=ops)
def test_cached_pages_equal_fresh_rendering(
    sandbox: Sandbox, groove: httpx.Client, admin: httpx.Client, sequence: list[Op]
) -> None:
    samples = sandbox.credentials()["groove-helpdesk"]["samples"]
    base = f"http://sandbox{groove.base_url.path.rstrip('/')}"
    pages = [({"per_page": "5"}, 0, 5), ({"per_page": "4", "page": "2"}, 4, 4), ({"state": "opened"}, 0, 25)]
    for op in sequence:
        for params, _, _ in pages:  # warm the memo with what the pages show now
            groove.get("tickets", params=params)
        apply(groove, admin, samples, op)
        for params, offset, limit in pages:
            state = params.get("state", "")
            response = groove.get("tickets", params=params)
            assert response.status_code == 200
            assert response.headers["content-type"] == "application/json"
            assert response.content == fresh_page(sandbox, base, response, offset, limit, state), op
    ticket_cache.clear()
    response = groove.get("tickets", params={"per_page": "5"})
    assert response.content == fresh_page(sandbox, base, response, 0, 5, "")


stored_values = st.fixed_dictionaries(
    {
        "tags": st.one_of(
            st.just("[]"),
            st.lists(st.sampled_from(["vip", "unknown", "ünïcode"]), max_size=3).map(json.dumps),
        ),
        "title": st.one_of(st.none(), st.text(max_size=12)),
        "starred": st.integers(0, 1),
        "created_at": st.sampled_from([1735696790.0, 1735696790.999999, 1735696790.9999995, 1735696791.5]),
    }
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(changes=st.lists(stored_values, min_size=1, max_size=4))
def test_rows_changed_in_place_are_rendered_afresh(
    sandbox: Sandbox, groove: httpx.Client, changes: list[dict[str, Any]]
) -> None:
    """Stored values changed without ``updated_at`` moving (the memo keys on the whole row), tags the
    account has no row for, and timestamps a hair below the next second (shown truncated, as ``int``)."""
    tenant_id = sandbox.ctx.tenant(None).id
    base = f"http://sandbox{groove.base_url.path.rstrip('/')}"
    for values in changes:
        groove.get("tickets", params={"per_page": "3"})
        sets = ", ".join(f"{name} = ?" for name in values)
        sandbox.ctx.store.execute(
            f"UPDATE gh_tickets SET {sets} WHERE tenant_id = ? AND number = 2", (*values.values(), tenant_id)
        )
        response = groove.get("tickets", params={"per_page": "3"})
        assert response.content == fresh_page(sandbox, base, response, 0, 3, "")


def test_a_page_read_again_before_any_write_runs_no_list_query(sandbox: Sandbox, groove: httpx.Client) -> None:
    """Reads leave the data version alone (every version-keyed read cache relies on it), so a page read
    twice runs its list query once; after a write it runs again and shows the change."""
    store = sandbox.ctx.store
    statements: list[str] = []
    store.conn.set_trace_callback(statements.append)
    try:
        first = groove.get("tickets", params={"per_page": "5"})
        version = store.conn.total_changes
        statements.clear()
        again = groove.get("tickets", params={"per_page": "5"})
        assert store.conn.total_changes == version
        assert again.content == first.content
        assert not [sql for sql in statements if "json_array" in sql]
        number = first.json()["tickets"][0]["number"]
        assert groove.put(f"tickets/{number}/priority", json={"priority": "urgent"}).status_code < 300
        statements.clear()
        changed = groove.get("tickets", params={"per_page": "5"})
        assert [sql for sql in statements if "json_array" in sql]
        assert changed.json()["tickets"][0]["priority"] == "urgent"
    finally:
        store.conn.set_trace_callback(None)
