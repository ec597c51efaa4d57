"""Groove helpdesk: embeddable widgets, their settings and the public (no-auth) widget view.

A widget keeps two copies of its settings, as Groove's docs show: the working ``settings`` an agent
edits, and the ``published_settings`` the embedded widget actually loads. Publishing copies one onto
the other, so a connector can stage changes and go live in a separate call, or in the same one.
Both copies are flat objects with dotted keys (``"kb.enabled"``), exactly as the documented examples.
"""

from __future__ import annotations

import hashlib
import json
import random
import uuid as uuidlib
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from ..contract import strict_bool, unwrap
from ..contract.fields import NAME_MAX
from ..contract.settings import KB, MAILBOX, WIDGET, Checked, check_settings, color_rgb, flatten
from . import common, people
from .common import MISSING, Problems, optional_id
from .kb_store import site_url_of
from .seed import SEED_EPOCH

if TYPE_CHECKING:
    import sqlite3

    from ....sandbox.api import Tenant
    from . import GrooveHelpdeskApi

DDL = """
CREATE TABLE IF NOT EXISTS gh_widgets (
    tenant_id INTEGER NOT NULL, id TEXT NOT NULL, uuid TEXT NOT NULL, name TEXT NOT NULL,
    enabled INTEGER NOT NULL DEFAULT 1, published INTEGER NOT NULL DEFAULT 0,
    settings TEXT NOT NULL DEFAULT '{}', published_settings TEXT NOT NULL DEFAULT '{}',
    created_at REAL NOT NULL, updated_at REAL NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX IF NOT EXISTS gh_widgets_uuid ON gh_widgets (uuid);
"""
TABLES: tuple[str, ...] = ("gh_widgets",)

#: A new widget's settings: the keys and values of the documented GET-settings example.
DEFAULT_SETTINGS: dict[str, Any] = {
    "branding_disabled": False,
    "contact.name_field_enabled": True,
    "contact.subject_field_enabled": True,
    "enabled": True,
    "icon_display": "icon",
    "icon_position": "right",
    "icon_style": "outline",
    "icon_text": "Need a hand?",
    "icon": "chat",
    "kb.featured_enabled": True,
    "kb.ratings_count_enabled": True,
    "kb.ratings_enabled": True,
    "kb.ratings_negative_action_enabled": True,
    "kb.ratings_negative_action_kb_enabled": True,
    "kb.ratings_negative_action_contact_enabled": True,
    "widget_style": "user",
    "z_index": "9999",
}


def _reference(api: GrooveHelpdeskApi, tenant: int, kind: str, value: Any) -> Checked:
    """``contact.id`` / ``kb.id``: null clears it; anything else must be one of the account's."""
    ref = optional_id(value)
    if ref is None:
        return None, None
    table, what = {MAILBOX: ("gh_mailboxes", "mailboxes"), KB: ("gh_knowledge_bases", "knowledge bases")}[kind]
    if isinstance(ref, str) and api.ctx.store.one(
        f"SELECT 1 FROM {table} WHERE tenant_id = ? AND id = ?", (tenant, ref)
    ):
        return ref, None
    return None, f"must be the id of one of your {what} (got {value!r})"


def validate_settings(
    api: GrooveHelpdeskApi, tenant: int, current: dict[str, Any], body: dict[str, Any]
) -> dict[str, Any]:
    """Normalised changes for a widget's settings, or 422 naming every bad or unknown key."""
    problems = Problems()
    changes, problems.items = check_settings(
        WIDGET,
        flatten(unwrap(body, "settings"), WIDGET.kinds),
        strict=True,
        reference=lambda kind, _key, value: _reference(api, tenant, kind, value),
    )
    if "primary_color" in changes:
        derived = color_rgb(changes["primary_color"])
        if changes.get("primary_color_rgb", derived) != derived:
            problems.add("primary_color_rgb", "must match primary_color")
        changes["primary_color_rgb"] = derived
    elif "primary_color_rgb" in changes:
        color = current.get("primary_color")
        if not color or color_rgb(color) != changes["primary_color_rgb"]:
            problems.add("primary_color_rgb", "is derived from primary_color; set primary_color instead")
    problems.raise_if_any()
    if changes.get("kb.id") and "kb.url" not in changes:
        changes["kb.url"] = site_url_of(api, tenant, changes["kb.id"])
    return changes


