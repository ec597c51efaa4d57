"""Groove helpdesk: knowledge bases, their settings and themes, categories and articles (``/kb``).

Groove's v1 pages for knowledge bases and themes were never recovered, and the category/article pages
stop after create and search. Field names therefore follow the recovered create examples for
categories and articles, and Groove's v2 (GraphQL) ``KnowledgeBase`` object for knowledge bases and
their settings; docs/fidelity.md lists every choice made where all of them are silent.

A category's ``article_ids`` and ``articles_count`` are derived from the articles' ``category_id`` at
read time rather than stored, so they can never disagree with the articles themselves.
"""

from __future__ import annotations

import html
import json
import random
import re
import unicodedata
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from ..contract import unwrap
from ..contract.fields import (
    ARTICLE_STATES,
    HOSTNAME,
    HOSTNAME_MESSAGE,
    LANGUAGE,
    LANGUAGE_MESSAGE,
    SUBDOMAIN,
    SUBDOMAIN_MESSAGE,
    TITLE_MAX,
)
from ..contract.settings import (
    DEFAULT_ROBOTS,
    KB_TEXT_MAX,
    KNOWLEDGE_BASE,
    Checked,
    check_bool,
    check_robots,
    check_settings,
    check_text,
    check_url,
)
from . import common, people, widgets
from .common import MISSING, Invalid, Problems, optional_id
from .seed import SEED_EPOCH

if TYPE_CHECKING:
    import sqlite3

    from ....sandbox.api import Tenant
    from . import GrooveHelpdeskApi

DDL = """
CREATE TABLE IF NOT EXISTS gh_knowledge_bases (
    tenant_id INTEGER NOT NULL, id TEXT NOT NULL, title TEXT NOT NULL, subdomain TEXT NOT NULL,
    custom_domain TEXT, language TEXT NOT NULL DEFAULT 'en', is_primary INTEGER NOT NULL DEFAULT 0,
    settings TEXT NOT NULL DEFAULT '{}', created_at REAL NOT NULL, updated_at REAL NOT NULL,
    PRIMARY KEY (tenant_id, id), UNIQUE (tenant_id, subdomain)
);
CREATE TABLE IF NOT EXISTS gh_kb_categories (
    tenant_id INTEGER NOT NULL, id TEXT NOT NULL, kb_id TEXT NOT NULL, title TEXT NOT NULL,
    slug TEXT NOT NULL, description TEXT, author_id TEXT, cover_image_url TEXT,
    featured INTEGER NOT NULL DEFAULT 0, meta_description TEXT,
    meta_robots TEXT NOT NULL DEFAULT 'INDEX,FOLLOW', og_description TEXT,
    og_image_url TEXT, og_title TEXT, page_title TEXT, position INTEGER NOT NULL,
    state TEXT NOT NULL DEFAULT 'draft', published_at REAL,
    created_at REAL NOT NULL, updated_at REAL NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX IF NOT EXISTS gh_kb_categories_kb ON gh_kb_categories (tenant_id, kb_id, position);
CREATE TABLE IF NOT EXISTS gh_kb_articles (
    tenant_id INTEGER NOT NULL, id TEXT NOT NULL, kb_id TEXT NOT NULL, category_id TEXT,
    title TEXT NOT NULL, slug TEXT NOT NULL, body TEXT, description TEXT, author_id TEXT,
    featured INTEGER NOT NULL DEFAULT 0, meta_description TEXT,
    meta_robots TEXT NOT NULL DEFAULT 'INDEX,FOLLOW', og_description TEXT, og_image_url TEXT,
    og_title TEXT, page_title TEXT, position INTEGER NOT NULL,
    state TEXT NOT NULL DEFAULT 'draft', published_at REAL, tags TEXT NOT NULL DEFAULT '[]',
    related_ids TEXT NOT NULL DEFAULT '[]', deleted_at REAL,
    created_at REAL NOT NULL, updated_at REAL NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX IF NOT EXISTS gh_kb_articles_kb ON gh_kb_articles (tenant_id, kb_id, position);
CREATE INDEX IF NOT EXISTS gh_kb_articles_category ON gh_kb_articles (tenant_id, category_id);
"""
TABLES: tuple[str, ...] = ("gh_knowledge_bases", "gh_kb_categories", "gh_kb_articles")

TAG_MAX = 100
KB_HOST = "groove.help"
KB_BY_ID = "SELECT * FROM gh_knowledge_bases WHERE tenant_id = ? AND id = ?"
#: The page/SEO fields categories and articles share, in the order they are rendered.
SEO_FIELDS = ("meta_description", "meta_robots", "og_description", "og_image_url", "og_title", "page_title")
SEO_TEXT = tuple(k for k in SEO_FIELDS if k not in ("meta_robots", "og_image_url"))

_TAG = re.compile(r"<[^>]*>")

#: Built-in themes: identical for every account, like Groove's (names and ids are the emulator's own).
THEMES: tuple[dict[str, str], ...] = tuple(
    {
        "id": theme_id,
        "name": name,
        "description": description,
        "screenshot_url": f"https://assets.groovehq.com/kb/themes/{name.lower()}.png",
        "created_at": "2019-06-03T00:00:00Z",
        "updated_at": "2021-02-15T00:00:00Z",
    }
    for theme_id, name, description in (
        ("3000000001", "Classic", "Category cards on the home page, articles with a sidebar"),
        ("3000000002", "Minimal", "One column and a prominent search box"),
        ("3000000003", "Modern", "Full-width header with featured articles"),
        ("3000000004", "Docs", "Navigation tree for product documentation"),
    )
)
THEME_IDS = tuple(t["id"] for t in THEMES)


