"""The Groove helpdesk connector's client side against the sandbox: client, paginator and streams."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from engagesync.apis.groove_helpdesk.connector import (
    GrooveHelpdesk,
    PaginationLoop,
    check,
    follow_next_page,
    make_client,
    streams,
)
from engagesync.client.errors import AuthError, NotFoundError
from engagesync.client.http import ApiClient
from engagesync.client.streams import Page, Stream, is_column_type
from engagesync.sandbox.app import Sandbox


class Recorder(httpx.BaseTransport):
    """The sandbox's in-process transport, remembering each request URL; closing it leaves the sandbox up."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.urls: list[httpx.URL] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.urls.append(request.url)
        return self.inner.handle_request(request)

    def close(self) -> None:
        pass


@pytest.fixture
def recorder(sandbox: Sandbox) -> Recorder:
    return Recorder(sandbox.transport())


@pytest.fixture
def client(sandbox: Sandbox, recorder: Recorder) -> Iterator[ApiClient]:
    cred = sandbox.credentials()["groove-helpdesk"]
    with make_client(cred["base_url"], cred["token"], transport=recorder) as c:
        yield c


def tenant(sandbox: Sandbox) -> int:
    return int(sandbox.credentials()["tenant"]["id"])


def count(sandbox: Sandbox, sql: str) -> int:
    return int(sandbox.ctx.store.scalar(sql, (tenant(sandbox),)))


#: The sandbox's own tables: how many records each stream must pull.
TRUTH = {
    "mailboxes": "SELECT COUNT(*) FROM gh_mailboxes WHERE tenant_id = ?",
    "folders": "SELECT COUNT(*) FROM gh_folders WHERE tenant_id = ?",
    "agents": "SELECT COUNT(*) FROM gh_agents WHERE tenant_id = ?",
    "groups": "SELECT COUNT(*) FROM gh_groups WHERE tenant_id = ?",
    "customers": "SELECT COUNT(*) FROM gh_customers WHERE tenant_id = ?",
    "tickets": "SELECT COUNT(*) FROM gh_tickets WHERE tenant_id = ? AND deleted = 0",
    "messages": "SELECT COUNT(*) FROM gh_messages m JOIN gh_tickets t ON t.tenant_id = m.tenant_id"
    " AND t.number = m.ticket_number AND t.deleted = 0 WHERE m.tenant_id = ?",
    "webhooks": "SELECT COUNT(*) FROM gh_webhooks WHERE tenant_id = ?",
    "widgets": "SELECT COUNT(*) FROM gh_widgets WHERE tenant_id = ?",
    "knowledge_bases": "SELECT COUNT(*) FROM gh_knowledge_bases WHERE tenant_id = ?",
    "kb_categories": "SELECT COUNT(*) FROM gh_kb_categories WHERE tenant_id = ?",
    "kb_articles": "SELECT COUNT(*) FROM gh_kb_articles WHERE tenant_id = ? AND deleted_at IS NULL",
}


def pull(stream: Stream, client: ApiClient, state: dict[str, Any] | None = None) -> list[Page]:
    pages = list(stream.pages(client, state))
    assert pages, f"{stream.spec.name}: no page at all"
    assert pages[-1].state is None, f"{stream.spec.name}: the last page must end the stream"
    assert all(p.state is not None for p in pages[:-1]), f"{stream.spec.name}: only the last page ends it"
    return pages


def keys(stream: Stream, pages: list[Page]) -> list[tuple[Any, ...]]:
    return [tuple(r[k] for k in stream.spec.primary_key) for p in pages for r in p.records]


# -- client ----------------------------------------------------------------------------------------
def test_make_client_uses_a_60_second_budget_and_bearer_auth(sandbox: Sandbox) -> None:
    cred = sandbox.credentials()["groove-helpdesk"]
    c = make_client(cred["base_url"], cred["token"], transport=Recorder(sandbox.transport()))
    assert c.budget.window_seconds == 60.0
    assert cred["token"] not in repr(c.auth)
    short = make_client(cred["base_url"], cred["token"], window_seconds=2, transport=Recorder(sandbox.transport()))
    assert short.budget.window_seconds == 2


def test_check_passes_and_a_bad_token_is_an_auth_error(sandbox: Sandbox, client: ApiClient) -> None:
    result = check(client)
    assert result["ok"] is True and result["mailboxes"] >= 1 and result["primary_mailbox"]
    cred = sandbox.credentials()["groove-helpdesk"]
    with (
        make_client(cred["base_url"], "wrong-token", transport=Recorder(sandbox.transport())) as bad,
        pytest.raises(AuthError) as err,
    ):
        check(bad)
    assert err.value.status == 401 and "authenticated" in err.value.reason


