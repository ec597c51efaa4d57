"""Groove helpdesk: knowledge bases, their settings and themes (``/kb``); composes the KB modules.

Groove's v1 pages for knowledge bases and themes were never recovered, and the category/article pages
stop after create and search. Field names therefore follow the recovered create examples for
categories and articles, and Groove's v2 (GraphQL) ``KnowledgeBase`` object for knowledge bases and
their settings; docs/fidelity.md lists every choice made where all of them are silent.

Categories and articles live in ``kb_categories`` and ``kb_articles`` (one shared child-resource
helper, ``kb_children``), storage in ``kb_store``, seeding in ``kb_seed``; this module is the one
``GrooveHelpdeskApi`` lists.
"""

from __future__ import annotations

import json
import sqlite3
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from ..contract import unwrap
from ..contract.fields import HOSTNAME, HOSTNAME_MESSAGE, LANGUAGE, LANGUAGE_MESSAGE, SUBDOMAIN, SUBDOMAIN_MESSAGE
from ..contract.settings import KNOWLEDGE_BASE, Checked, check_settings
from . import common, kb_articles, kb_categories, kb_seed, kb_store
from .common import MISSING, Invalid, Problems, optional_id
from .kb_fields import read_text, read_title, slugify
from .kb_store import KB_DEFAULT_SETTINGS, THEME_IDS, THEMES, insert_row, kb_settings, load_kb, site_urls, update_row

if TYPE_CHECKING:
    from . import GrooveHelpdeskApi

#: The knowledge-base tables (all three live in ``kb_store``), listed once with this module.
DDL = kb_store.DDL
TABLES = kb_store.TABLES


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


def render_kb(request: Request, api: GrooveHelpdeskApi, row: sqlite3.Row) -> dict[str, Any]:
    site_url, subdomain_url = site_urls(row)
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
    title = read_title(problems, body, key, required=creating)
    if title is not MISSING:
        out["title"] = title
    subdomain = read_text(problems, body, "subdomain", max_len=63)
    value = subdomain.strip().lower() if isinstance(subdomain, str) else ""
    if value and not SUBDOMAIN.match(value):
        problems.add("subdomain", SUBDOMAIN_MESSAGE)
    elif value and _subdomain_taken(api, tenant, value, kb_id):
        problems.add("subdomain", "has already been taken")
    elif value:
        out["subdomain"] = value
    domain = read_text(problems, body, "custom_domain", max_len=253)
    if domain is None or domain == "":
        out["custom_domain"] = None
    elif isinstance(domain, str):
        if HOSTNAME.match(domain.strip().lower()):
            out["custom_domain"] = domain.strip().lower()
        else:
            problems.add("custom_domain", HOSTNAME_MESSAGE)
    language = read_text(problems, body, "language", max_len=35)
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
        insert_row(
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
        out = {"knowledge_base": render_kb(request, api, load_kb(api, tenant, kb_id))}
    return common.created(out, common.href(request, "kb", kb_id))


async def get_kb(request: Request) -> Response:
    api, tenant = common.api_of(request), common.tenant_id(request)
    row = load_kb(api, tenant, request.path_params["kb_id"])
    return JSONResponse({"knowledge_base": render_kb(request, api, row)})


async def update_kb(request: Request) -> Response:
    api, tenant = common.api_of(request), common.tenant_id(request)
    kb_id = request.path_params["kb_id"]
    body, settings_in = _kb_body(await common.params(request))
    with api.ctx.store.tx():
        row = load_kb(api, tenant, kb_id)
        problems = Problems()
        fields = _kb_fields(api, tenant, problems, body, creating=False, kb_id=kb_id)
        settings = kb_settings(row)
        changes = _collect(problems, settings, settings_in, strict="settings" in body)
        problems.raise_if_any()
        if fields or changes:
            fields["settings"] = json.dumps({**settings, **changes})
            fields["updated_at"] = api.now()
            update_row(api, "gh_knowledge_bases", tenant, kb_id, fields)
        out = {"knowledge_base": render_kb(request, api, load_kb(api, tenant, kb_id))}
    return JSONResponse(out)


async def get_kb_settings(request: Request) -> Response:
    api, tenant = common.api_of(request), common.tenant_id(request)
    return JSONResponse({"settings": kb_settings(load_kb(api, tenant, request.path_params["kb_id"]))})


async def update_kb_settings(request: Request) -> Response:
    api, tenant = common.api_of(request), common.tenant_id(request)
    kb_id = request.path_params["kb_id"]
    body = unwrap(await common.params(request), "settings")
    with api.ctx.store.tx():
        settings = kb_settings(load_kb(api, tenant, kb_id))
        changes = validate_kb_settings(settings, body, strict=True)
        if changes:
            settings.update(changes)
            update_row(
                api, "gh_knowledge_bases", tenant, kb_id, {"settings": json.dumps(settings), "updated_at": api.now()}
            )
    return JSONResponse({"settings": settings})


def routes() -> list[BaseRoute]:
    return [
        Route("/kb", list_kbs, methods=["GET"]),
        Route("/kb", create_kb, methods=["POST"]),
        Route("/kb/themes", list_themes, methods=["GET"]),
        Route("/kb/{kb_id}", get_kb, methods=["GET"]),
        Route("/kb/{kb_id}", update_kb, methods=["PUT", "PATCH"]),
        Route("/kb/{kb_id}/settings", get_kb_settings, methods=["GET"]),
        Route("/kb/{kb_id}/settings", update_kb_settings, methods=["PUT", "PATCH"]),
        *kb_categories.routes(),
        *kb_articles.routes(),
    ]


seed = kb_seed.seed
samples = kb_seed.samples
