"""Knowledge-base categories (``/kb/{kb_id}/categories``).

A category's ``article_ids`` and ``articles_count`` are derived from the articles' ``category_id`` at
read time rather than stored, so they can never disagree with the articles themselves.
"""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from . import common
from .common import MISSING, Problems
from .kb_children import Child
from .kb_fields import (
    content_fields,
    existing_articles,
    publish_columns,
    read_id_list,
    read_state,
    read_url,
    titled_document,
)
from .kb_store import load_kb

if TYPE_CHECKING:
    from . import GrooveHelpdeskApi


def _category_articles(api: GrooveHelpdeskApi, tenant: int, category_ids: list[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {cid: [] for cid in category_ids}
    if not category_ids:
        return out
    marks = ",".join("?" * len(category_ids))
    for row in api.ctx.store.all(
        f"SELECT id, category_id FROM gh_kb_articles WHERE tenant_id = ? AND category_id IN ({marks}) "
        "AND deleted_at IS NULL ORDER BY position, rowid",
        (tenant, *category_ids),
    ):
        out[row["category_id"]].append(row["id"])
    return out


def render_category(api: GrooveHelpdeskApi, row: sqlite3.Row, article_ids: list[str]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "articles_count": len(article_ids),
        "article_ids": article_ids,
        "author_id": row["author_id"],
        "cover_image_url": row["cover_image_url"],
        "created_at": api.iso(row["created_at"]),
        **content_fields(api, row),
        "slug": row["slug"],
        "state": row["state"],
        "title": row["title"],
        "updated_at": api.iso(row["updated_at"]),
    }


def _render_categories(api: GrooveHelpdeskApi, tenant: int, rows: list[sqlite3.Row]) -> list[dict[str, Any]]:
    members = _category_articles(api, tenant, [r["id"] for r in rows])
    return [render_category(api, r, members[r["id"]]) for r in rows]


def _assign_articles(
    api: GrooveHelpdeskApi, tenant: int, kb_id: str, category_id: str, article_ids: list[str], now: float
) -> None:
    """Make ``article_ids`` exactly the category's articles (moving them from wherever they were)."""
    store = api.ctx.store
    marks = ",".join("?" * len(article_ids)) or "''"
    store.execute(
        f"UPDATE gh_kb_articles SET category_id = NULL, updated_at = ? WHERE tenant_id = ? AND "
        f"category_id = ? AND id NOT IN ({marks})",
        (now, tenant, category_id, *article_ids),
    )
    if article_ids:
        store.execute(
            f"UPDATE gh_kb_articles SET category_id = ?, updated_at = ? WHERE tenant_id = ? "
            f"AND kb_id = ? AND id IN ({marks}) AND (category_id IS NULL OR category_id != ?)",
            (category_id, now, tenant, kb_id, *article_ids, category_id),
        )


def _category_input(
    api: GrooveHelpdeskApi, tenant: int, problems: Problems, kb_id: str, body: dict[str, Any], row: sqlite3.Row | None
) -> tuple[dict[str, Any], list[str] | None]:
    values = titled_document(api, tenant, problems, "gh_kb_categories", kb_id, body, row)
    cover = read_url(problems, body, "cover_image_url")
    if cover is not MISSING:
        values["cover_image_url"] = cover
    state = read_state(problems, body)
    article_ids = existing_articles(
        api, tenant, problems, kb_id, "article_ids", read_id_list(problems, body, "article_ids")
    )
    return {**values, **publish_columns(row, state, api.now())}, article_ids


async def delete_category(request: Request) -> Response:
    """200 with the deleted category (as groups do); its articles stay, uncategorised."""
    api, tenant = common.api_of(request), common.tenant_id(request)
    kb_id, category_id = request.path_params["kb_id"], request.path_params["category_id"]
    with api.ctx.store.tx():
        load_kb(api, tenant, kb_id)
        out = CATEGORIES.one(api, tenant, kb_id, category_id)
        _assign_articles(api, tenant, kb_id, category_id, [], api.now())
        api.ctx.store.execute("DELETE FROM gh_kb_categories WHERE tenant_id = ? AND id = ?", (tenant, category_id))
    return JSONResponse(out)


CATEGORIES = Child(
    table="gh_kb_categories",
    key="category",
    plural="categories",
    what="Category",
    id_kind="kb_category",
    live="",
    filters=("author_id",),
    read=_category_input,
    render=_render_categories,
    searchable=lambda row: f"{row['title']} {row['description'] or ''}",
    after_write=_assign_articles,
)


def routes() -> list[BaseRoute]:
    return CATEGORIES.routes(delete_category)