def test_client_methods_cover_the_surface(client: ApiClient, sandbox: Sandbox) -> None:
    api = GrooveHelpdesk(client)
    ticket = api.list_tickets(per_page=2, state="opened")["tickets"][0]
    number = ticket["number"]
    assert api.get_ticket(number)["ticket"]["number"] == number
    assert api.get_ticket_state(number) == "opened"
    api.set_ticket_state(number, "pending")
    assert api.get_ticket_state(number) == "pending"
    agents = api.list_agents()["agents"]
    active = next(a for a in agents if a["state"] == "active")
    api.set_ticket_assignee(number, active["email"])
    assignee = api.get_ticket_assignee(number)
    assert assignee is not None and assignee["email"] == active["email"]
    assert api.get_agent(active["id"])["agent"]["email"] == active["email"]
    api.set_ticket_priority(number, "high")
    group = api.list_groups()["groups"][0]
    api.set_ticket_assigned_group(number, group["name"])
    added = api.add_tags(number, ["connector"])
    assert added is not None and "connector" in added["ticket"]["tags"]
    api.replace_tags(number, ["only"])
    mailboxes = api.list_mailboxes()["mailboxes"]
    api.change_mailbox(number, mailboxes[-1]["id"])
    after = api.get_ticket(number)["ticket"]
    assert (after["priority"], after["assigned_group"], after["tags"], after["mailbox_id"]) == (
        "high",
        group["name"],
        ["only"],
        mailboxes[-1]["id"],
    )
    folders = api.list_folders()["folders"]
    counts = api.ticket_count()  # {folder_id: count}, one per folder
    assert folders and set(counts) == {f["id"] for f in folders}
    assert all(isinstance(n, int) and n >= 0 for n in counts.values())
    assert api.get_mailbox(mailboxes[0]["id"])["mailbox"]["id"] == mailboxes[0]["id"]
    created = api.create_ticket(body="hello", **{"from": "new@cust.example"}, mailbox=mailboxes[0]["email"])
    assert created is not None
    message = api.create_message(created["ticket"]["number"], body="reply", note=True)
    assert message is not None
    assert api.get_message(message["message"]["id"])["message"]["note"] is True
    assert len(list(api.iter_messages(created["ticket"]["number"]))) == 2
    first = api.list_messages(number)["messages"][0]
    attachments = api.list_attachments(first["id"])["attachments"]
    assert all(a["url"].startswith("https://") for a in attachments)
    assert len(attachments) == len(
        sandbox.ctx.store.all("SELECT id FROM gh_attachments WHERE message_id = ?", (first["id"],))
    )
    customer = api.get_customer("new@cust.example")["customer"]
    updated = api.update_customer(customer["id"], email="new@cust.example", name="New Customer")
    assert updated is not None and updated["customer"]["name"] == "New Customer"
    assert len(list(api.iter_customers())) == len(list(api.iterate("customers", "customers", per_page=7)))
    hook = api.create_webhook("ticket_started", "https://hooks.example/in")
    assert hook is not None
    assert api.get_webhook(hook["webhook"]["id"])["webhook"]["event"] == "ticket_started"
    api.delete_webhook(hook["webhook"]["id"])
    with pytest.raises(NotFoundError):
        api.get_webhook(hook["webhook"]["id"])
    made = api.create_group(name="Connector team")
    assert made is not None
    gid = made["group"]["id"]
    assert api.update_group(gid, description="d") is not None
    assert api.get_group(gid)["group"]["description"] == "d"
    api.delete_group(gid)
    widget = api.list_widgets()["widgets"][0]
    assert api.get_widget(widget["id"])["widget"]["id"] == widget["id"]
    api.update_widget(widget["id"], name="Renamed")
    settings = api.update_widget_settings(widget["id"], {"icon_position": "left"})
    assert settings is not None and api.get_widget_settings(widget["id"])["settings"]["icon_position"] == "left"
    kb = api.list_knowledge_bases()["knowledge_bases"][0]
    assert api.get_knowledge_base(kb["id"])["knowledge_base"]["id"] == kb["id"]
    assert api.update_knowledge_base(kb["id"], language="de") is not None
    assert api.update_knowledge_base_settings(kb["id"], {"ratings_type": "upvote"}) is not None
    assert api.get_knowledge_base_settings(kb["id"])["settings"]["ratings_type"] == "upvote"
    assert api.list_themes()["themes"]
    new_kb = api.create_knowledge_base(title="Connector KB")
    assert new_kb is not None
    category = api.create_category(kb["id"], title="Connector category")
    assert category is not None
    cid = category["category"]["id"]
    assert api.get_category(kb["id"], cid)["category"]["title"] == "Connector category"
    assert api.update_category(kb["id"], cid, description="x") is not None
    assert api.search_categories(kb["id"], "Connector")["categories"][0]["id"] == cid
    assert api.list_categories(kb["id"])["categories"]
    article = api.create_article(kb["id"], title="Connector article", body="<p>Body</p>", category_id=cid)
    assert article is not None
    aid = article["article"]["id"]
    assert api.update_article(kb["id"], aid, state="published") is not None
    assert api.get_article(kb["id"], aid)["article"]["state"] == "published"
    assert [a["id"] for a in api.search_articles(kb["id"], "Connector article")["articles"]] == [aid]
    assert api.list_articles(kb["id"], state="published")["articles"]
    api.delete_article(kb["id"], aid)
    api.delete_category(kb["id"], cid)


