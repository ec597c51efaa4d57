"""Deterministic seeding: same tenant seed, same team, users, contacts and messages.

Timestamps come from a fixed base date, never from the clock, and are distinct milliseconds spread
over the year before it, so seeded windows have a realistic density.
"""

from __future__ import annotations

import json
import random
from typing import TYPE_CHECKING, Any

from .contacts import search_text

if TYPE_CHECKING:
    from ....sandbox.api import Tenant
    from . import GrowthGeniusApi

#: Seeded records fall in the year before this instant (2026-01-01T00:00:00Z), in milliseconds.
SEED_EPOCH_MS = 1_767_225_600_000
YEAR_MS = 365 * 86_400_000

DEFAULT_COUNTS = {"users": 4, "contacts": 120, "messages": 240}

FIRST = (
    "Ada",
    "Alan",
    "Amara",
    "Ben",
    "Carla",
    "Chen",
    "Dana",
    "Elena",
    "Emeka",
    "Felix",
    "Grace",
    "Hana",
    "Hugo",
    "Ivan",
    "Jamal",
    "Julia",
    "Kenji",
    "Lara",
    "Leo",
    "Maya",
    "Nadia",
    "Noah",
    "Omar",
    "Priya",
    "Rosa",
    "Sofia",
    "Tariq",
    "Uma",
    "Vera",
    "Zoe",
)
LAST = (
    "Abe",
    "Baker",
    "Costa",
    "Dubois",
    "Garcia",
    "Gupta",
    "Hall",
    "Jensen",
    "Kim",
    "Lopez",
    "Meyer",
    "Novak",
    "Okafor",
    "Park",
    "Patel",
    "Rossi",
    "Santos",
    "Silva",
    "Smith",
    "Tanaka",
    "Torres",
    "Wang",
    "Weber",
    "Zhang",
)
COMPANIES = (
    ("Northwind Traders", "Northwind", "northwind.example", "Retail"),
    ("Globex Corporation", "Globex", "globex.example", "Manufacturing"),
    ("Initech", "Initech", "initech.example", "Computer Software"),
    ("Umbrella Health", "Umbrella", "umbrella.example", "Hospital & Health Care"),
    ("Hooli", "Hooli", "hooli.example", "Internet"),
    ("Tyrell Labs", "Tyrell", "tyrell.example", "Biotechnology"),
)
TITLES = ("VP Sales", "Head of Growth", "Account Executive", "CTO", "Founder", "Relationship Associate")
CITIES = (
    ("San Francisco", "California", "USA"),
    ("Austin", "Texas", "USA"),
    ("Toronto", "Ontario", "Canada"),
    ("Melbourne", "Victoria", "Australia"),
    ("Berlin", "Berlin", "Germany"),
)
STATUSES = ("Ongoing", "Not contacted", "Replied", "Bounced")
ACCOUNT_STATUSES = ("cold", "warm", "hot")
MESSAGE_TYPES = ("sales_force_message", "email", "linkedin_message")
OPENERS = (
    "You hate prospecting. I love it. Maybe it's a perfect match?",
    "Quick question about your pipeline.",
    "Following up on my last note.",
    "Worth a 15 minute call next week?",
)


def seed_tenant(api: GrowthGeniusApi, tenant: Tenant, counts: dict[str, int]) -> None:
    unknown = sorted(set(counts) - set(DEFAULT_COUNTS))
    if unknown:
        raise ValueError(f"unknown growthgenius count(s): {', '.join(unknown)}; known: {', '.join(DEFAULT_COUNTS)}")
    merged = {**DEFAULT_COUNTS, **counts}
    rng = random.Random(f"growthgenius:{tenant.seed}")
    with api.ctx.store.tx():
        users = _users(api, tenant, rng, max(1, int(merged["users"])))
        contacts = _contacts(api, tenant, rng, max(0, int(merged["contacts"])), users)
        _messages(api, tenant, rng, max(0, int(merged["messages"])), users, contacts)


