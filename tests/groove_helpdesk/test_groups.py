"""Groups: documented shapes, membership by email or id, validation, deletion, tenants, and seeding."""

from __future__ import annotations

from typing import Any

import httpx

from engagesync.sandbox.app import Sandbox
from engagesync.testing import make_sandbox

GROOVE = "/groove-helpdesk/v1"


def _agents(sandbox: Sandbox, tenant: int = 1) -> list[dict[str, Any]]:
    rows = sandbox.ctx.store.all("SELECT id, email FROM gh_agents WHERE tenant_id = ? ORDER BY rowid", (tenant,))
    assert len(rows) >= 3
    return [dict(r) for r in rows]


def _create(groove: httpx.Client, **body: Any) -> dict[str, Any]:
    response = groove.post("groups", json=body)
    assert response.status_code == 201, response.text
    group: dict[str, Any] = response.json()["group"]
    return group


def test_list_shows_documented_fields_and_links(groove: httpx.Client) -> None:
    groups = groove.get("groups").json()["groups"]
    assert len(groups) == 3  # default seed
    first = groups[0]
    assert set(first) == {"id", "name", "description", "href", "links", "agent_ids"}
    assert len(first["id"]) == 10 and first["id"].isdigit()
    assert first["href"] == f"http://sandbox{GROOVE}/groups/{first['id']}"
    assert first["links"] == {"agents": {"href": f"http://sandbox{GROOVE}/agents?group={first['id']}"}}


def test_get_answers_with_location_header_and_documented_shape(groove: httpx.Client) -> None:
    group_id = groove.get("groups").json()["groups"][0]["id"]
    response = groove.get(f"groups/{group_id}")
    assert response.status_code == 200
    assert response.headers["location"] == f"http://sandbox{GROOVE}/groups/{group_id}"
    assert list(response.json()["group"]) == ["id", "name", "description", "links", "agent_ids"]


def test_agents_may_be_given_by_email_in_any_case_and_duplicates_collapse(
    groove: httpx.Client, sandbox: Sandbox
) -> None:
    a, b, _ = _agents(sandbox)[:3]
    group = _create(groove, name="Nights", agents=[a["email"].upper(), b["id"], a["id"]])
    assert group["agent_ids"] == [a["id"], b["id"]]


def test_group_agents_link_lists_the_members(groove: httpx.Client, sandbox: Sandbox) -> None:
    a, b, _ = _agents(sandbox)[:3]
    group = _create(groove, name="Weekend", agents=[a["email"], b["email"]])
    listed = groove.get(group["links"]["agents"]["href"]).json()["agents"]
    assert sorted(x["email"] for x in listed) == sorted([a["email"], b["email"]])