# -- paginator -------------------------------------------------------------------------------------
def test_paginator_re_adds_per_page_on_every_followed_page(client: ApiClient, recorder: Recorder) -> None:
    pages = list(follow_next_page(client, "tickets", {"per_page": 7}, "tickets"))
    assert len(pages) == 9  # 60 seeded tickets, 7 a page
    assert pages[-1][1] is None
    listed = [u for u in recorder.urls if u.path.endswith("/tickets")]
    assert len(listed) == 9
    assert all(u.params.get("per_page") == "7" for u in listed)
    assert [u.params.get("page") for u in listed[1:]] == [str(n) for n in range(2, 10)]
    # the server really drops per_page from next_page: the paginator is what keeps the page size
    assert pages[0][1] is not None and "per_page" not in pages[0][1]
    assert all(len(items) == 7 for items, _ in pages[:-1])


def test_paginator_defaults_to_50_and_keeps_filters(client: ApiClient, recorder: Recorder, sandbox: Sandbox) -> None:
    items = [t for page, _ in follow_next_page(client, "tickets", {"state": "closed"}, "tickets") for t in page]
    closed = count(sandbox, "SELECT COUNT(*) FROM gh_tickets WHERE tenant_id = ? AND state = 'closed'")
    assert len(items) == closed and all(t["state"] == "closed" for t in items)
    assert all(u.params.get("per_page") == "50" for u in recorder.urls)


def _fake(handler: Any) -> ApiClient:
    """A client on a synthetic server: for the paginator's guards, which no real API should trigger."""
    return ApiClient("https://api.example/v1", transport=httpx.MockTransport(handler))


def test_paginator_refuses_a_next_page_that_repeats() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            json={"things": [{"id": 1}], "meta": {"pagination": {"next_page": "https://api.example/v1/things?page=2"}}},
        )

    with pytest.raises(PaginationLoop, match="repeats"):
        list(follow_next_page(_fake(handler), "things", {}, "things"))


def test_paginator_never_follows_a_next_page_to_another_host() -> None:
    seen: list[httpx.URL] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url)
        page = int(request.url.params.get("page", "1"))
        nxt = f"http://api.groovehq.dev/v1/things?page={page + 1}&q=x" if page < 3 else None
        return httpx.Response(200, json={"things": [{"id": page}], "meta": {"pagination": {"next_page": nxt}}})

    pages = list(follow_next_page(_fake(handler), "things", {"q": "x"}, "things"))
    assert [p[0][0]["id"] for p in pages] == [1, 2, 3]
    assert {u.host for u in seen} == {"api.example"}
    assert [dict(u.params) for u in seen][1] == {"page": "2", "q": "x", "per_page": "50"}


# -- streams ---------------------------------------------------------------------------------------
def test_streams_declare_schemas_and_pull_order() -> None:
    all_streams = streams()
    assert list(all_streams) == [
        "mailboxes",
        "folders",
        "agents",
        "groups",
        "customers",
        "tickets",
        "messages",
        "webhooks",
        "widgets",
        "knowledge_bases",
        "kb_categories",
        "kb_articles",
    ]
    for name, stream in all_streams.items():
        assert stream.spec.name == name
        assert all(is_column_type(t) for t in stream.spec.columns.values())
        assert all(k in stream.spec.columns for k in stream.spec.primary_key)
        if stream.spec.parent:
            assert list(all_streams).index(stream.spec.parent) < list(all_streams).index(name)
    assert all_streams["tickets"].spec.primary_key == ("number",)


