"""Field readers and shared helpers for knowledge-base documents (categories and articles).

Each reader records a problem and returns MISSING instead of raising, so one 422 names every field.
"""

from __future__ import annotations

import re
import sqlite3
import unicodedata
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from starlette.requests import Request

from ..contract.fields import ARTICLE_STATES, TITLE_MAX
from ..contract.settings import KB_TEXT_MAX, Checked, check_bool, check_robots, check_text, check_url
from . import common, people
from .common import MISSING, Problems, optional_id

if TYPE_CHECKING:
    from . import GrooveHelpdeskApi

TAG_MAX = 100
#: The page/SEO fields categories and articles share, in the order they are rendered.
SEO_FIELDS = ("meta_description", "meta_robots", "og_description", "og_image_url", "og_title", "page_title")
SEO_TEXT = tuple(k for k in SEO_FIELDS if k not in ("meta_robots", "og_image_url"))


def read_checked(problems: Problems, body: dict[str, Any], key: str, check: Callable[[Any], Checked]) -> Any:
    """``check`` on ``body[key]``: its value, or MISSING when absent or refused (the reason recorded)."""
    if key not in body:
        return MISSING
    value, why = check(body[key])
    if why is not None:
        problems.add(key, why)
        return MISSING
    return value


def read_text(problems: Problems, body: dict[str, Any], key: str, *, max_len: int = KB_TEXT_MAX) -> Any:
    return read_checked(problems, body, key, lambda value: check_text(value, max_len=max_len))


def read_title(problems: Problems, body: dict[str, Any], key: str, required: bool) -> Any:
    value = read_text(problems, body, key, max_len=TITLE_MAX)
    if value is MISSING:
        if required and key not in body:
            problems.add(key, "can't be blank")
        return MISSING
    if value is None or not value.strip():
        problems.add(key, "can't be blank")
        return MISSING
    return value.strip()


def read_flag(problems: Problems, body: dict[str, Any], key: str) -> Any:
    return read_checked(problems, body, key, check_bool)


def read_url(problems: Problems, body: dict[str, Any], key: str) -> Any:
    return read_checked(problems, body, key, check_url)


def read_robots(problems: Problems, body: dict[str, Any], key: str = "meta_robots") -> Any:
    return read_checked(problems, body, key, check_robots)


def read_state(problems: Problems, body: dict[str, Any]) -> Any:
    if "state" not in body:
        return MISSING
    value = body["state"]
    if isinstance(value, str) and value.strip().lower() in ARTICLE_STATES:
        return value.strip().lower()
    problems.add("state", f"must be one of {', '.join(ARTICLE_STATES)} (got {value!r})")
    return MISSING


def read_id_list(problems: Problems, body: dict[str, Any], key: str) -> list[str] | None:
    """A list of ids (strings or numbers; a comma-separated string also works), or None when absent/bad."""
    if key not in body:
        return None
    value = body[key]
    if value is None:
        return []
    items = [p for p in value.split(",") if p.strip()] if isinstance(value, str) else value
    if not isinstance(items, list):
        problems.add(key, "must be an array of ids")
        return None
    out: list[str] = []
    for item in items:
        ref = optional_id(item)
        if not isinstance(ref, str):
            problems.add(key, "must be an array of ids")
            return None
        if ref not in out:
            out.append(ref)
    return out


def read_tags(problems: Problems, body: dict[str, Any]) -> list[str] | None:
    if "tags" not in body:
        return None
    value = body["tags"]
    if value is None:
        return []
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(t, str) for t in items):
        problems.add("tags", "must be an array of tag names")
        return None
    out: list[str] = []
    for tag in (t.strip() for t in items):
        if len(tag) > TAG_MAX:
            problems.add("tags", f"contain a name longer than {TAG_MAX} characters")
            return None
        if tag and common.fold(tag) not in (common.fold(o) for o in out):
            out.append(tag)
    return out


