"""Knowledge-base storage: tables, built-in themes, default settings, site URLs, row helpers.

The bottom of the knowledge-base modules: ``widgets`` reads a knowledge base's site URL from here, so
it never imports the knowledge-base endpoints (which seed a widget's link to the primary KB).
"""

from __future__ import annotations

import json
import sqlite3
from typing import TYPE_CHECKING, Any

from ..contract.settings import DEFAULT_ROBOTS
from . import common

if TYPE_CHECKING:
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

KB_HOST = "groove.help"
KB_BY_ID = "SELECT * FROM gh_knowledge_bases WHERE tenant_id = ? AND id = ?"

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


def kb_settings(row: sqlite3.Row) -> dict[str, Any]:
    return {**KB_DEFAULT_SETTINGS, **json.loads(row["settings"])}


def site_urls(row: sqlite3.Row) -> tuple[str, str]:
    subdomain_url = f"https://{row['subdomain']}.{KB_HOST}"
    return (f"https://{row['custom_domain']}" if row["custom_domain"] else subdomain_url), subdomain_url


def site_url_of(api: GrooveHelpdeskApi, tenant: int, kb_id: str) -> str | None:
    row = api.ctx.store.one(KB_BY_ID, (tenant, kb_id))
    return None if row is None else site_urls(row)[0]


def load_kb(api: GrooveHelpdeskApi, tenant: int, kb_id: str) -> sqlite3.Row:
    return common.one_or_404(api, "Knowledge base", KB_BY_ID, tenant, kb_id)


def insert_row(api: GrooveHelpdeskApi, table: str, values: dict[str, Any]) -> None:
    keys = list(values)
    api.ctx.store.execute(
        f"INSERT INTO {table} ({', '.join(keys)}) VALUES ({', '.join('?' * len(keys))})", [values[k] for k in keys]
    )


def update_row(api: GrooveHelpdeskApi, table: str, tenant: int, row_id: str, values: dict[str, Any]) -> None:
    if values:
        api.ctx.store.execute(
            f"UPDATE {table} SET {', '.join(f'{k} = ?' for k in values)} WHERE tenant_id = ? AND id = ?",
            [*values.values(), tenant, row_id],
        )