# -- field readers (each records a problem and returns MISSING instead of raising) ----------------
def _read(problems: Problems, body: dict[str, Any], key: str, check: Callable[[Any], Checked]) -> Any:
    """``check`` on ``body[key]``: its value, or MISSING when absent or refused (the reason recorded)."""
    if key not in body:
        return MISSING
    value, why = check(body[key])
    if why is not None:
        problems.add(key, why)
        return MISSING
    return value


def _text(problems: Problems, body: dict[str, Any], key: str, *, max_len: int = KB_TEXT_MAX) -> Any:
    return _read(problems, body, key, lambda value: check_text(value, max_len=max_len))


def _title(problems: Problems, body: dict[str, Any], key: str, required: bool) -> Any:
    value = _text(problems, body, key, max_len=TITLE_MAX)
    if value is MISSING:
        if required and key not in body:
            problems.add(key, "can't be blank")
        return MISSING
    if value is None or not value.strip():
        problems.add(key, "can't be blank")
        return MISSING
    return value.strip()


def _flag(problems: Problems, body: dict[str, Any], key: str) -> Any:
    return _read(problems, body, key, check_bool)


def _url(problems: Problems, body: dict[str, Any], key: str) -> Any:
    return _read(problems, body, key, check_url)


def _robots(problems: Problems, body: dict[str, Any], key: str = "meta_robots") -> Any:
    return _read(problems, body, key, check_robots)


def _state(problems: Problems, body: dict[str, Any]) -> Any:
    if "state" not in body:
        return MISSING
    value = body["state"]
    if isinstance(value, str) and value.strip().lower() in ARTICLE_STATES:
        return value.strip().lower()
    problems.add("state", f"must be one of {', '.join(ARTICLE_STATES)} (got {value!r})")
    return MISSING


def _id_list(problems: Problems, body: dict[str, Any], key: str) -> list[str] | None:
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


def _tags(problems: Problems, body: dict[str, Any]) -> list[str] | None:
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


def _slug_taken(api: GrooveHelpdeskApi, tenant: int, table: str, kb_id: str, slug: str, except_id: str) -> bool:
    deleted = " AND deleted_at IS NULL" if table == "gh_kb_articles" else ""
    return (
        api.ctx.store.one(
            f"SELECT 1 FROM {table} WHERE tenant_id = ? AND kb_id = ? AND slug = ? AND id != ?{deleted}",
            (tenant, kb_id, slug, except_id),
        )
        is not None
    )