# -- storage and rendering -------------------------------------------------------------------------
def widget_uuid(tenant: Tenant, widget_id: str) -> str:
    """Random-looking, version-4-shaped and reproducible: the same tenant and seed give the same uuids.

    The tenant name is mixed in because the public view looks widgets up across tenants, and two
    tenants may share a seed.
    """
    digest = hashlib.sha256(f"groove-widget:{tenant.name}:{tenant.seed}:{widget_id}".encode()).digest()
    return str(uuidlib.UUID(bytes=digest[:16], version=4))


def account_id(tenant: Tenant) -> str:
    """The public view's ``account_id``: a stable 10-digit id per tenant (there is no accounts table)."""
    digest = hashlib.sha256(f"groove-account:{tenant.name}:{tenant.seed}".encode()).hexdigest()
    return f"{int(digest, 16) % 10**10:010d}"


def company(tenant: Tenant) -> str:
    """The account's company name, read off the domain its agents and mailboxes use (``orbit.example``
    -> ``Orbit``), so the public widget names the same business the rest of the data does."""
    return people.account_domain(tenant).split(".", 1)[0].replace("-", " ").title()


def _settings(row: sqlite3.Row) -> dict[str, Any]:
    settings: dict[str, Any] = json.loads(row["settings"])
    settings["enabled"] = bool(row["enabled"])
    return settings


def render(request: Request, api: GrooveHelpdeskApi, row: sqlite3.Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "created_at": api.iso(row["created_at"]),
        "name": row["name"],
        "published_settings": json.loads(row["published_settings"]),
        "updated_at": api.iso(row["updated_at"]),
        "uuid": row["uuid"],
        "enabled": bool(row["enabled"]),
        "href": common.href(request, "widgets", row["id"]),
    }


def _load(api: GrooveHelpdeskApi, tenant: int, widget_id: str) -> sqlite3.Row:
    return common.one_or_404(
        api, "Widget", "SELECT * FROM gh_widgets WHERE tenant_id = ? AND id = ?", tenant, widget_id
    )


def _tenant(api: GrooveHelpdeskApi, tenant_id: int) -> Tenant:
    tenant = api.ctx.tenant(tenant_id)
    assert tenant is not None
    return tenant


def _write(
    api: GrooveHelpdeskApi,
    row: sqlite3.Row,
    *,
    name: str | None = None,
    enabled: bool | None = None,
    changes: dict[str, Any] | None = None,
    publish: bool | None = None,
) -> None:
    """Apply a change to a widget, keeping ``enabled`` and the two settings copies consistent.

    ``enabled`` is a live switch, not a staged setting: it changes the widget, its working settings
    and (once published) its published settings at once. Any other real change to the working
    settings marks the widget unpublished until it is published again.
    """
    settings = _settings(row)
    published_settings: dict[str, Any] = json.loads(row["published_settings"])
    published = bool(row["published"])
    changes = dict(changes or {})
    if "enabled" in changes:
        enabled = changes.pop("enabled")
    dirty = False
    for key, value in changes.items():
        if settings.get(key, MISSING) != value:
            dirty = True
        settings[key] = value
    live = bool(row["enabled"]) if enabled is None else enabled
    settings["enabled"] = live
    if published_settings:
        published_settings["enabled"] = live
    if publish is True:
        published_settings, published = dict(settings), True
    elif publish is False or dirty:
        published = False
    touched = name is not None or enabled is not None or changes or publish is not None
    api.ctx.store.execute(
        "UPDATE gh_widgets SET name = ?, enabled = ?, published = ?, settings = ?, published_settings = ?, "
        "updated_at = ? WHERE tenant_id = ? AND id = ?",
        (
            row["name"] if name is None else name,
            int(live),
            int(published),
            json.dumps(settings),
            json.dumps(published_settings),
            api.now() if touched else row["updated_at"],
            row["tenant_id"],
            row["id"],
        ),
    )


def _enabled(problems: Problems, body: dict[str, Any]) -> bool | None:
    if "enabled" not in body:
        return None
    flag = strict_bool(body["enabled"])
    if flag is None:
        problems.add("enabled", "must be true or false")
    return flag