def _users(api: GrowthGeniusApi, tenant: Tenant, rng: random.Random, n: int) -> list[int]:
    team = api.team_id(tenant.id)
    domain = f"team{team}.growthgenius.example"
    first_id = api.reserve(tenant.id, "user", n, start=1)
    rows = []
    for i in range(n):
        first, last = FIRST[int(rng.random() * len(FIRST))], LAST[int(rng.random() * len(LAST))]
        local = "dev" if i == 0 else f"{first}.{last}{i}".lower()
        roles = ["superadmin", "admin"] if i == 0 else (["admin"] if i == 1 else ["member"])
        # The last of four or more has not enabled integrations: listed nowhere, refused as user_id.
        enabled = 0 if n >= 4 and i == n - 1 else 1
        created = SEED_EPOCH_MS - 2 * YEAR_MS + int(rng.random() * YEAR_MS)
        rows.append(
            (
                tenant.id,
                first_id + i,
                team,
                f"{local}@{domain}",
                f"bcc-{local}@{domain}",
                first,
                last,
                f"reporting-{local}@{domain}",
                json.dumps(roles),
                enabled,
                created,
            )
        )
    api.ctx.store.executemany(
        "INSERT INTO gg_users (tenant_id, id, team_id, email, email_bcc, first_name, last_name, reporting_email,"
        " roles, integrations, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    return [first_id + i for i in range(n) if rows[i][9]]


def _contacts(
    api: GrowthGeniusApi, tenant: Tenant, rng: random.Random, n: int, users: list[int]
) -> list[tuple[int, int]]:
    if n == 0:
        return []
    rnd = rng.random
    first_id = api.reserve(0, "contact", n, start=1_102_755)
    stamps = sorted(rng.sample(range(SEED_EPOCH_MS - YEAR_MS, SEED_EPOCH_MS), n))
    rows, out = [], []
    for i in range(n):
        first, last = FIRST[int(rnd() * len(FIRST))], LAST[int(rnd() * len(LAST))]
        company, informal, site, industry = COMPANIES[int(rnd() * len(COMPANIES))]
        city, state, country = CITIES[int(rnd() * len(CITIES))]
        created = stamps[i]
        updated = created + int(rnd() * (SEED_EPOCH_MS - created)) if rnd() < 0.5 else created
        account = 485_499 + int(rnd() * 200)
        data: dict[str, Any] = {
            "first_name": first,
            "last_name": last,
            "full_name": f"{first} {last}",
            "name": f"{first} {last}",
            "email": f"{first}.{last}{i + 1}@{site}".lower(),
            "email_confidence": 60 + int(rnd() * 41),
            "email_status": "verified" if rnd() < 0.7 else None,
            "title": TITLES[int(rnd() * len(TITLES))],
            "company_name": company,
            "company_name_informal": informal,
            "website": site,
            "industry": industry,
            "company_city": city,
            "company_state": state,
            "company_country": country,
            "city": city,
            "state": state,
            "country": country,
            "company_linkedin_url": f"linkedin.com/company/{informal.lower()}",
            "linkedin_url": f"linkedin.com/in/{first}-{last}-{i + 1}".lower(),
            "linkedin_username": f"{first}-{last}-{i + 1}".lower(),
            "contact_account_id": account,
            "contact_account": {"id": account, "status": ACCOUNT_STATUSES[int(rnd() * 3)]},
            "prospect_id": 236_811_124 + i,
            "status": STATUSES[int(rnd() * len(STATUSES))],
            "technologies": "",
            "mobile_phone": f"+1415555{int(rnd() * 10000):04d}" if rnd() < 0.4 else None,
            "custom1": "seeded" if rnd() < 0.3 else None,
            "user_id": users[int(rnd() * len(users))],
        }
        rows.append((tenant.id, first_id + i, data["email"], search_text(data), json.dumps(data), created, updated))
        out.append((first_id + i, created))
    api.ctx.store.executemany(
        "INSERT INTO gg_contacts (tenant_id, id, email, search, data, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    return out


def _messages(
    api: GrowthGeniusApi, tenant: Tenant, rng: random.Random, n: int, users: list[int], contacts: list[tuple[int, int]]
) -> None:
    if n == 0 or not contacts:
        return
    rnd = rng.random
    team = api.team_id(tenant.id)
    first_id = api.reserve(0, "message", n, start=393_642)
    rows = []
    for i in range(n):
        contact_id, since = contacts[int(rnd() * len(contacts))]
        sent = since + int(rnd() * (SEED_EPOCH_MS - since))
        updated = sent + int(rnd() * 3_600_000) if rnd() < 0.2 else sent
        data = {
            "message_type": MESSAGE_TYPES[int(rnd() * len(MESSAGE_TYPES))],
            "rendered_copy": f"Hi,\n\n{OPENERS[int(rnd() * len(OPENERS))]}",
            "rendered_subject": None if rnd() < 0.3 else "Quick question",
            "team_id": team,
            "user_id": users[int(rnd() * len(users))],
        }
        rows.append((tenant.id, first_id + i, contact_id, sent, json.dumps(data), sent, updated))
    api.ctx.store.executemany(
        "INSERT INTO gg_messages (tenant_id, id, contact_id, sent_at, data, created_at,"
        " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        rows,
    )


def samples(api: GrowthGeniusApi, tenant: Tenant) -> dict[str, Any]:
    store = api.ctx.store
    contacts = store.all("SELECT id, email FROM gg_contacts WHERE tenant_id = ? ORDER BY id LIMIT 3", (tenant.id,))
    messages = store.all("SELECT id FROM gg_messages WHERE tenant_id = ? ORDER BY id LIMIT 3", (tenant.id,))
    users = store.all("SELECT id FROM gg_users WHERE tenant_id = ? ORDER BY id", (tenant.id,))
    return {
        "team_id": api.team_id(tenant.id),
        "user_ids": [r["id"] for r in users],
        "contact_ids": [r["id"] for r in contacts],
        "contact_emails": [r["email"] for r in contacts],
        "message_ids": [r["id"] for r in messages],
    }
