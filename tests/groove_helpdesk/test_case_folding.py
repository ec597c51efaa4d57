"""One case fold everywhere (tags, group names, emails) and invalid text refused with a 422 (issue 9, item 15)."""

from __future__ import annotations

from typing import Any

import httpx

TICKET = {"body": "Help please", "from": "someone@customer.example", "to": "support@acme-support.example"}


def _ticket(groove: httpx.Client, **extra: Any) -> dict[str, Any]:
    response = groove.post("tickets", json={**TICKET, **extra})
    assert response.status_code == 201, response.text
    ticket: dict[str, Any] = response.json()["ticket"]
    return ticket


def test_accented_capital_tag_is_one_tag_on_every_path(groove: httpx.Client) -> None:
    first = _ticket(groove, tags=["Élan"])
    tag_id = first["tag_ids"][0]
    # Created again (another spelling), added, replaced: the account's spelling and id every time.
    second = _ticket(groove, tags=["élan"])
    assert (second["tags"], second["tag_ids"]) == (["Élan"], [tag_id])
    added = groove.post(f"tickets/{first['number']}/tags", json={"tags": ["ÉLAN", "Other"]})
    assert added.status_code == 201, added.text
    assert added.json()["ticket"]["tags"] == ["Élan", "Other"]  # already there: not added twice
    replaced = groove.put(f"tickets/{second['number']}/tags", json={"tags": ["élan", "ÉLAN"]})
    assert replaced.status_code == 204, replaced.text
    shown = groove.get(f"tickets/{second['number']}").json()["ticket"]
    assert (shown["tags"], shown["tag_ids"]) == (["Élan"], [tag_id])
    listed = groove.get("tickets", params={"customer": "someone@customer.example", "per_page": 50})
    assert listed.status_code == 200, listed.text
    mine = {t["number"]: t for t in listed.json()["tickets"]}
    assert mine[first["number"]]["tags"] == ["Élan", "Other"] and mine[second["number"]]["tag_ids"] == [tag_id]


def test_group_names_fold_the_same_in_sql_and_python(groove: httpx.Client) -> None:
    created = groove.post("groups", json={"name": "Équipe Öst"})
    assert created.status_code == 201, created.text
    group = created.json()["group"]
    duplicate = groove.post("groups", json={"name": "ÉQUIPE ÖST"})
    assert duplicate.status_code == 422 and duplicate.json()["errors"][0].startswith("name ")
    # Filtering a ticket's group by name finds it in any case.
    ticket = _ticket(groove, assigned_group="équipe öst")
    assert ticket["assigned_group_id"] == group["id"]


def test_kb_article_tags_fold_like_ticket_tags(groove: httpx.Client) -> None:
    kb = groove.post("kb", json={"title": "Fold KB"}).json()["knowledge_base"]
    response = groove.post(f"kb/{kb['id']}/articles", json={"title": "A", "tags": ["Élan", "élan", "ÉLAN"]})
    assert response.status_code == 201, response.text
    assert response.json()["article"]["tags"] == ["Élan"]


def _raw(groove: httpx.Client, method: str, path: str, json_text: str) -> httpx.Response:
    """A JSON body as written (httpx's json= cannot carry a lone surrogate escape)."""
    return groove.request(method, path, content=json_text.encode(), headers={"content-type": "application/json"})


def test_lone_surrogate_is_a_422_naming_the_field(groove: httpx.Client) -> None:
    number = _ticket(groove)["number"]
    cases = [
        ("POST", f"tickets/{number}/tags", '{"tags": ["ok", "\\ud800"]}', "tags[]"),
        ("POST", "tickets", '{"body": "x\\udfff", "from": "a@b.example", "to": "c@d.example"}', "body"),
        ("POST", "groups", '{"name": "x", "\\ud834bad": 1}', "?bad"),
        ("PUT", f"tickets/{number}/state", '{"state": {"deep": ["\\ud800"]}}', "state[deep][]"),
    ]
    for method, path, text, field in cases:
        response = _raw(groove, method, path, text)
        assert response.status_code == 422, (path, response.text)
        assert response.json() == {
            "errors": [f"{field} is not valid text (it holds a lone UTF-16 surrogate); send valid Unicode"]
        }
    # A correctly paired surrogate escape is ordinary text.
    ok = _raw(groove, "POST", f"tickets/{number}/tags", '{"tags": ["\\ud83d\\ude00"]}')
    assert ok.status_code == 201 and ok.json()["ticket"]["tags"] == ["\U0001f600"]
