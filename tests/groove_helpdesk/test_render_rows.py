"""The ticket page's batched rendering (rows turned into dicts once, tags parsed once, one tag query)
renders exactly what rendering each ``sqlite3.Row`` on its own does, whatever tags a ticket carries."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engagesync.apis.groove_helpdesk.emulator import ticket_store
from engagesync.sandbox import Sandbox

API_ID = "groove-helpdesk"
BASE = "http://sandbox.test/groove-helpdesk/v1"

tag_lists = st.one_of(
    st.just("[]"),
    st.lists(st.sampled_from(["vip", "billing", "Refund", "no such tag", "ünïcode"]), max_size=4).map(json.dumps),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tags=st.lists(tag_lists, min_size=5, max_size=5))
def test_render_rows_matches_rendering_each_row(sandbox: Sandbox, tags: list[str]) -> None:
    api = sandbox.ctx.apis[API_ID]
    tenant_id = sandbox.ctx.tenant(None).id
    store = sandbox.ctx.store
    ticket_store.ensure_tags(api, tenant_id, ["vip", "billing", "Refund", "ünïcode"])
    numbers = [
        r["number"] for r in store.all("SELECT number FROM gh_tickets WHERE tenant_id = ? LIMIT 5", (tenant_id,))
    ]
    for number, raw in zip(numbers, tags, strict=True):
        store.execute("UPDATE gh_tickets SET tags = ? WHERE tenant_id = ? AND number = ?", (raw, tenant_id, number))
    marks = ", ".join("?" * len(numbers))
    rows = store.all(
        f"{ticket_store.TICKET_SELECT} WHERE t.tenant_id = ? AND t.number IN ({marks}) ORDER BY t.number",
        (tenant_id, *numbers),
    )
    one_by_one = [ticket_store.render_ticket(BASE, row, ticket_store.tag_map(api, tenant_id, rows)) for row in rows]
    assert ticket_store.render_rows(api, tenant_id, BASE, rows) == one_by_one
    assert ticket_store.render_rows(api, tenant_id, BASE, []) == []