def _resolve_slug(
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
    explicit = _text(problems, body, "slug", max_len=TITLE_MAX)
    if isinstance(explicit, str) and explicit.strip():
        slug = slugify(explicit)
        if not slug:
            problems.add("slug", "must contain letters or digits")
            return None
        if _slug_taken(api, tenant, table, kb_id, slug, except_id):
            problems.add("slug", "has already been taken")
            return None
        return slug
    if title is None:
        return None
    base = slugify(title) or "untitled"
    slug, n = base, 1
    while _slug_taken(api, tenant, table, kb_id, slug, except_id):
        n += 1
        slug = f"{base}-{n}"
    return slug


def _author(api: GrooveHelpdeskApi, tenant: int, problems: Problems, body: dict[str, Any]) -> Any:
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


def _document_fields(api: GrooveHelpdeskApi, tenant: int, problems: Problems, body: dict[str, Any]) -> dict[str, Any]:
    """Fields categories and articles share: description, author, featured and the SEO/open-graph set."""
    out: dict[str, Any] = {}
    values: dict[str, Any] = {key: _text(problems, body, key) for key in ("description", *SEO_TEXT)}
    values["og_image_url"] = _url(problems, body, "og_image_url")
    values["meta_robots"] = _robots(problems, body)
    values["author_id"] = _author(api, tenant, problems, body)
    featured = _flag(problems, body, "featured")
    values["featured"] = featured if featured is MISSING else int(featured)
    for key, value in values.items():
        if value is not MISSING:
            out[key] = value
    return out


def _publish_columns(row: sqlite3.Row | None, state: Any, now: float) -> dict[str, Any]:
    """``published_at`` moves on every transition into "published" and is kept as "last published" after."""
    if state is MISSING:
        return {}
    out: dict[str, Any] = {"state": state}
    if state == "published" and (row is None or row["state"] != "published"):
        out["published_at"] = now
    return out


def _insert(api: GrooveHelpdeskApi, table: str, values: dict[str, Any]) -> None:
    keys = list(values)
    api.ctx.store.execute(
        f"INSERT INTO {table} ({', '.join(keys)}) VALUES ({', '.join('?' * len(keys))})", [values[k] for k in keys]
    )


def _update(api: GrooveHelpdeskApi, table: str, tenant: int, row_id: str, values: dict[str, Any]) -> None:
    if values:
        api.ctx.store.execute(
            f"UPDATE {table} SET {', '.join(f'{k} = ?' for k in values)} WHERE tenant_id = ? AND id = ?",
            [*values.values(), tenant, row_id],
        )


# -- knowledge bases -------------------------------------------------------------------------------
KB_DEFAULT_SETTINGS: dict[str, Any] = {
    "enabled": True,
    "password_enabled": False,
    "password": None,
    "ip_addresses_enabled": False,
    "ip_addresses": [],
    "redirect_legacy": False,
    "theme_id": THEME_IDS[0],
    "ratings_enabled": True,
    "ratings_type": "emoji",
    "primary_color": "#2f80ed",
    "logo_url": None,
    "favicon_url": None,
    "branding_disabled": False,
    "custom_css": None,
    "custom_scripts_enabled": False,
    "ga_code": None,
    "ga_anonymized": False,
    "meta_description": None,
    "meta_robots": DEFAULT_ROBOTS,
    "page_title": None,
    "og_title": None,
    "og_description": None,
    "og_image_url": None,
}


def _theme(_kind: str, _key: str, value: Any) -> Checked:
    ref = optional_id(value)
    if ref in THEME_IDS:
        return ref, None
    return None, f"must be one of the theme ids from GET /kb/themes ({', '.join(THEME_IDS)})"


def validate_kb_settings(current: dict[str, Any], body: dict[str, Any], *, strict: bool) -> dict[str, Any]:
    """Normalised setting changes. ``strict`` (the settings endpoint) refuses unknown keys by name;
    the knowledge-base endpoints pass only the keys that are settings, so nothing is reported twice."""
    problems = Problems()
    changes, problems.items = check_settings(KNOWLEDGE_BASE, body, strict=strict, reference=_theme)
    merged = {**current, **changes}
    if merged["password_enabled"] and not merged.get("password"):
        problems.add("password", "can't be blank when password_enabled is true")
    if merged["ip_addresses_enabled"] and not merged.get("ip_addresses"):
        problems.add("ip_addresses", "can't be empty when ip_addresses_enabled is true")
    problems.raise_if_any()
    return changes


def _collect(problems: Problems, current: dict[str, Any], body: dict[str, Any], *, strict: bool) -> dict[str, Any]:
    """Settings changes, with their problems added to the caller's so one 422 names everything."""
    try:
        return validate_kb_settings(current, body, strict=strict)
    except Invalid as exc:
        problems.items.extend(exc.problems)
        return {}


def _kb_settings(row: sqlite3.Row) -> dict[str, Any]:
    return {**KB_DEFAULT_SETTINGS, **json.loads(row["settings"])}


def _site_urls(row: sqlite3.Row) -> tuple[str, str]:
    subdomain_url = f"https://{row['subdomain']}.{KB_HOST}"
    return (f"https://{row['custom_domain']}" if row["custom_domain"] else subdomain_url), subdomain_url


def site_url_of(api: GrooveHelpdeskApi, tenant: int, kb_id: str) -> str | None:
    row = api.ctx.store.one(KB_BY_ID, (tenant, kb_id))
    return None if row is None else _site_urls(row)[0]


def render_kb(request: Request, api: GrooveHelpdeskApi, row: sqlite3.Row) -> dict[str, Any]:
    site_url, subdomain_url = _site_urls(row)
    return {
        "id": row["id"],
        "title": row["title"],
        "name": row["title"],
        "subdomain": row["subdomain"],
        "custom_domain": row["custom_domain"],
        "language": row["language"],
        "primary": bool(row["is_primary"]),
        "site_url": site_url,
        "subdomain_url": subdomain_url,
        "created_at": api.iso(row["created_at"]),
        "updated_at": api.iso(row["updated_at"]),
        "href": common.href(request, "kb", row["id"]),
        "links": {
            rel: common.link(common.href(request, "kb", row["id"], rel))
            for rel in ("categories", "articles", "settings")
        },
    }


def _load_kb(api: GrooveHelpdeskApi, tenant: int, kb_id: str) -> sqlite3.Row:
    return common.one_or_404(api, "Knowledge base", KB_BY_ID, tenant, kb_id)


def _kb_body(body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(knowledge-base fields, settings) from one payload: settings may sit at the top or under "settings"."""
    body = unwrap(body, "knowledge_base")
    nested = body.get("settings")
    settings = {k: v for k, v in body.items() if k in KNOWLEDGE_BASE.kinds}
    if isinstance(nested, dict):
        settings.update(nested)
    return body, settings


def _subdomain_taken(api: GrooveHelpdeskApi, tenant: int, subdomain: str, except_id: str = "") -> bool:
    return (
        api.ctx.store.one(
            "SELECT 1 FROM gh_knowledge_bases WHERE tenant_id = ? AND subdomain = ? AND id != ?",
            (tenant, subdomain, except_id),
        )
        is not None
    )


def _kb_fields(
    api: GrooveHelpdeskApi, tenant: int, problems: Problems, body: dict[str, Any], *, creating: bool, kb_id: str = ""
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "settings" in body and not isinstance(body["settings"], dict):
        problems.add("settings", "must be an object of knowledge base settings")
    key = "title" if "title" in body or "name" not in body else "name"
    title = _title(problems, body, key, required=creating)
    if title is not MISSING:
        out["title"] = title
    subdomain = _text(problems, body, "subdomain", max_len=63)
    value = subdomain.strip().lower() if isinstance(subdomain, str) else ""
    if value and not SUBDOMAIN.match(value):
        problems.add("subdomain", SUBDOMAIN_MESSAGE)
    elif value and _subdomain_taken(api, tenant, value, kb_id):
        problems.add("subdomain", "has already been taken")
    elif value:
        out["subdomain"] = value
    domain = _text(problems, body, "custom_domain", max_len=253)
    if domain is None or domain == "":
        out["custom_domain"] = None
    elif isinstance(domain, str):
        if HOSTNAME.match(domain.strip().lower()):
            out["custom_domain"] = domain.strip().lower()
        else:
            problems.add("custom_domain", HOSTNAME_MESSAGE)
    language = _text(problems, body, "language", max_len=35)
    if isinstance(language, str) and LANGUAGE.match(language.strip()):
        out["language"] = language.strip()
    elif language is not MISSING:
        problems.add("language", LANGUAGE_MESSAGE)
    return out


def _free_subdomain(api: GrooveHelpdeskApi, tenant: int, title: str) -> str:
    base = (slugify(title)[:56].strip("-") or "help").ljust(3, "0")
    subdomain, n = base, 1
    while _subdomain_taken(api, tenant, subdomain):
        n += 1
        subdomain = f"{base}-{n}"
    return subdomain


async def list_kbs(request: Request) -> Response:
    api, tenant = common.api_of(request), common.tenant_id(request)
    rows = api.ctx.store.all("SELECT * FROM gh_knowledge_bases WHERE tenant_id = ? ORDER BY rowid", (tenant,))
    return JSONResponse({"knowledge_bases": [render_kb(request, api, r) for r in rows]})


async def list_themes(request: Request) -> Response:
    return JSONResponse({"themes": [dict(t) for t in THEMES]})


async def create_kb(request: Request) -> Response:
    api, tenant = common.api_of(request), common.tenant_id(request)
    body, settings_in = _kb_body(await common.params(request))
    store = api.ctx.store
    with store.tx():
        problems = Problems()
        fields = _kb_fields(api, tenant, problems, body, creating=True)
        settings = _collect(problems, KB_DEFAULT_SETTINGS, settings_in, strict="settings" in body)
        problems.raise_if_any()
        kb_id = api.new_id(tenant, "knowledge_base")
        now = api.now()
        is_primary = store.one("SELECT 1 FROM gh_knowledge_bases WHERE tenant_id = ?", (tenant,)) is None
        _insert(
            api,
            "gh_knowledge_bases",
            {
                "tenant_id": tenant,
                "id": kb_id,
                "title": fields["title"],
                "subdomain": fields.get("subdomain") or _free_subdomain(api, tenant, fields["title"]),
                "custom_domain": fields.get("custom_domain"),
                "language": fields.get("language", "en"),
                "is_primary": int(is_primary),
                "settings": json.dumps(settings),
                "created_at": now,
                "updated_at": now,
            },
        )
        out = {"knowledge_base": render_kb(request, api, _load_kb(api, tenant, kb_id))}
    return common.created(out, common.href(request, "kb", kb_id))


async def get_kb(request: Request) -> Response:
    api, tenant = common.api_of(request), common.tenant_id(request)
    row = _load_kb(api, tenant, request.path_params["kb_id"])
    return JSONResponse({"knowledge_base": render_kb(request, api, row)})


async def update_kb(request: Request) -> Response:
    api, tenant = common.api_of(request), common.tenant_id(request)
    kb_id = request.path_params["kb_id"]
    body, settings_in = _kb_body(await common.params(request))
    with api.ctx.store.tx():
        row = _load_kb(api, tenant, kb_id)
        problems = Problems()
        fields = _kb_fields(api, tenant, problems, body, creating=False, kb_id=kb_id)
        settings = _kb_settings(row)
        changes = _collect(problems, settings, settings_in, strict="settings" in body)
        problems.raise_if_any()
        if fields or changes:
            fields["settings"] = json.dumps({**settings, **changes})
            fields["updated_at"] = api.now()
            _update(api, "gh_knowledge_bases", tenant, kb_id, fields)
        out = {"knowledge_base": render_kb(request, api, _load_kb(api, tenant, kb_id))}
    return JSONResponse(out)


async def get_kb_settings(request: Request) -> Response:
    api, tenant = common.api_of(request), common.tenant_id(request)
    return JSONResponse({"settings": _kb_settings(_load_kb(api, tenant, request.path_params["kb_id"]))})


async def update_kb_settings(request: Request) -> Response:
    api, tenant = common.api_of(request), common.tenant_id(request)
    kb_id = request.path_params["kb_id"]
    body = unwrap(await common.params(request), "settings")
    with api.ctx.store.tx():
        settings = _kb_settings(_load_kb(api, tenant, kb_id))
        changes = validate_kb_settings(settings, body, strict=True)
        if changes:
            settings.update(changes)
            _update(
                api, "gh_knowledge_bases", tenant, kb_id, {"settings": json.dumps(settings), "updated_at": api.now()}
            )
    return JSONResponse({"settings": settings})


# -- categories ------------------------------------------------------------------------------------
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


def _content_fields(api: GrooveHelpdeskApi, row: sqlite3.Row) -> dict[str, Any]:
    """The page/SEO fields categories and articles share."""
    return {
        "description": row["description"],
        "featured": bool(row["featured"]),
        "knowledge_base_id": row["kb_id"],
        **{key: row[key] for key in SEO_FIELDS},
        "position": row["position"],
        "published_at": api.iso(row["published_at"]),
    }


def render_category(api: GrooveHelpdeskApi, row: sqlite3.Row, article_ids: list[str]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "articles_count": len(article_ids),
        "article_ids": article_ids,
        "author_id": row["author_id"],
        "cover_image_url": row["cover_image_url"],
        "created_at": api.iso(row["created_at"]),
        **_content_fields(api, row),
        "slug": row["slug"],
        "state": row["state"],
        "title": row["title"],
        "updated_at": api.iso(row["updated_at"]),
    }


def _render_categories(api: GrooveHelpdeskApi, tenant: int, rows: list[sqlite3.Row]) -> list[dict[str, Any]]:
    members = _category_articles(api, tenant, [r["id"] for r in rows])
    return [render_category(api, r, members[r["id"]]) for r in rows]


def _load_category(api: GrooveHelpdeskApi, tenant: int, kb_id: str, category_id: str) -> sqlite3.Row:
    return common.one_or_404(
        api,
        "Category",
        "SELECT * FROM gh_kb_categories WHERE tenant_id = ? AND kb_id = ? AND id = ?",
        tenant,
        kb_id,
        category_id,
    )


def _one_category(api: GrooveHelpdeskApi, tenant: int, kb_id: str, category_id: str) -> dict[str, Any]:
    return {"category": _render_categories(api, tenant, [_load_category(api, tenant, kb_id, category_id)])[0]}


def _existing_articles(
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


def _next_position(api: GrooveHelpdeskApi, table: str, tenant: int, kb_id: str) -> int:
    return (
        int(
            api.ctx.store.scalar(
                f"SELECT COALESCE(MAX(position), 0) FROM {table} WHERE tenant_id = ? AND kb_id = ?", (tenant, kb_id)
            )
        )
        + 1
    )


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


async def list_categories(request: Request) -> Response:
    return await _category_query(request, keyword_required=False)


async def search_categories(request: Request) -> Response:
    return await _category_query(request, keyword_required=True)


def _keyword_and_state(request: Request, keyword_required: bool) -> tuple[str, Any]:
    """A category/article list or search's ``keyword`` and ``state`` filters (state MISSING if not given)."""
    keyword = (request.query_params.get("keyword") or "").strip()
    problems = Problems()
    if keyword_required and not keyword:
        problems.add("keyword", "can't be blank (use * for all)")
    state = _state(problems, dict(request.query_params))
    problems.raise_if_any()
    return keyword, state


async def _category_query(request: Request, *, keyword_required: bool) -> Response:
    api, tenant = common.api_of(request), common.tenant_id(request)
    kb_id = request.path_params["kb_id"]
    _load_kb(api, tenant, kb_id)
    page, per_page = common.page_window(request)
    query = request.query_params
    keyword, state = _keyword_and_state(request, keyword_required)
    sql, args = "SELECT * FROM gh_kb_categories WHERE tenant_id = ? AND kb_id = ?", [tenant, kb_id]
    if state is not MISSING:
        sql, args = sql + " AND state = ?", [*args, state]
    if query.get("author_id"):
        sql, args = sql + " AND author_id = ?", [*args, query["author_id"]]
    rows = api.ctx.store.all(sql + " ORDER BY position, rowid", args)
    if keyword and keyword != "*":
        terms = keyword.lower().split()
        rows = [r for r in rows if all(t in f"{r['title']} {r['description'] or ''}".lower() for t in terms)]
    window = rows[(page - 1) * per_page : page * per_page]
    return JSONResponse(
        {
            "categories": _render_categories(api, tenant, window),
            "meta": common.pagination(request, page, per_page, len(rows)),
        }
    )


def _category_input(
    api: GrooveHelpdeskApi, tenant: int, problems: Problems, kb_id: str, body: dict[str, Any], row: sqlite3.Row | None
) -> tuple[dict[str, Any], list[str] | None]:
    values = _document_fields(api, tenant, problems, body)
    title = _title(problems, body, "title", required=row is None)
    if title is not MISSING:
        values["title"] = title
    slug = _resolve_slug(
        api,
        tenant,
        problems,
        "gh_kb_categories",
        kb_id,
        body,
        values.get("title") if row is None else None,
        row["id"] if row else "",
    )
    if slug is not None:
        values["slug"] = slug
    cover = _url(problems, body, "cover_image_url")
    if cover is not MISSING:
        values["cover_image_url"] = cover
    state = _state(problems, body)
    article_ids = _existing_articles(
        api, tenant, problems, kb_id, "article_ids", _id_list(problems, body, "article_ids")
    )
    return {**values, **_publish_columns(row, state, api.now())}, article_ids


async def create_category(request: Request) -> Response:
    api, tenant = common.api_of(request), common.tenant_id(request)
    kb_id = request.path_params["kb_id"]
    body = unwrap(await common.params(request), "category")
    with api.ctx.store.tx():
        _load_kb(api, tenant, kb_id)
        problems = Problems()
        values, article_ids = _category_input(api, tenant, problems, kb_id, body, None)
        problems.raise_if_any()
        category_id = api.new_id(tenant, "kb_category")
        now = api.now()
        values.setdefault("author_id", default_author(api, tenant))
        values.setdefault("state", "draft")
        _insert(
            api,
            "gh_kb_categories",
            {
                **values,
                "tenant_id": tenant,
                "id": category_id,
                "kb_id": kb_id,
                "position": _next_position(api, "gh_kb_categories", tenant, kb_id),
                "created_at": now,
                "updated_at": now,
            },
        )
        if article_ids:
            _assign_articles(api, tenant, kb_id, category_id, article_ids, now)
        out = _one_category(api, tenant, kb_id, category_id)
    return common.created(out, common.href(request, "kb", kb_id, "categories", category_id))


async def get_category(request: Request) -> Response:
    api, tenant = common.api_of(request), common.tenant_id(request)
    kb_id = request.path_params["kb_id"]
    _load_kb(api, tenant, kb_id)
    return JSONResponse(_one_category(api, tenant, kb_id, request.path_params["category_id"]))


async def update_category(request: Request) -> Response:
    api, tenant = common.api_of(request), common.tenant_id(request)
    kb_id, category_id = request.path_params["kb_id"], request.path_params["category_id"]
    body = unwrap(await common.params(request), "category")
    with api.ctx.store.tx():
        _load_kb(api, tenant, kb_id)
        row = _load_category(api, tenant, kb_id, category_id)
        problems = Problems()
        values, article_ids = _category_input(api, tenant, problems, kb_id, body, row)
        problems.raise_if_any()
        now = api.now()
        if values or article_ids is not None:
            _update(api, "gh_kb_categories", tenant, category_id, {**values, "updated_at": now})
        if article_ids is not None:
            _assign_articles(api, tenant, kb_id, category_id, article_ids, now)
        out = _one_category(api, tenant, kb_id, category_id)
    return JSONResponse(out)


async def delete_category(request: Request) -> Response:
    """200 with the deleted category (as groups do); its articles stay, uncategorised."""
    api, tenant = common.api_of(request), common.tenant_id(request)
    kb_id, category_id = request.path_params["kb_id"], request.path_params["category_id"]
    with api.ctx.store.tx():
        _load_kb(api, tenant, kb_id)
        out = _one_category(api, tenant, kb_id, category_id)
        _assign_articles(api, tenant, kb_id, category_id, [], api.now())
        api.ctx.store.execute("DELETE FROM gh_kb_categories WHERE tenant_id = ? AND id = ?", (tenant, category_id))
    return JSONResponse(out)


# -- articles --------------------------------------------------------------------------------------
def render_article(api: GrooveHelpdeskApi, row: sqlite3.Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "author_id": row["author_id"],
        "body": row["body"],
        "category_id": row["category_id"],
        "created_at": api.iso(row["created_at"]),
        "deleted_at": api.iso(row["deleted_at"]),
        **_content_fields(api, row),
        "ratings": {},
        "related_ids": json.loads(row["related_ids"]),
        "slug": row["slug"],
        "state": row["state"],
        "tags": json.loads(row["tags"]),
        "title": row["title"],
        "updated_at": api.iso(row["updated_at"]),
    }


def _load_article(api: GrooveHelpdeskApi, tenant: int, kb_id: str, article_id: str) -> sqlite3.Row:
    return common.one_or_404(
        api,
        "Article",
        "SELECT * FROM gh_kb_articles WHERE tenant_id = ? AND kb_id = ? AND id = ? AND deleted_at IS NULL",
        tenant,
        kb_id,
        article_id,
    )


def _article_input(
    api: GrooveHelpdeskApi, tenant: int, problems: Problems, kb_id: str, body: dict[str, Any], row: sqlite3.Row | None
) -> dict[str, Any]:
    values = _document_fields(api, tenant, problems, body)
    title = _title(problems, body, "title", required=row is None)
    if title is not MISSING:
        values["title"] = title
    slug = _resolve_slug(
        api,
        tenant,
        problems,
        "gh_kb_articles",
        kb_id,
        body,
        values.get("title") if row is None else None,
        row["id"] if row else "",
    )
    if slug is not None:
        values["slug"] = slug
    content = _text(problems, body, "body", max_len=1_000_000)
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
    tags = _tags(problems, body)
    if tags is not None:
        values["tags"] = json.dumps(tags)
    related = _existing_articles(
        api,
        tenant,
        problems,
        kb_id,
        "related_ids",
        _id_list(problems, body, "related_ids"),
        except_id=row["id"] if row else "",
    )
    if related is not None:
        values["related_ids"] = json.dumps(related)
    return {**values, **_publish_columns(row, _state(problems, body), api.now())}


async def _article_query(request: Request, *, keyword_required: bool) -> Response:
    api, tenant = common.api_of(request), common.tenant_id(request)
    kb_id = request.path_params["kb_id"]
    _load_kb(api, tenant, kb_id)
    page, per_page = common.page_window(request)
    query = request.query_params
    keyword, state = _keyword_and_state(request, keyword_required)
    sql = "SELECT * FROM gh_kb_articles WHERE tenant_id = ? AND kb_id = ? AND deleted_at IS NULL"
    args: list[Any] = [tenant, kb_id]
    for column, value in (
        ("state", state),
        ("category_id", query.get("category_id", MISSING)),
        ("author_id", query.get("author_id", MISSING)),
    ):
        if value is not MISSING and value != "":
            sql, args = sql + f" AND {column} = ?", [*args, value]
    rows = api.ctx.store.all(sql + " ORDER BY position, rowid", args)
    if keyword and keyword != "*":
        terms = keyword.lower().split()
        rows = [r for r in rows if all(t in _searchable(r) for t in terms)]
    window = rows[(page - 1) * per_page : page * per_page]
    return JSONResponse(
        {
            "articles": [render_article(api, r) for r in window],
            "meta": common.pagination(request, page, per_page, len(rows)),
        }
    )


def _searchable(row: sqlite3.Row) -> str:
    """Title plus the body's visible text: markup must not match a search for "div" or "href"."""
    text = html.unescape(_TAG.sub(" ", row["body"] or ""))
    return f"{row['title']} {text}".lower()


async def list_articles(request: Request) -> Response:
    return await _article_query(request, keyword_required=False)


async def search_articles(request: Request) -> Response:
    return await _article_query(request, keyword_required=True)


async def create_article(request: Request) -> Response:
    api, tenant = common.api_of(request), common.tenant_id(request)
    kb_id = request.path_params["kb_id"]
    body = unwrap(await common.params(request), "article")
    with api.ctx.store.tx():
        _load_kb(api, tenant, kb_id)
        problems = Problems()
        values = _article_input(api, tenant, problems, kb_id, body, None)
        problems.raise_if_any()
        article_id = api.new_id(tenant, "kb_article")
        now = api.now()
        values.setdefault("author_id", default_author(api, tenant))
        values.setdefault("state", "draft")
        _insert(
            api,
            "gh_kb_articles",
            {
                **values,
                "tenant_id": tenant,
                "id": article_id,
                "kb_id": kb_id,
                "position": _next_position(api, "gh_kb_articles", tenant, kb_id),
                "created_at": now,
                "updated_at": now,
            },
        )
        out = {"article": render_article(api, _load_article(api, tenant, kb_id, article_id))}
    return common.created(out, common.href(request, "kb", kb_id, "articles", article_id))


async def get_article(request: Request) -> Response:
    api, tenant = common.api_of(request), common.tenant_id(request)
    kb_id = request.path_params["kb_id"]
    _load_kb(api, tenant, kb_id)
    return JSONResponse(
        {"article": render_article(api, _load_article(api, tenant, kb_id, request.path_params["article_id"]))}
    )


async def update_article(request: Request) -> Response:
    api, tenant = common.api_of(request), common.tenant_id(request)
    kb_id, article_id = request.path_params["kb_id"], request.path_params["article_id"]
    body = unwrap(await common.params(request), "article")
    with api.ctx.store.tx():
        _load_kb(api, tenant, kb_id)
        row = _load_article(api, tenant, kb_id, article_id)
        problems = Problems()
        values = _article_input(api, tenant, problems, kb_id, body, row)
        problems.raise_if_any()
        if values:
            _update(api, "gh_kb_articles", tenant, article_id, {**values, "updated_at": api.now()})
        out = {"article": render_article(api, _load_article(api, tenant, kb_id, article_id))}
    return JSONResponse(out)


async def delete_article(request: Request) -> Response:
    """Soft delete, as the documented ``deleted_at`` field implies: 200 with the article, then 404."""
    api, tenant = common.api_of(request), common.tenant_id(request)
    kb_id, article_id = request.path_params["kb_id"], request.path_params["article_id"]
    with api.ctx.store.tx():
        _load_kb(api, tenant, kb_id)
        _load_article(api, tenant, kb_id, article_id)
        now = api.now()
        _update(api, "gh_kb_articles", tenant, article_id, {"deleted_at": now, "updated_at": now})
        row = api.ctx.store.one("SELECT * FROM gh_kb_articles WHERE tenant_id = ? AND id = ?", (tenant, article_id))
        assert row is not None
    return JSONResponse({"article": render_article(api, row)})


def routes() -> list[BaseRoute]:
    return [
        Route("/kb", list_kbs, methods=["GET"]),
        Route("/kb", create_kb, methods=["POST"]),
        Route("/kb/themes", list_themes, methods=["GET"]),
        Route("/kb/{kb_id}", get_kb, methods=["GET"]),
        Route("/kb/{kb_id}", update_kb, methods=["PUT", "PATCH"]),
        Route("/kb/{kb_id}/settings", get_kb_settings, methods=["GET"]),
        Route("/kb/{kb_id}/settings", update_kb_settings, methods=["PUT", "PATCH"]),
        Route("/kb/{kb_id}/categories", list_categories, methods=["GET"]),
        Route("/kb/{kb_id}/categories", create_category, methods=["POST"]),
        Route("/kb/{kb_id}/categories/search", search_categories, methods=["GET"]),
        Route("/kb/{kb_id}/categories/{category_id}", get_category, methods=["GET"]),
        Route("/kb/{kb_id}/categories/{category_id}", update_category, methods=["PUT", "PATCH"]),
        Route("/kb/{kb_id}/categories/{category_id}", delete_category, methods=["DELETE"]),
        Route("/kb/{kb_id}/articles", list_articles, methods=["GET"]),
        Route("/kb/{kb_id}/articles", create_article, methods=["POST"]),
        Route("/kb/{kb_id}/articles/search", search_articles, methods=["GET"]),
        Route("/kb/{kb_id}/articles/{article_id}", get_article, methods=["GET"]),
        Route("/kb/{kb_id}/articles/{article_id}", update_article, methods=["PUT", "PATCH"]),
        Route("/kb/{kb_id}/articles/{article_id}", delete_article, methods=["DELETE"]),
    ]


# -- seeding ---------------------------------------------------------------------------------------
KB_TITLES = ("Help Center", "Developer Docs", "Partner Portal", "Internal Playbook", "Status & Releases")
CATEGORY_TITLES = (
    "Getting started",
    "Account & billing",
    "Integrations",
    "Troubleshooting",
    "Security",
    "Reporting",
    "Mobile apps",
    "API",
)
ARTICLE_TOPICS = (
    "resetting your password",
    "inviting teammates",
    "changing your plan",
    "exporting data",
    "connecting Slack",
    "setting up single sign-on",
    "understanding invoices",
    "using keyboard shortcuts",
    "configuring email forwarding",
    "creating saved replies",
    "managing notifications",
    "importing contacts",
    "two-factor authentication",
    "closing your account",
)
ARTICLE_TAGS = ("billing", "setup", "security", "account", "integrations", "email", "faq", "admin", "mobile")
SENTENCES = (
    "Follow the steps below; it takes about two minutes.",
    "Only account admins can change this setting.",
    "If anything looks wrong afterwards, contact support and mention this article.",
    "Changes apply to every teammate straight away.",
    "You can undo this at any time from the same screen.",
)


def seed(api: GrooveHelpdeskApi, tenant: Tenant, rng: random.Random, counts: dict[str, int]) -> None:
    n_kbs = max(0, int(counts.get("knowledge_bases", 0)))
    if n_kbs == 0:
        return
    n_categories = max(0, int(counts.get("categories", 0)))
    n_articles = max(0, int(counts.get("articles", 0)))
    store = api.ctx.store
    agents = [r["id"] for r in store.all("SELECT id FROM gh_agents WHERE tenant_id = ? ORDER BY rowid", (tenant.id,))]

    def author() -> str | None:
        return rng.choice(agents) if agents else None

    kb_first = api.reserve(tenant.id, "id:knowledge_base", n_kbs, start=4_000_000_001)
    kb_rows: list[tuple[Any, ...]] = []
    kb_created: list[float] = sorted(SEED_EPOCH - rng.uniform(300, 365) * 86400 for _ in range(n_kbs))
    for i in range(n_kbs):
        title = KB_TITLES[i % len(KB_TITLES)] + ("" if i < len(KB_TITLES) else f" {i + 1}")
        subdomain = slugify(title)
        color = f"#{rng.randrange(0x1000000):06x}"
        settings = {
            **KB_DEFAULT_SETTINGS,
            "theme_id": rng.choice(THEME_IDS),
            "primary_color": color,
            "ratings_type": rng.choice(("emoji", "upvote")),
        }
        kb_rows.append(
            (
                tenant.id,
                str(kb_first + i),
                title,
                subdomain,
                None,
                "en",
                int(i == 0),
                json.dumps(settings),
                kb_created[i],
                kb_created[i] + rng.uniform(0, 30) * 86400,
            )
        )
    store.executemany(
        "INSERT INTO gh_knowledge_bases (tenant_id, id, title, subdomain, custom_domain, "
        "language, is_primary, settings, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        kb_rows,
    )

    cat_first = api.reserve(tenant.id, "id:kb_category", n_categories, start=4_000_000_001)
    categories: dict[str, list[str]] = {str(kb_first + k): [] for k in range(n_kbs)}
    cat_rows: list[tuple[Any, ...]] = []
    for i in range(n_categories):
        kb_index = i % n_kbs
        kb_id, category_id = str(kb_first + kb_index), str(cat_first + i)
        position = len(categories[kb_id]) + 1
        title = CATEGORY_TITLES[(i // n_kbs) % len(CATEGORY_TITLES)]
        if i // n_kbs >= len(CATEGORY_TITLES):
            title = f"{title} {i // n_kbs // len(CATEGORY_TITLES) + 1}"
        created = kb_created[kb_index] + rng.uniform(1, 60) * 86400
        published = rng.random() < 0.85
        cat_rows.append(
            (
                tenant.id,
                category_id,
                kb_id,
                title,
                slugify(title),
                f"Articles about {title.lower()}",
                author(),
                None,
                int(rng.random() < 0.3),
                position,
                "published" if published else "draft",
                created + 3600 if published else None,
                created,
                created + rng.uniform(0, 30) * 86400,
            )
        )
        categories[kb_id].append(category_id)
    store.executemany(
        "INSERT INTO gh_kb_categories (tenant_id, id, kb_id, title, slug, description, "
        "author_id, cover_image_url, featured, position, state, published_at, created_at, "
        "updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        cat_rows,
    )

    art_first = api.reserve(tenant.id, "id:kb_article", n_articles, start=4_000_000_001)
    per_kb: dict[str, list[str]] = {kb: [] for kb in categories}
    art_rows: list[tuple[Any, ...]] = []
    for i in range(n_articles):
        kb_index = i % n_kbs
        kb_id, article_id = str(kb_first + kb_index), str(art_first + i)
        n_in_kb = len(per_kb[kb_id])
        topic = ARTICLE_TOPICS[n_in_kb % len(ARTICLE_TOPICS)]
        title = topic[0].upper() + topic[1:]
        if n_in_kb >= len(ARTICLE_TOPICS):
            title = f"{title} (part {n_in_kb // len(ARTICLE_TOPICS) + 1})"
        body = "".join(f"<p>{s}</p>" for s in [f"This article explains {topic}.", *rng.sample(SENTENCES, 2)])
        category = rng.choice(categories[kb_id]) if categories[kb_id] and rng.random() < 0.9 else None
        created = kb_created[kb_index] + rng.uniform(2, 300) * 86400
        published = rng.random() < 0.75
        related = [rng.choice(per_kb[kb_id])] if per_kb[kb_id] and rng.random() < 0.3 else []
        art_rows.append(
            (
                tenant.id,
                article_id,
                kb_id,
                category,
                title,
                slugify(title),
                body,
                f"How to handle {topic}",
                author(),
                int(rng.random() < 0.2),
                n_in_kb + 1,
                "published" if published else "draft",
                created + 7200 if published else None,
                json.dumps(rng.sample(ARTICLE_TAGS, rng.randint(0, 3))),
                json.dumps(related),
                created,
                created + rng.uniform(0, 30) * 86400,
            )
        )
        per_kb[kb_id].append(article_id)
    store.executemany(
        "INSERT INTO gh_kb_articles (tenant_id, id, kb_id, category_id, title, slug, body, "
        "description, author_id, featured, position, state, published_at, tags, related_ids, "
        "created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        art_rows,
    )

    primary = store.one(KB_BY_ID, (tenant.id, str(kb_first)))
    assert primary is not None
    widgets.attach_kb(api, tenant.id, primary["id"], _site_urls(primary)[0])


def samples(api: GrooveHelpdeskApi, tenant: Tenant) -> dict[str, Any]:
    store = api.ctx.store
    kbs = [
        r["id"]
        for r in store.all("SELECT id FROM gh_knowledge_bases WHERE tenant_id = ? ORDER BY rowid LIMIT 5", (tenant.id,))
    ]
    categories = [
        r["id"]
        for r in store.all("SELECT id FROM gh_kb_categories WHERE tenant_id = ? ORDER BY rowid LIMIT 5", (tenant.id,))
    ]
    articles = [
        r["id"]
        for r in store.all(
            "SELECT id FROM gh_kb_articles WHERE tenant_id = ? AND deleted_at IS NULL ORDER BY rowid LIMIT 5",
            (tenant.id,),
        )
    ]
    return {
        "knowledge_base_ids": kbs,
        "kb_category_ids": categories,
        "article_ids": articles,
        "kb_theme_ids": list(THEME_IDS),
    }