# -- handlers --------------------------------------------------------------------------------------
async def list_widgets(request: Request) -> Response:
    api, tenant = common.api_of(request), common.tenant_id(request)
    rows = api.ctx.store.all("SELECT * FROM gh_widgets WHERE tenant_id = ? ORDER BY rowid", (tenant,))
    return JSONResponse({"widgets": [render(request, api, r) for r in rows]})


async def create_widget(request: Request) -> Response:
    api, tenant = common.api_of(request), common.tenant_id(request)
    body = unwrap(await common.params(request), "widget")
    store = api.ctx.store
    with store.tx():
        problems = Problems()
        name = common.name_field(problems, body, required=True, max_len=NAME_MAX)
        enabled = _enabled(problems, body)
        problems.raise_if_any()
        widget_id = api.new_id(tenant, "widget")
        now = api.now()
        live = True if enabled is None else enabled
        settings = {**DEFAULT_SETTINGS, "enabled": live}
        store.execute(
            "INSERT INTO gh_widgets (tenant_id, id, uuid, name, enabled, published, settings, "
            "published_settings, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 0, ?, '{}', ?, ?)",
            (
                tenant,
                widget_id,
                widget_uuid(_tenant(api, tenant), widget_id),
                name,
                int(live),
                json.dumps(settings),
                now,
                now,
            ),
        )
        out = {"widget": render(request, api, _load(api, tenant, widget_id))}
    return common.created(out, common.href(request, "widgets", widget_id))


async def get_widget(request: Request) -> Response:
    api, tenant = common.api_of(request), common.tenant_id(request)
    row = _load(api, tenant, request.path_params["widget_id"])
    return JSONResponse({"widget": render(request, api, row)})


async def update_widget(request: Request) -> Response:
    """Name and the live on/off switch; other keys are ignored, as Rails' strong parameters would."""
    api, tenant = common.api_of(request), common.tenant_id(request)
    widget_id = request.path_params["widget_id"]
    body = unwrap(await common.params(request), "widget")
    with api.ctx.store.tx():
        row = _load(api, tenant, widget_id)
        problems = Problems()
        name = common.name_field(problems, body, required=False, max_len=NAME_MAX)
        enabled = _enabled(problems, body)
        problems.raise_if_any()
        _write(api, row, name=name, enabled=enabled)
        out = {"widget": render(request, api, _load(api, tenant, widget_id))}
    return JSONResponse(out)


def _settings_body(row: sqlite3.Row) -> dict[str, Any]:
    return {"settings": {**_settings(row), "published": bool(row["published"])}}


async def get_settings(request: Request) -> Response:
    api, tenant = common.api_of(request), common.tenant_id(request)
    return JSONResponse(_settings_body(_load(api, tenant, request.path_params["widget_id"])))


async def update_settings(request: Request) -> Response:
    api, tenant = common.api_of(request), common.tenant_id(request)
    widget_id = request.path_params["widget_id"]
    body = await common.params(request)
    with api.ctx.store.tx():
        row = _load(api, tenant, widget_id)
        changes = validate_settings(api, tenant, _settings(row), body)
        publish = changes.pop("published", None)
        _write(api, row, changes=changes, publish=publish)
        out = _settings_body(_load(api, tenant, widget_id))
    return JSONResponse(out)


async def public_widget(request: Request) -> Response:
    """No credential, so no tenant in scope: the uuid alone identifies the widget across tenants."""
    api = common.api_of(request)
    uuid = request.path_params["widget_uuid"].strip().lower()
    row = common.one_or_404(api, "Widget", "SELECT * FROM gh_widgets WHERE uuid = ?", uuid)
    owner = _tenant(api, row["tenant_id"])
    return JSONResponse(
        {
            "widget": {
                "id": row["id"],
                "account_id": account_id(owner),
                "company": company(owner),
                "created_at": api.iso(row["created_at"]),
                "enabled": bool(row["enabled"]),
                "name": row["name"],
                "published_settings": json.loads(row["published_settings"]),
                "updated_at": api.iso(row["updated_at"]),
                "uuid": row["uuid"],
            }
        }
    )