def test_every_stream_pulls_every_record(sandbox: Sandbox, client: ApiClient) -> None:
    api = GrooveHelpdesk(client)
    api.create_webhook("ticket_closed", "https://hooks.example/a")
    api.create_webhook("agent_replied", "https://hooks.example/b")
    for name, stream in streams().items():
        pages = pull(stream, client)
        got = keys(stream, pages)
        assert len(got) == len(set(got)), f"{name}: duplicates"
        assert len(got) == count(sandbox, TRUTH[name]) > 0, name
        for record in (r for p in pages for r in p.records):
            assert all(col in record for col in stream.spec.columns), name


def test_messages_carry_their_ticket_number(client: ApiClient) -> None:
    pages = pull(streams()["messages"], client)
    by_ticket: dict[int, int] = {}
    for record in (r for p in pages for r in p.records):
        assert record["links"]["ticket"]["href"].endswith(f"/tickets/{record['ticket_number']}")
        by_ticket[record["ticket_number"]] = by_ticket.get(record["ticket_number"], 0) + 1
    assert set(by_ticket.values()) == {3}


@pytest.mark.parametrize("name", ["customers", "tickets", "messages", "kb_categories", "kb_articles"])
def test_resuming_from_any_page_yields_exactly_the_rest(sandbox: Sandbox, client: ApiClient, name: str) -> None:
    sandbox.reset(
        seed=3,
        counts={
            "groove-helpdesk.tickets": 11,
            "groove-helpdesk.messages_per_ticket": 7,
            "groove-helpdesk.customers": 23,
            "groove-helpdesk.knowledge_bases": 2,
            "groove-helpdesk.categories": 5,
            "groove-helpdesk.articles": 9,
        },
    )
    cred = sandbox.credentials()["groove-helpdesk"]
    with make_client(cred["base_url"], cred["token"], transport=Recorder(sandbox.transport())) as fresh:
        stream = streams(per_page=3)[name]
        pages = pull(stream, fresh)
        everything = keys(stream, pages)
        assert len(everything) == count(sandbox, TRUTH[name])
        assert len(pages) > 1
        for k, page in enumerate(pages[:-1]):
            rest = keys(stream, pull(stream, fresh, page.state))
            assert rest == keys(stream, pages[k + 1 :]), f"{name}: resume after page {k} ({page.state})"


def test_a_resumed_tickets_pull_survives_deleted_tickets(sandbox: Sandbox, client: ApiClient) -> None:
    stream = streams(per_page=10)["tickets"]
    pages = pull(stream, client)
    state = pages[2].state  # 30 tickets read
    assert state == {"page": 4, "after_number": 30}
    with sandbox.client() as admin:
        for number in (3, 5, 7, 9, 11):  # the list shifts forward by half a page
            assert admin.delete(
                f"http://sandbox/_sandbox/groove-helpdesk/tickets/{number}", params={"tenant": tenant(sandbox)}
            ).status_code in (204, 200)
    rest = [r["number"] for p in pull(stream, client, state) for r in p.records]
    assert rest == list(range(31, 61))


def test_a_resumed_messages_pull_continues_inside_a_ticket(sandbox: Sandbox, client: ApiClient) -> None:
    sandbox.reset(seed=1, counts={"groove-helpdesk.tickets": 4, "groove-helpdesk.messages_per_ticket": 5})
    cred = sandbox.credentials()["groove-helpdesk"]
    with make_client(cred["base_url"], cred["token"], transport=Recorder(sandbox.transport())) as fresh:
        stream = streams(per_page=2)["messages"]
        pages = pull(stream, fresh)
        assert pages[0].state == {"tickets_page": 1, "number": 1, "page": 2}
        assert pages[2].state == {"tickets_page": 1, "number": 2, "page": 1}
        assert pages[-2].state == {"tickets_page": 2, "number": 4, "page": 3}
        rest = pull(stream, fresh, {"tickets_page": 2, "number": 4, "page": 3})
        assert [r["ticket_number"] for p in rest for r in p.records] == [4]


def test_pull_over_loopback(sandbox: Sandbox) -> None:
    url = sandbox.serve()
    cred = sandbox.credentials(base_url=url)["groove-helpdesk"]
    assert cred["base_url"].startswith("http://127.0.0.1")
    with make_client(cred["base_url"], cred["token"]) as live:
        assert check(live)["ok"]
        stream = streams(per_page=25)["tickets"]
        pages = pull(stream, live)
        assert len(pages) == 3
        assert len(keys(stream, pages)) == count(sandbox, TRUTH["tickets"])
        assert live.stats["requests"] == 4
