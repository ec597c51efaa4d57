"""Knowledge-base articles (``/kb/{kb_id}/articles``): soft-deleted, tagged, related to each other."""

from __future__ import annotations

import html
import json
import re
import sqlite3
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from . import common
from .common import MISSING, Problems, optional_id
from .kb_children import Child
from .kb_fields import (
    content_fields,
    existing_articles,
    publish_columns,
    read_id_list,
    read_state,
    read_tags,
    read_text,
    titled_document,
)
from .kb_store import load_kb, update_row

if TYPE_CHECKING:
    from . import GrooveHelpdeskApi

_TAG = re.compile(r"<[^>]*>")


def render_article(api: GrooveHelpdeskApi, row: sqlite3.Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "author_id": row["author_id"],
        "body": row["body"],
        "category_id": row["category_id"],
        "created_at": api.iso(row["created_at"]),
        "deleted_at": api.iso(row["deleted_at"]),
        **content_fields(api, row),
        "ratings": {},
        "related_ids": json.loads(row["related_ids"]),
        "slug": row["slug"],
        "state": row["state"],
        "tags": json.loads(row["tags"]),
        "title": row["title"],
        "updated_at": api.iso(row["updated_at"]),
    }


def _article_input(
    api: GrooveHelpdeskApi, tenant: int, problems: Problems, kb_id: str, body: dict[str, Any], row: sqlite3.Row | None
) -> tuple[dict[str, Any], None]:
    """Article changes; the second item (a category's article ids) has no article counterpart."""
    values = titled_document(api, tenant, problems, "gh_kb_articles", kb_id, body, row)
    content = read_text(problems, body, "body", max_len=1_000_000)
    if content is not MISSING:
        values["body"] = content
    if "category_id" in body:
        ref = optional_id(body["category_id"])
        if ref is None:
            values["category_id"] = None
        elif isinstance(ref, str) and api.ctx.store.one(
            "SELECT 1 FROM gh_kb_categories WHERE tenant_id = ? AND kb_id = ? AND id = ?", (tenant, kb_id, ref)
        ):
            values["category_id"] = ref
        else:
            problems.add(
                "category_id", f"must be the id of a category of this knowledge base (got {body['category_id']!r})"
            )
    tags = read_tags(problems, body)
    if tags is not None:
        values["tags"] = json.dumps(tags)
    related = existing_articles(
        api,
        tenant,
        problems,
        kb_id,
        "related_ids",
        read_id_list(problems, body, "related_ids"),
        except_id=row["id"] if row else "",
    )
    if related is not None:
        values["related_ids"] = json.dumps(related)
    return {**values, **publish_columns(row, read_state(problems, body), api.now())}, None


def _searchable(row: sqlite3.Row) -> str:
    """Title plus the body's visible text: markup must not match a search for "div" or "href"."""
    text = html.unescape(_TAG.sub(" ", row["body"] or ""))
    return f"{row['title']} {text}".lower()


async def delete_article(request: Request) -> Response:
    """Soft delete, as the documented ``deleted_at`` field implies: 200 with the article, then 404."""
    api, tenant = common.api_of(request), common.tenant_id(request)
    kb_id, article_id = request.path_params["kb_id"], request.path_params["article_id"]
    with api.ctx.store.tx():
        load_kb(api, tenant, kb_id)
        ARTICLES.load(api, tenant, kb_id, article_id)
        now = api.now()
        update_row(api, "gh_kb_articles", tenant, article_id, {"deleted_at": now, "updated_at": now})
        row = api.ctx.store.one("SELECT * FROM gh_kb_articles WHERE tenant_id = ? AND id = ?", (tenant, article_id))
        assert row is not None
    return JSONResponse({"article": render_article(api, row)})


def _render_articles(api: GrooveHelpdeskApi, tenant: int, rows: list[sqlite3.Row]) -> list[dict[str, Any]]:
    return [render_article(api, r) for r in rows]


ARTICLES = Child(
    table="gh_kb_articles",
    key="article",
    plural="articles",
    what="Article",
    id_kind="kb_article",
    live=" AND deleted_at IS NULL",
    filters=("category_id", "author_id"),
    read=_article_input,
    render=_render_articles,
    searchable=_searchable,
)


def routes() -> list[BaseRoute]:
    return ARTICLES.routes(delete_article)
