"""Knowledge bases, their settings and themes, categories and articles."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from engagesync.sandbox.app import Sandbox

GROOVE = "/groove-helpdesk/v1"


@pytest.fixture
def kb(groove: httpx.Client) -> dict[str, Any]:
    """A fresh, empty knowledge base (the seeded one keeps its own articles out of the way)."""
    response = groove.post("kb", json={"title": "Test KB"})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()["knowledge_base"]
    return created


def _post(groove: httpx.Client, path: str, body: dict[str, Any], key: str) -> dict[str, Any]:
    response = groove.post(path, json=body)
    assert response.status_code == 201, response.text
    item: dict[str, Any] = response.json()[key]
    return item


def _owner(sandbox: Sandbox) -> str:
    return str(
        sandbox.ctx.store.scalar(
            "SELECT id FROM gh_agents WHERE tenant_id = 1 AND state != 'archived' "
            "ORDER BY CASE role WHEN 'owner' THEN 0 WHEN 'admin' THEN 1 ELSE 2 END, id LIMIT 1"
        )
    )


# -- knowledge bases -------------------------------------------------------------------------------
def test_themes_route_is_not_mistaken_for_a_kb_id(groove: httpx.Client) -> None:
    themes = groove.get("kb/themes").json()["themes"]
    assert [t["name"] for t in themes] == ["Classic", "Minimal", "Modern", "Docs"]
    assert set(themes[0]) == {"id", "name", "description", "screenshot_url", "created_at", "updated_at"}


def test_create_defaults_and_links(groove: httpx.Client) -> None:
    first = groove.get("kb").json()["knowledge_bases"][0]
    assert first["primary"] is True
    created = _post(groove, "kb", {"title": first["title"]}, "knowledge_base")
    assert created["language"] == "en" and created["primary"] is False
    assert created["subdomain"] == f"{first['subdomain']}-2"  # derived subdomains never clash
    assert created["site_url"] == created["subdomain_url"] == f"https://{created['subdomain']}.groove.help"
    base = f"http://sandbox{GROOVE}/kb/{created['id']}"
    assert created["href"] == base
    rels = ("categories", "articles", "settings")
    assert created["links"] == {rel: {"href": f"{base}/{rel}"} for rel in rels}
    settings = groove.get(f"kb/{created['id']}/settings").json()["settings"]
    assert settings["enabled"] is True and settings["meta_robots"] == "INDEX,FOLLOW"


def test_create_validation_names_every_field(groove: httpx.Client) -> None:
    taken = groove.get("kb").json()["knowledge_bases"][0]["subdomain"]
    response = groove.post(
        "kb",
        json={
            "language": "english!",
            "subdomain": "-bad-",
            "custom_domain": "nope",
            "ratings_type": "stars",
            "settings": {"colour": "red"},
        },
    )
    assert response.status_code == 422
    assert response.json()["errors"] == [
        "title can't be blank",
        "subdomain must be 3-63 lowercase letters, digits or hyphens, not starting or ending with a hyphen",
        "custom_domain must be a host name like help.example.com",
        "language must be an RFC 5646 language code like en or pt-BR",
        "ratings_type must be one of emoji, upvote",
        "colour is not a knowledge base setting",
    ]
    clash = groove.post("kb", json={"name": "Another", "subdomain": taken.upper()})
    assert clash.json() == {"errors": ["subdomain has already been taken"]}


def test_unknown_top_level_fields_are_ignored_on_kb_create(groove: httpx.Client) -> None:
    created = _post(groove, "kb", {"name": "Lenient", "nexla_row_id": 17}, "knowledge_base")
    assert created["title"] == "Lenient"


def test_update_kb_fields_and_inline_settings(groove: httpx.Client, kb: dict[str, Any]) -> None:
    response = groove.put(
        f"kb/{kb['id']}",
        json={
            "title": "Renamed",
            "subdomain": "renamed-kb",
            "custom_domain": "Help.Example.com",
            "language": "pt-BR",
            "enabled": False,
        },
    )
    assert response.status_code == 200, response.text
    updated = response.json()["knowledge_base"]
    assert (updated["title"], updated["subdomain"], updated["language"]) == ("Renamed", "renamed-kb", "pt-BR")
    assert updated["site_url"] == "https://help.example.com"
    assert updated["subdomain_url"] == "https://renamed-kb.groove.help"
    assert groove.get(f"kb/{kb['id']}/settings").json()["settings"]["enabled"] is False
    blank = groove.put(f"kb/{kb['id']}", json={"title": ""})
    assert blank.json() == {"errors": ["title can't be blank"]}
    cleared = groove.put(f"kb/{kb['id']}", json={"custom_domain": None}).json()["knowledge_base"]
    assert cleared["site_url"] == cleared["subdomain_url"]


def test_settings_validation(groove: httpx.Client, kb: dict[str, Any]) -> None:
    path = f"kb/{kb['id']}/settings"
    response = groove.put(
        path,
        json={
            "layout": "grid",
            "enabled": "nope",
            "theme_id": "1",
            "logo_url": "ftp://x",
            "ip_addresses": ["10.0.0.0/8", "banana"],
            "password_enabled": True,
        },
    )
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert errors[:4] == [
        "layout is not a knowledge base setting",
        "enabled must be true or false",
        "theme_id must be one of the theme ids from GET /kb/themes (3000000001, 3000000002, 3000000003, 3000000004)",
        "logo_url must be an http(s) URL",
    ]
    assert errors[4].startswith("ip_addresses contain an invalid address")
    assert errors[5] == "password can't be blank when password_enabled is true"
    ips = groove.put(path, json={"ip_addresses_enabled": True, "ip_addresses": "10.1.2.3, 192.168.0.0/16"})
    assert ips.json()["settings"]["ip_addresses"] == ["10.1.2.3/32", "192.168.0.0/16"]
    empty = groove.put(path, json={"ip_addresses": []})
    assert empty.json() == {"errors": ["ip_addresses can't be empty when ip_addresses_enabled is true"]}
    assert groove.get(path).json()["settings"]["ip_addresses_enabled"] is True


def test_unknown_kb_is_404_everywhere(groove: httpx.Client) -> None:
    for method, path in (
        ("GET", "kb/1"),
        ("PUT", "kb/1"),
        ("GET", "kb/1/settings"),
        ("PUT", "kb/1/settings"),
        ("GET", "kb/1/categories"),
        ("POST", "kb/1/categories"),
        ("GET", "kb/1/articles"),
        ("POST", "kb/1/articles"),
        ("GET", "kb/1/articles/search?keyword=*"),
    ):
        response = groove.request(method, path, json={"title": "x"} if method in ("PUT", "POST") else None)
        assert response.status_code == 404, (method, path)
        assert response.json() == {"errors": ["Knowledge base not found"]}


# -- categories ------------------------------------------------------------------------------------
def test_category_create_matches_the_documented_example(
    groove: httpx.Client, sandbox: Sandbox, kb: dict[str, Any]
) -> None:
    response = groove.post(f"kb/{kb['id']}/categories", json={"title": "Uncategorized"})
    assert response.status_code == 201
    category = response.json()["category"]
    assert response.headers["location"] == f"http://sandbox{GROOVE}/kb/{kb['id']}/categories/{category['id']}"
    assert list(category) == [
        "id",
        "articles_count",
        "article_ids",
        "author_id",
        "cover_image_url",
        "created_at",
        "description",
        "featured",
        "knowledge_base_id",
        "meta_description",
        "meta_robots",
        "og_description",
        "og_image_url",
        "og_title",
        "page_title",
        "position",
        "published_at",
        "slug",
        "state",
        "title",
        "updated_at",
    ]
    assert category["articles_count"] == 0 and category["article_ids"] == []
    assert (category["slug"], category["state"], category["meta_robots"]) == ("uncategorized", "draft", "INDEX,FOLLOW")
    assert category["position"] == 1 and category["published_at"] is None
    assert category["author_id"] == _owner(sandbox)
    assert category["knowledge_base_id"] == kb["id"]
    second = _post(groove, f"kb/{kb['id']}/categories", {"title": "Uncategorized"}, "category")
    assert (second["slug"], second["position"]) == ("uncategorized-2", 2)


def test_category_validation(groove: httpx.Client, kb: dict[str, Any]) -> None:
    path = f"kb/{kb['id']}/categories"
    response = groove.post(
        path,
        json={
            "featured": "sometimes",
            "meta_robots": "INDEX,MAYBE",
            "state": "live",
            "article_ids": ["1"],
            "author_id": "nobody",
        },
    )
    assert response.status_code == 422
    assert response.json()["errors"] == [
        "meta_robots must be comma-separated values from INDEX, NOINDEX, FOLLOW, NOFOLLOW, NOARCHIVE, "
        "NOSNIPPET, NOIMAGEINDEX, ALL, NONE",
        "author_id must be the id of one of your agents (got 'nobody')",
        "featured must be true or false",
        "title can't be blank",
        "state must be one of draft, published (got 'live')",
        "article_ids contain unknown article(s) of this knowledge base: 1",
    ]
    _post(groove, path, {"title": "Billing", "slug": "billing"}, "category")
    taken = groove.post(path, json={"title": "Other", "slug": "Billing"})
    assert taken.json() == {"errors": ["slug has already been taken"]}


def test_category_article_ids_move_articles_and_counts_follow(groove: httpx.Client, kb: dict[str, Any]) -> None:
    base = f"kb/{kb['id']}"
    a1 = _post(groove, f"{base}/articles", {"title": "One"}, "article")
    a2 = _post(groove, f"{base}/articles", {"title": "Two"}, "article")
    first = _post(
        groove, f"{base}/categories", {"title": "First", "article_ids": [a1["id"], int(a2["id"])]}, "category"
    )
    assert (first["articles_count"], first["article_ids"]) == (2, [a1["id"], a2["id"]])
    second = _post(groove, f"{base}/categories", {"title": "Second", "article_ids": [a2["id"]]}, "category")
    assert second["article_ids"] == [a2["id"]]
    assert groove.get(f"{base}/categories/{first['id']}").json()["category"]["article_ids"] == [a1["id"]]
    assert groove.get(f"{base}/articles/{a2['id']}").json()["article"]["category_id"] == second["id"]
    emptied = groove.put(f"{base}/categories/{first['id']}", json={"article_ids": []}).json()["category"]
    assert emptied["articles_count"] == 0
    assert groove.get(f"{base}/articles/{a1['id']}").json()["article"]["category_id"] is None


def test_category_search_and_listing(groove: httpx.Client, kb: dict[str, Any]) -> None:
    base = f"kb/{kb['id']}/categories"
    for title in ("Billing basics", "Advanced billing", "Security"):
        _post(groove, base, {"title": title, "description": f"All about {title.lower()}"}, "category")
    missing = groove.get(f"{base}/search")
    assert missing.status_code == 422
    assert missing.json() == {"errors": ["keyword can't be blank (use * for all)"]}
    everything = groove.get(f"{base}/search", params={"keyword": "*"}).json()
    assert everything["meta"]["pagination"]["total_count"] == 3
    billing = groove.get(f"{base}/search", params={"keyword": "BILLING"}).json()["categories"]
    assert [c["title"] for c in billing] == ["Billing basics", "Advanced billing"]
    paged = groove.get(base, params={"per_page": 2, "page": 2}).json()
    assert [c["title"] for c in paged["categories"]] == ["Security"]
    assert paged["meta"]["pagination"]["prev_page"] is not None


def test_category_update_publish_and_404s(groove: httpx.Client, kb: dict[str, Any]) -> None:
    base = f"kb/{kb['id']}/categories"
    category = _post(groove, base, {"title": "Drafty"}, "category")
    published = groove.put(
        f"{base}/{category['id']}",
        json={"state": "published", "title": "Ready", "og_image_url": "https://cdn.example.com/og.png"},
    )
    assert published.status_code == 200
    body = published.json()["category"]
    assert body["state"] == "published" and body["published_at"] is not None
    assert body["title"] == "Ready" and body["slug"] == "drafty"
    assert body["og_image_url"] == "https://cdn.example.com/og.png"
    other_kb = groove.get("kb").json()["knowledge_bases"][0]["id"]
    assert groove.get(f"kb/{other_kb}/categories/{category['id']}").status_code in (200, 404)
    assert groove.get(f"{base}/9999999999").json() == {"errors": ["Category not found"]}
    deleted = groove.delete(f"{base}/{category['id']}")
    assert deleted.status_code == 200 and deleted.json()["category"]["id"] == category["id"]
    assert groove.get(f"{base}/{category['id']}").status_code == 404


def test_categories_of_another_kb_are_not_found(groove: httpx.Client, kb: dict[str, Any]) -> None:
    mine = _post(groove, f"kb/{kb['id']}/categories", {"title": "Mine"}, "category")
    other = _post(groove, "kb", {"title": "Other"}, "knowledge_base")
    assert groove.get(f"kb/{other['id']}/categories/{mine['id']}").status_code == 404
    cross = groove.post(f"kb/{other['id']}/articles", json={"title": "X", "category_id": mine["id"]})
    assert cross.status_code == 422
    assert cross.json() == {
        "errors": [f"category_id must be the id of a category of this knowledge base (got '{mine['id']}')"]
    }


# -- articles --------------------------------------------------------------------------------------
def test_article_create_matches_the_documented_example(
    groove: httpx.Client, sandbox: Sandbox, kb: dict[str, Any]
) -> None:
    response = groove.post(f"kb/{kb['id']}/articles", json={"title": "Getting started"})
    assert response.status_code == 201
    article = response.json()["article"]
    assert list(article) == [
        "id",
        "author_id",
        "body",
        "category_id",
        "created_at",
        "deleted_at",
        "description",
        "featured",
        "knowledge_base_id",
        "meta_description",
        "meta_robots",
        "og_description",
        "og_image_url",
        "og_title",
        "page_title",
        "position",
        "published_at",
        "ratings",
        "related_ids",
        "slug",
        "state",
        "tags",
        "title",
        "updated_at",
    ]
    assert (article["body"], article["category_id"], article["deleted_at"]) == (None, None, None)
    assert (article["featured"], article["meta_robots"], article["ratings"]) == (False, "INDEX,FOLLOW", {})
    assert (article["position"], article["published_at"], article["related_ids"]) == (1, None, [])
    assert (article["slug"], article["state"], article["tags"]) == ("getting-started", "draft", [])
    assert article["author_id"] == _owner(sandbox)


def test_article_fields_round_trip(groove: httpx.Client, sandbox: Sandbox, kb: dict[str, Any]) -> None:
    base = f"kb/{kb['id']}/articles"
    agent = sandbox.ctx.store.one("SELECT id, email FROM gh_agents WHERE tenant_id = 1 ORDER BY rowid DESC")
    assert agent is not None
    other = _post(groove, base, {"title": "Other"}, "article")
    article = _post(
        groove,
        base,
        {
            "title": "Ünïcödé & Friends!",
            "body": "<h1>Hi</h1>",
            "description": "Short",
            "featured": "true",
            "tags": ["Setup", "setup", " billing "],
            "related_ids": [other["id"]],
            "author_id": agent["email"],
            "meta_description": "Meta",
            "meta_robots": "noindex",
            "og_title": "OG",
            "og_description": "OGD",
            "og_image_url": "https://cdn.example.com/a.png",
            "page_title": "Page",
        },
        "article",
    )
    assert article["slug"] == "unicode-friends"
    assert article["tags"] == ["Setup", "billing"]
    assert article["related_ids"] == [other["id"]]
    assert article["author_id"] == agent["id"]
    assert article["featured"] is True and article["meta_robots"] == "NOINDEX"
    assert (article["og_title"], article["page_title"]) == ("OG", "Page")
    assert groove.get(f"{base}/{article['id']}").json()["article"] == article


def test_article_validation(groove: httpx.Client, kb: dict[str, Any]) -> None:
    base = f"kb/{kb['id']}/articles"
    response = groove.post(
        base, json={"state": "live", "category_id": "123", "related_ids": "9", "tags": [1], "body": {"html": "x"}}
    )
    assert response.status_code == 422
    assert response.json()["errors"] == [
        "title can't be blank",
        "body must be a string",
        "category_id must be the id of a category of this knowledge base (got '123')",
        "tags must be an array of tag names",
        "related_ids contain unknown article(s) of this knowledge base: 9",
        "state must be one of draft, published (got 'live')",
    ]
    article = _post(groove, base, {"title": "Self"}, "article")
    own = groove.put(f"{base}/{article['id']}", json={"related_ids": [article["id"]]})
    assert own.json() == {"errors": ["related_ids can't include the article itself"]}
    _post(groove, base, {"title": "Fixed", "slug": "fixed"}, "article")
    assert groove.post(base, json={"title": "Y", "slug": "fixed"}).json() == {"errors": ["slug has already been taken"]}


def test_publishing_sets_published_at_and_keeps_it_as_last_published(
    groove: httpx.Client, sandbox: Sandbox, kb: dict[str, Any]
) -> None:
    base = f"kb/{kb['id']}/articles"
    article = _post(groove, base, {"title": "Lifecycle"}, "article")
    assert article["published_at"] is None
    sandbox.ctx.clock.advance(3600)
    published = groove.put(f"{base}/{article['id']}", json={"state": "published"}).json()["article"]
    assert published["published_at"] is not None and published["published_at"] > article["created_at"]
    sandbox.ctx.clock.advance(3600)
    edited = groove.put(f"{base}/{article['id']}", json={"body": "<p>v2</p>"}).json()["article"]
    assert edited["published_at"] == published["published_at"]
    assert edited["updated_at"] > published["updated_at"]
    drafted = groove.put(f"{base}/{article['id']}", json={"state": "draft"}).json()["article"]
    assert drafted["state"] == "draft" and drafted["published_at"] == published["published_at"]
    created_live = _post(groove, base, {"title": "Live", "state": "PUBLISHED"}, "article")
    assert created_live["state"] == "published" and created_live["published_at"] == created_live["created_at"]


def test_search_matches_title_and_visible_body_text_only(groove: httpx.Client, kb: dict[str, Any]) -> None:
    base = f"kb/{kb['id']}/articles"
    a = _post(
        groove, base, {"title": "Exporting data", "body": '<p>Use the <a href="/csv">CSV</a> button</p>'}, "article"
    )
    b = _post(groove, base, {"title": "Importing", "body": "<div>Upload a csv file &amp; wait</div>"}, "article")
    _post(groove, base, {"title": "Unrelated", "body": "<p>nothing</p>"}, "article")
    search = f"{base}/search"
    assert groove.get(search).json() == {"errors": ["keyword can't be blank (use * for all)"]}

    def hits(keyword: str) -> list[str]:
        return [x["id"] for x in groove.get(search, params={"keyword": keyword}).json()["articles"]]

    assert hits("csv") == [a["id"], b["id"]]
    assert groove.get(search, params={"keyword": "href"}).json()["articles"] == []
    assert hits("csv wait") == [b["id"]]
    assert groove.get(search, params={"keyword": "*"}).json()["meta"]["pagination"]["total_count"] == 3
    drafts = groove.get(search, params={"keyword": "*", "state": "draft"}).json()
    assert drafts["meta"]["pagination"]["total_count"] == 3
    bad = groove.get(search, params={"keyword": "*", "state": "gone"})
    assert bad.status_code == 422


def test_article_list_paginates_and_filters(groove: httpx.Client, kb: dict[str, Any]) -> None:
    base = f"kb/{kb['id']}"
    category = _post(groove, f"{base}/categories", {"title": "C"}, "category")
    ids = [
        _post(
            groove, f"{base}/articles", {"title": f"A{i}", "category_id": category["id"] if i % 2 else None}, "article"
        )["id"]
        for i in range(5)
    ]
    page = groove.get(f"{base}/articles", params={"per_page": 2, "page": 2}).json()
    assert [a["id"] for a in page["articles"]] == ids[2:4]
    assert page["meta"]["pagination"]["total_pages"] == 3
    assert "per_page" not in page["meta"]["pagination"]["next_page"]
    in_category = groove.get(f"{base}/articles", params={"category_id": category["id"]}).json()["articles"]
    assert [a["id"] for a in in_category] == [ids[1], ids[3]]


def test_deleted_articles_disappear_everywhere(groove: httpx.Client, kb: dict[str, Any]) -> None:
    base = f"kb/{kb['id']}"
    category = _post(groove, f"{base}/categories", {"title": "C"}, "category")
    article = _post(groove, f"{base}/articles", {"title": "Doomed", "category_id": category["id"]}, "article")
    deleted = groove.delete(f"{base}/articles/{article['id']}")
    assert deleted.status_code == 200 and deleted.json()["article"]["deleted_at"] is not None
    assert groove.get(f"{base}/articles/{article['id']}").json() == {"errors": ["Article not found"]}
    assert groove.put(f"{base}/articles/{article['id']}", json={"title": "x"}).status_code == 404
    assert groove.get(f"{base}/categories/{category['id']}").json()["category"]["articles_count"] == 0
    assert groove.get(f"{base}/articles/search", params={"keyword": "doomed"}).json()["articles"] == []
    reused = _post(groove, f"{base}/articles", {"title": "Doomed"}, "article")
    assert reused["slug"] == "doomed"  # a deleted article frees its slug


def test_seeded_knowledge_base_is_consistent(groove: httpx.Client) -> None:
    kb_id = groove.get("kb").json()["knowledge_bases"][0]["id"]
    categories = groove.get(f"kb/{kb_id}/categories").json()["categories"]
    articles = groove.get(f"kb/{kb_id}/articles", params={"per_page": 50}).json()["articles"]
    assert len(categories) == 3 and len(articles) == 8
    for category in categories:
        members = [a["id"] for a in articles if a["category_id"] == category["id"]]
        assert category["article_ids"] == members and category["articles_count"] == len(members)
    for article in articles:
        assert (article["published_at"] is not None) == (article["state"] == "published")
        assert all(r in [a["id"] for a in articles] for r in article["related_ids"])