def routes() -> list[BaseRoute]:
    return [
        Route("/widgets", list_widgets, methods=["GET"]),
        Route("/widgets", create_widget, methods=["POST"]),
        Route("/widgets/{widget_id}", get_widget, methods=["GET"]),
        Route("/widgets/{widget_id}", update_widget, methods=["PUT", "PATCH"]),
        Route("/widgets/{widget_id}/settings", get_settings, methods=["GET"]),
        Route("/widgets/{widget_id}/settings", update_settings, methods=["PUT", "PATCH"]),
        Route("/public/widget/{widget_uuid}", public_widget, methods=["GET"]),
        Route("/public/widgets/{widget_uuid}", public_widget, methods=["GET"]),
    ]


# -- seeding ---------------------------------------------------------------------------------------
WIDGET_SUFFIXES = ("Support", "Help Center", "Pricing page", "App dashboard", "Checkout", "Docs site")
ICON_TEXTS = ("Need a hand?", "Help ?", "Questions?", "Chat with us", "Support")


def seed(api: GrooveHelpdeskApi, tenant: Tenant, rng: random.Random, counts: dict[str, int]) -> None:
    n = max(0, int(counts.get("widgets", 0)))
    if n == 0:
        return
    mailboxes = [
        r["id"]
        for r in api.ctx.store.all(
            "SELECT id FROM gh_mailboxes WHERE tenant_id = ? ORDER BY is_primary DESC, rowid", (tenant.id,)
        )
    ]
    first = api.reserve(tenant.id, "id:widget", n, start=4_000_000_001)
    created = sorted(SEED_EPOCH - rng.uniform(60, 365) * 86400 for _ in range(n))
    rows: list[tuple[Any, ...]] = []
    for i in range(n):
        widget_id = str(first + i)
        suffix = WIDGET_SUFFIXES[i % len(WIDGET_SUFFIXES)]
        name = f"{company(tenant)} {suffix}" if i < len(WIDGET_SUFFIXES) else f"{suffix} {i + 1}"
        color = f"#{rng.randrange(0x1000000):06x}"
        settings: dict[str, Any] = {
            **DEFAULT_SETTINGS,
            "icon": rng.choice(("chat", "chats")),
            "icon_display": rng.choice(("icon", "both")),
            "icon_position": rng.choice(("right", "left")),
            "icon_text": rng.choice(ICON_TEXTS),
            "z_index": rng.choice(("100", "9999", "2147483000")),
            "primary_color": color,
            "primary_color_rgb": color_rgb(color),
            "logo_image_url": "",
        }
        if mailboxes:
            settings["contact.enabled"] = True
            settings["contact.id"] = mailboxes[i % len(mailboxes)]
        enabled = i == 0 or rng.random() < 0.8
        settings["enabled"] = enabled
        published = i == 0 or rng.random() < 0.5
        updated = created[i] + rng.uniform(0, 45) * 86400
        rows.append(
            (
                tenant.id,
                widget_id,
                widget_uuid(tenant, widget_id),
                name,
                int(enabled),
                int(published),
                json.dumps(settings),
                json.dumps(settings if published else {}),
                created[i],
                updated,
            )
        )
    api.ctx.store.executemany(
        "INSERT INTO gh_widgets (tenant_id, id, uuid, name, enabled, published, settings, "
        "published_settings, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )


def attach_kb(api: GrooveHelpdeskApi, tenant_id: int, kb_id: str, kb_url: str) -> None:
    """Seeding only: point the first widget at a knowledge base (KBs are seeded after widgets)."""
    row = api.ctx.store.one("SELECT * FROM gh_widgets WHERE tenant_id = ? ORDER BY rowid LIMIT 1", (tenant_id,))
    if row is None:
        return
    link = {"kb.enabled": True, "kb.id": kb_id, "kb.url": kb_url}
    settings = {**json.loads(row["settings"]), **link}
    published = json.loads(row["published_settings"])
    if published:
        published.update(link)
    api.ctx.store.execute(
        "UPDATE gh_widgets SET settings = ?, published_settings = ? WHERE tenant_id = ? AND id = ?",
        (json.dumps(settings), json.dumps(published), tenant_id, row["id"]),
    )


def samples(api: GrooveHelpdeskApi, tenant: Tenant) -> dict[str, Any]:
    rows = api.ctx.store.all("SELECT id, uuid FROM gh_widgets WHERE tenant_id = ? ORDER BY rowid LIMIT 5", (tenant.id,))
    return {"widget_ids": [r["id"] for r in rows], "widget_uuids": [r["uuid"] for r in rows]}
