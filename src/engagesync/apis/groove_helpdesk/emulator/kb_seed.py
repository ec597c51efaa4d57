"""Deterministic seeding of knowledge bases, their categories and articles (one random stream)."""

from __future__ import annotations

import json
import random
from typing import TYPE_CHECKING, Any

from . import widgets
from .kb_fields import slugify
from .kb_store import KB_BY_ID, KB_DEFAULT_SETTINGS, THEME_IDS, site_urls
from .seed import SEED_EPOCH

if TYPE_CHECKING:
    from ....sandbox.api import Tenant
    from . import GrooveHelpdeskApi

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
    widgets.attach_kb(api, tenant.id, primary["id"], site_urls(primary)[0])


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