def slugify(text: str) -> str:
    """Rails ``parameterize``: ASCII-folded, lowercase, runs of anything else collapsed to one hyphen."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", folded.lower()).strip("-")[:100].strip("-")


def slug_taken(api: GrooveHelpdeskApi, tenant: int, table: str, kb_id: str, slug: str, except_id: str) -> bool:
    deleted = " AND deleted_at IS NULL" if table == "gh_kb_articles" else ""
    return (
        api.ctx.store.one(
            f"SELECT 1 FROM {table} WHERE tenant_id = ? AND kb_id = ? AND slug = ? AND id != ?{deleted}",
            (tenant, kb_id, slug, except_id),
        )
        is not None
    )


def resolve_slug(
    api: GrooveHelpdeskApi,
    tenant: int,
    problems: Problems,
    table: str,
    kb_id: str,
    body: dict[str, Any],
    title: str | None,
    except_id: str = "",
) -> str | None:
    """An explicit slug must be free; one derived from the title gets ``-2``, ``-3``… until it is."""
    explicit = read_text(problems, body, "slug", max_len=TITLE_MAX)
    if isinstance(explicit, str) and explicit.strip():
        slug = slugify(explicit)
        if not slug:
            problems.add("slug", "must contain letters or digits")
            return None
        if slug_taken(api, tenant, table, kb_id, slug, except_id):
            problems.add("slug", "has already been taken")
            return None
        return slug
    if title is None:
        return None
    base = slugify(title) or "untitled"
    slug, n = base, 1
    while slug_taken(api, tenant, table, kb_id, slug, except_id):
        n += 1
        slug = f"{base}-{n}"
    return slug


def read_author(api: GrooveHelpdeskApi, tenant: int, problems: Problems, body: dict[str, Any]) -> Any:
    """An agent id (an agent's email is accepted too); null or absent means "keep / default"."""
    if "author_id" not in body:
        return MISSING
    ref = optional_id(body["author_id"])
    if ref is None:
        return MISSING
    if isinstance(ref, str):
        row = api.ctx.store.one(
            "SELECT id FROM gh_agents WHERE tenant_id = ? AND (id = ? OR gh_fold(email) = gh_fold(?))",
            (tenant, ref, ref),
        )
        if row is not None:
            return row["id"]
    problems.add("author_id", f"must be the id of one of your agents (got {body['author_id']!r})")
    return MISSING


def default_author(api: GrooveHelpdeskApi, tenant: int) -> str | None:
    """Groove defaults the author to the OAuth user; an API token acts as the account's owner, the same
    agent every other resource falls back to (``people.owner_agent``)."""
    row = people.owner_agent(api, tenant)
    return None if row is None else str(row["id"])


def document_fields(api: GrooveHelpdeskApi, tenant: int, problems: Problems, body: dict[str, Any]) -> dict[str, Any]:
    """Fields categories and articles share: description, author, featured and the SEO/open-graph set."""
    out: dict[str, Any] = {}
    values: dict[str, Any] = {key: read_text(problems, body, key) for key in ("description", *SEO_TEXT)}
    values["og_image_url"] = read_url(problems, body, "og_image_url")
    values["meta_robots"] = read_robots(problems, body)
    values["author_id"] = read_author(api, tenant, problems, body)
    featured = read_flag(problems, body, "featured")
    values["featured"] = featured if featured is MISSING else int(featured)
    for key, value in values.items():
        if value is not MISSING:
            out[key] = value
    return out


def titled_document(
    api: GrooveHelpdeskApi,
    tenant: int,
    problems: Problems,
    table: str,
    kb_id: str,
    body: dict[str, Any],
    row: sqlite3.Row | None,
) -> dict[str, Any]:
    """What a category and an article are both made of: ``document_fields``, the title (required on
    create) and the slug (derived from the title on create, unique in the knowledge base's ``table``)."""
    values = document_fields(api, tenant, problems, body)
    title = read_title(problems, body, "title", required=row is None)
    if title is not MISSING:
        values["title"] = title
    created_title = values.get("title") if row is None else None
    slug = resolve_slug(api, tenant, problems, table, kb_id, body, created_title, row["id"] if row else "")
    if slug is not None:
        values["slug"] = slug
    return values


def publish_columns(row: sqlite3.Row | None, state: Any, now: float) -> dict[str, Any]:
    """``published_at`` moves on every transition into "published" and is kept as "last published" after."""
    if state is MISSING:
        return {}
    out: dict[str, Any] = {"state": state}
    if state == "published" and (row is None or row["state"] != "published"):
        out["published_at"] = now
    return out


def content_fields(api: GrooveHelpdeskApi, row: sqlite3.Row) -> dict[str, Any]:
    """The page/SEO fields categories and articles share."""
    return {
        "description": row["description"],
        "featured": bool(row["featured"]),
        "knowledge_base_id": row["kb_id"],
        **{key: row[key] for key in SEO_FIELDS},
        "position": row["position"],
        "published_at": api.iso(row["published_at"]),
    }


def existing_articles(
    api: GrooveHelpdeskApi,
    tenant: int,
    problems: Problems,
    kb_id: str,
    key: str,
    ids: list[str] | None,
    except_id: str = "",
) -> list[str] | None:
    if not ids:
        return ids
    marks = ",".join("?" * len(ids))
    found = {
        r["id"]
        for r in api.ctx.store.all(
            f"SELECT id FROM gh_kb_articles WHERE tenant_id = ? AND kb_id = ? AND deleted_at IS NULL "
            f"AND id IN ({marks})",
            (tenant, kb_id, *ids),
        )
    }
    if except_id in ids:
        problems.add(key, "can't include the article itself")
        return None
    unknown = [i for i in ids if i not in found]
    if unknown:
        problems.add(key, f"contain unknown article(s) of this knowledge base: {', '.join(unknown)}")
        return None
    return ids


def next_position(api: GrooveHelpdeskApi, table: str, tenant: int, kb_id: str) -> int:
    return (
        int(
            api.ctx.store.scalar(
                f"SELECT COALESCE(MAX(position), 0) FROM {table} WHERE tenant_id = ? AND kb_id = ?", (tenant, kb_id)
            )
        )
        + 1
    )


def keyword_and_state(request: Request, keyword_required: bool) -> tuple[str, Any]:
    """A category/article list or search's ``keyword`` and ``state`` filters (state MISSING if not given)."""
    keyword = (request.query_params.get("keyword") or "").strip()
    problems = Problems()
    if keyword_required and not keyword:
        problems.add("keyword", "can't be blank (use * for all)")
    state = read_state(problems, dict(request.query_params))
    problems.raise_if_any()
    return keyword, state