def test_form_encoded_create_works_like_rails(groove: httpx.Client, sandbox: Sandbox) -> None:
    a = _agents(sandbox)[0]
    response = groove.post(
        "groups",
        content=f"name=Form+Team&agents[]={a['email']}",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 201, response.text
    assert response.json()["group"]["agent_ids"] == [a["id"]]


def test_name_is_required_and_unique_per_tenant_ignoring_case(groove: httpx.Client) -> None:
    missing = groove.post("groups", json={"description": "no name"})
    assert missing.status_code == 422
    assert missing.json() == {"errors": ["name can't be blank"]}
    blank = groove.post("groups", json={"name": "   "})
    assert blank.json() == {"errors": ["name can't be blank"]}
    taken = groove.post("groups", json={"name": "SUPPORT"})  # seeded "Support"
    assert taken.status_code == 422
    assert taken.json() == {"errors": ["name has already been taken"]}
    wrong_type = groove.post("groups", json={"name": 42})
    assert wrong_type.json() == {"errors": ["name must be a string"]}


def test_unknown_agents_are_named_and_nothing_is_created(groove: httpx.Client, sandbox: Sandbox) -> None:
    a = _agents(sandbox)[0]
    before = len(groove.get("groups").json()["groups"])
    response = groove.post("groups", json={"name": "Ghosts", "agent_ids": [a["id"], "ghost@nowhere.example", "9"]})
    assert response.status_code == 422
    assert response.json() == {"errors": ["agent_ids contain unknown agent(s): ghost@nowhere.example, 9"]}
    assert len(groove.get("groups").json()["groups"]) == before


def test_membership_must_be_a_list_and_not_sent_twice(groove: httpx.Client, sandbox: Sandbox) -> None:
    a = _agents(sandbox)[0]
    bad = groove.post("groups", json={"name": "Bad", "agents": {"0": a["id"]}})
    assert bad.json() == {"errors": ["agents must be an array of agent emails or ids"]}
    both = groove.post("groups", json={"name": "Both", "agents": [a["id"]], "agent_ids": [a["id"]]})
    assert both.json() == {"errors": ["agent_ids can't be given together with agents"]}


def test_every_problem_is_reported_at_once(groove: httpx.Client) -> None:
    response = groove.post("groups", json={"description": 7, "agents": ["nobody@example.com"]})
    assert response.status_code == 422
    assert response.json()["errors"] == [
        "name can't be blank",
        "description must be a string",
        "agents contain unknown agent(s): nobody@example.com",
    ]


def test_update_replaces_membership_only_when_asked(groove: httpx.Client, sandbox: Sandbox) -> None:
    a, b, c = _agents(sandbox)[:3]
    group = _create(groove, name="Rotation", agents=[a["id"], b["id"]])
    kept = groove.put(f"groups/{group['id']}", json={"description": "On call"}).json()["group"]
    assert kept["agent_ids"] == [a["id"], b["id"]] and kept["description"] == "On call"
    replaced = groove.put(f"groups/{group['id']}", json={"agents": [c["email"]]}).json()["group"]
    assert replaced["agent_ids"] == [c["id"]]
    emptied = groove.put(f"groups/{group['id']}", json={"agent_ids": []}).json()["group"]
    assert emptied["agent_ids"] == []
    assert groove.get(f"groups/{group['id']}").json()["group"]["name"] == "Rotation"


def test_update_rename_rules(groove: httpx.Client) -> None:
    groups = groove.get("groups").json()["groups"]
    first, second = groups[0], groups[1]
    clash = groove.put(f"groups/{first['id']}", json={"name": second["name"].lower()})
    assert clash.status_code == 422 and clash.json() == {"errors": ["name has already been taken"]}
    own = groove.put(f"groups/{first['id']}", json={"name": first["name"].upper()})
    assert own.status_code == 200 and own.json()["group"]["name"] == first["name"].upper()


def test_unknown_group_is_404_for_every_verb(groove: httpx.Client) -> None:
    for method in ("GET", "PUT", "DELETE"):
        body = {"name": "x"} if method == "PUT" else None
        response = groove.request(method, "groups/9999999999", json=body)
        assert response.status_code == 404, method
        assert response.json() == {"errors": ["Group not found"]}


def test_delete_returns_the_group_and_unassigns_its_tickets(groove: httpx.Client, sandbox: Sandbox) -> None:
    a = _agents(sandbox)[0]
    group = _create(groove, name="Short lived", agents=[a["id"]])
    store = sandbox.ctx.store
    number = store.scalar("SELECT number FROM gh_tickets WHERE tenant_id = 1 ORDER BY number LIMIT 1")
    if number is not None:
        store.execute(
            "UPDATE gh_tickets SET assigned_group_id = ? WHERE tenant_id = 1 AND number = ?", (group["id"], number)
        )
    response = groove.delete(f"groups/{group['id']}")
    assert response.status_code == 200
    assert response.json() == {"group": group}
    assert groove.get(f"groups/{group['id']}").status_code == 404
    assert group["id"] not in [g["id"] for g in groove.get("groups").json()["groups"]]
    assert (
        store.scalar("SELECT COUNT(*) FROM gh_group_agents WHERE tenant_id = 1 AND group_id = ?", (group["id"],)) == 0
    )
    assert (
        store.scalar("SELECT COUNT(*) FROM gh_tickets WHERE tenant_id = 1 AND assigned_group_id = ?", (group["id"],))
        == 0
    )


def test_a_token_is_required(sandbox: Sandbox) -> None:
    with sandbox.client() as client:
        response = client.get(f"{GROOVE}/groups")
    assert response.status_code == 401


def test_tenants_never_see_each_others_groups(groove: httpx.Client, admin: httpx.Client, sandbox: Sandbox) -> None:
    created = admin.post("tenants", json={"name": "other", "seed": 1, "counts": {"groove-helpdesk.groups": 10}})
    assert created.status_code == 201, created.text
    other = created.json()
    as_other = {"Authorization": f"Bearer {other['groove-helpdesk']['token']}"}
    theirs = groove.get("groups", headers=as_other).json()["groups"]
    assert len(theirs) == 10
    assert groove.post("groups", json={"name": "Only Theirs"}, headers=as_other).status_code == 201
    mine = groove.get("groups").json()["groups"]
    assert len(mine) == 3
    assert "Only Theirs" not in [g["name"] for g in mine]
    # Their 10th group's id does not exist here (ids are per tenant), so it is not found, not theirs.
    assert groove.get(f"groups/{theirs[-1]['id']}").status_code == 404
    assert groove.put(f"groups/{theirs[-1]['id']}", json={"name": "hijack"}).status_code == 404
    assert groove.post("groups", json={"name": "Only Theirs"}).status_code == 201  # unique per tenant only
    their_agent = _agents(sandbox, other["tenant"]["id"])[0]
    assert their_agent["email"] not in [a["email"] for a in _agents(sandbox)]
    stolen = groove.post("groups", json={"name": "Stolen", "agents": [their_agent["email"]]})
    assert stolen.status_code == 422
    assert stolen.json() == {"errors": [f"agents contain unknown agent(s): {their_agent['email']}"]}


def _snapshot(sandbox: Sandbox) -> dict[str, Any]:
    token = sandbox.credentials()["groove-helpdesk"]["token"]
    with sandbox.client() as client:
        client.base_url = httpx.URL(f"http://sandbox{GROOVE}/")
        client.headers["Authorization"] = f"Bearer {token}"
        kbs = client.get("kb").json()["knowledge_bases"]
        return {
            "groups": client.get("groups").json(),
            "widgets": client.get("widgets").json(),
            "settings": [
                client.get(f"widgets/{w['id']}/settings").json() for w in client.get("widgets").json()["widgets"]
            ],
            "kbs": kbs,
            "kb_settings": [client.get(f"kb/{k['id']}/settings").json() for k in kbs],
            "categories": [client.get(f"kb/{k['id']}/categories").json() for k in kbs],
            "articles": [client.get(f"kb/{k['id']}/articles", params={"per_page": 50}).json() for k in kbs],
        }


def test_seeding_is_deterministic_per_seed() -> None:
    counts = {
        "groove-helpdesk.groups": 6,
        "groove-helpdesk.widgets": 3,
        "groove-helpdesk.knowledge_bases": 2,
        "groove-helpdesk.categories": 5,
        "groove-helpdesk.articles": 12,
    }
    with (
        make_sandbox(seed=7, counts=counts) as one,
        make_sandbox(seed=7, counts=counts) as two,
        make_sandbox(seed=8, counts=counts) as three,
    ):
        first = _snapshot(one)
        assert first == _snapshot(two)
        assert first != _snapshot(three)
    assert len(first["groups"]["groups"]) == 6
    assert len(first["widgets"]["widgets"]) == 3
    assert len(first["kbs"]) == 2
    assert sum(len(c["categories"]) for c in first["categories"]) == 5
    assert sum(a["meta"]["pagination"]["total_count"] for a in first["articles"]) == 12


def test_zero_counts_seed_nothing(sandbox: Sandbox, groove: httpx.Client) -> None:
    sandbox.reset(
        seed=1, counts={"groove-helpdesk.groups": 0, "groove-helpdesk.widgets": 0, "groove-helpdesk.knowledge_bases": 0}
    )
    token = sandbox.credentials()["groove-helpdesk"]["token"]
    groove.headers["Authorization"] = f"Bearer {token}"
    assert groove.get("groups").json() == {"groups": []}
    assert groove.get("widgets").json() == {"widgets": []}
    assert groove.get("kb").json() == {"knowledge_bases": []}
